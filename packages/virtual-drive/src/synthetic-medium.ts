import type { AppendObject, MediumInfo, MediumObject, MediumStore } from './medium';
import {
  type FileNumberingMedium,
  type InMemoryMediumOptions,
  type PowerFailingMedium,
  type RunAppendingMedium,
  validateInMemoryOptions,
} from './medium-extensions';

/** Consecutive equal objects: `count` data blocks of `length` bytes, or `count` filemarks. */
interface Run {
  kind: 'data' | 'filemark';
  length: number;
  count: number;
  /** Logical object number of the run's first object. */
  firstObject: number;
  /** Bytes of user data before the run. */
  firstByte: number;
  /** Filemarks before the run. */
  filemarksBefore: number;
}

/**
 * A medium that remembers only block lengths, as runs of equal objects, so writing 100 TB of 256 KiB
 * blocks costs a handful of runs instead of 400 million objects. Reads return zero-filled blocks.
 */
export class SyntheticMedium
  implements MediumStore, RunAppendingMedium, FileNumberingMedium, PowerFailingMedium
{
  readonly #info: MediumInfo;
  #runs: Run[] = [];
  #durable: Run[] = [];
  #syncs = 0;

  constructor(options: InMemoryMediumOptions) {
    validateInMemoryOptions('SyntheticMedium', options);
    this.#info = Object.freeze({
      barcode: options.barcode,
      capacityBytes: options.capacityBytes,
      writeProtected: options.writeProtected ?? false,
      storesData: false,
    });
  }

  info(): MediumInfo {
    return this.#info;
  }

  /** Runs held in memory (a measure of the compactness). */
  get runCount(): number {
    return this.#runs.length;
  }

  /** Number of completed `sync()` calls. */
  get syncCount(): number {
    return this.#syncs;
  }

  objectCount(): number {
    const last = this.#runs.at(-1);
    return last ? last.firstObject + last.count : 0;
  }

  objectAt(index: number): MediumObject | undefined {
    const run = this.#runAt(index);
    if (!run) return undefined;
    return run.kind === 'data' ? { kind: 'data', length: run.length } : { kind: 'filemark' };
  }

  bytesBefore(index: number): number {
    const clamped = Math.min(Math.max(0, index), this.objectCount());
    const run = this.#runAt(clamped);
    if (run) return run.firstByte + (clamped - run.firstObject) * run.length;
    const last = this.#runs.at(-1);
    return last ? last.firstByte + last.count * last.length : 0;
  }

  filemarksBefore(index: number): number {
    const clamped = Math.min(Math.max(0, index), this.objectCount());
    const run = this.#runAt(clamped);
    if (run) return run.filemarksBefore + (run.kind === 'filemark' ? clamped - run.firstObject : 0);
    const last = this.#runs.at(-1);
    return last ? last.filemarksBefore + (last.kind === 'filemark' ? last.count : 0) : 0;
  }

  async readData(index: number): Promise<Uint8Array> {
    const run = this.#runAt(index);
    if (run?.kind !== 'data') {
      throw new RangeError(`SyntheticMedium.readData: object ${index} is not a data block`);
    }
    return new Uint8Array(run.length);
  }

  async truncate(index: number): Promise<void> {
    this.#runs = cut(this.#runs, index);
  }

  async append(objects: ReadonlyArray<AppendObject>): Promise<void> {
    for (const o of objects) this.#add(o.kind, o.kind === 'data' ? o.length : 0, 1);
  }

  async appendRun(kind: 'data' | 'filemark', length: number, count: number): Promise<void> {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('appendRun: count must be >= 0');
    if (count > 0) this.#add(kind, kind === 'data' ? length : 0, count);
  }

  async sync(): Promise<void> {
    this.#durable = this.#runs.map((r) => ({ ...r }));
    this.#syncs++;
  }

  loseUnsynced(): void {
    this.#runs = this.#durable.map((r) => ({ ...r }));
  }

  async close(): Promise<void> {}

  #add(kind: 'data' | 'filemark', length: number, count: number): void {
    const last = this.#runs.at(-1);
    if (last && last.kind === kind && last.length === length) {
      // Equal objects extend the last run; the durable snapshot holds copies, so this is safe.
      last.count += count;
      return;
    }
    this.#runs.push({
      kind,
      length,
      count,
      firstObject: last ? last.firstObject + last.count : 0,
      firstByte: last ? last.firstByte + last.count * last.length : 0,
      filemarksBefore: last ? last.filemarksBefore + (last.kind === 'filemark' ? last.count : 0) : 0,
    });
  }

  #runAt(index: number): Run | undefined {
    return findRun(this.#runs, index);
  }
}

function findRun(runs: Run[], index: number): Run | undefined {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const run = runs[mid]!;
    if (index < run.firstObject) hi = mid - 1;
    else if (index >= run.firstObject + run.count) lo = mid + 1;
    else return run;
  }
  return undefined;
}

/** Runs holding objects [0, index) only. */
function cut(runs: Run[], index: number): Run[] {
  const kept: Run[] = [];
  for (const run of runs) {
    if (run.firstObject >= index) break;
    const count = Math.min(run.count, index - run.firstObject);
    kept.push({ ...run, count });
  }
  return kept;
}
