import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock';
import type { DrainedPiece } from './drive-buffer';
import type { AppendObject } from './medium';
import { MemoryMedium } from './memory-medium';
import { type StoreWriteFailure, StoreWriter } from './store-writer';

const piece = (fill: number, length = 10): DrainedPiece => ({
  kind: 'data',
  length,
  count: 1,
  data: new Uint8Array(length).fill(fill),
});
const mark: DrainedPiece = { kind: 'filemark', length: 0, count: 1 };

/** A MemoryMedium whose appends wait until the test lets them go. */
class GatedMedium extends MemoryMedium {
  calls: AppendObject[][] = [];
  #gates: (() => void)[] = [];
  failNext = false;

  override async append(objects: ReadonlyArray<AppendObject>): Promise<void> {
    this.calls.push([...objects]);
    await new Promise<void>((resolve) => this.#gates.push(resolve));
    if (this.failNext) throw new Error('disk full');
    await super.append(objects);
  }

  /** Lets the oldest waiting append go; resolves once it was waiting. */
  async release(): Promise<void> {
    while (this.#gates.length === 0) await new Promise((r) => setImmediate(r));
    this.#gates.shift()!();
  }
}

function setup() {
  const store = new GatedMedium({ barcode: 'T00001L9', capacityBytes: 1e9 });
  const stored: DrainedPiece[] = [];
  const failures: StoreWriteFailure[] = [];
  const writer = new StoreWriter(
    store,
    new VirtualClock({ autoAdvance: false }),
    25,
    (f) => failures.push(f),
    (p) => stored.push(p),
  );
  return { store, writer, stored, failures };
}

describe('StoreWriter', () => {
  it('gathers what piles up while an append is in flight into the next single append', async () => {
    const { store, writer, stored } = setup();
    writer.push([piece(1)]);
    writer.push([piece(2), mark]);
    writer.push([piece(3)]);
    expect(writer.objects).toBe(4);
    expect(writer.bytes).toBe(30);
    expect(writer.filemarks).toBe(1);
    expect(writer.overLimit).toBe(true);
    await store.release();
    await store.release();
    await writer.settle();
    expect(store.calls.map((c) => c.length)).toEqual([1, 3]);
    expect([writer.objects, writer.bytes, writer.filemarks, writer.idle]).toEqual([0, 0, 0, true]);
    expect(store.objectCount()).toBe(4);
    expect(await store.readData(3)).toEqual(new Uint8Array(10).fill(3));
    expect(stored.map((p) => p.data?.[0] ?? 'FM')).toEqual([1, 2, 'FM', 3]);
  });

  it('after a failed append drops what was queued behind it and reports everything lost', async () => {
    const { store, writer, stored, failures } = setup();
    store.failNext = true;
    writer.push([piece(1)]);
    writer.push([piece(2), piece(3)]);
    await store.release();
    await writer.settle();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ objects: 3, bytes: 30 });
    expect((failures[0]!.error as Error).message).toBe('disk full');
    expect(store.calls).toHaveLength(1);
    expect(store.objectCount()).toBe(0);
    expect(stored).toEqual([]);
    expect(writer.objects).toBe(0);
  });
});
