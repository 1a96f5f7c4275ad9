import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AssignItem, encodeDataFrame } from '@tapedup/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import type { SourceError } from '../dsu';
import { isLocalEndpoint, StreamSourceOpener } from './stream';
import type { ImageSource, SourceEvent } from './types';

const dir = mkdtempSync(join(tmpdir(), 'tw-stream-'));
const sockets: zmq.Push[] = [];
afterAll(() => {
  for (const s of sockets) s.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function item(): AssignItem {
  n++;
  return {
    copyId: `c${n}`,
    requestId: 'r',
    backupId: `live${n}`,
    copy: 1,
    sizeBytes: 0,
    source: { kind: 'stream' },
    priority: 1,
    attempt: 1,
    decision: 'sync',
    reason: 'test',
    streamEndpoint: `ipc://${join(dir, `s${n}.sock`)}`,
  };
}

function pusher(i: AssignItem): zmq.Push {
  const push = new zmq.Push({ linger: 0, sendHighWaterMark: 1 });
  sockets.push(push);
  push.connect(i.streamEndpoint!);
  return push;
}

const head = (i: AssignItem, seq: number, offset: number) =>
  ({ v: 1, backupId: i.backupId, copy: 1, seq, offset }) as const;

async function drain(
  source: ImageSource,
): Promise<{ events: SourceEvent[]; end: Extract<SourceEvent, { kind: 'end' }> }> {
  const events: SourceEvent[] = [];
  for (;;) {
    const e = await source.next();
    events.push(e);
    if (e.kind === 'end') return { events, end: e };
  }
}

describe('StreamSourceOpener', () => {
  it('frames a stream into tagged blocks and checks the sender digest at the end', async () => {
    const i = item();
    const source = await new StreamSourceOpener().open(i, { tag: 7, blockPayloadSize: 1024 });
    const push = pusher(i);
    const bytes = new Uint8Array(5000).map((_, k) => k * 7);
    await push.send(encodeDataFrame({ ...head(i, 0, 0), type: 'data' }, bytes.subarray(0, 3000)));
    await push.send(encodeDataFrame({ ...head(i, 1, 3000), type: 'data' }, bytes.subarray(3000)));
    const digest = createHash('sha256').update(bytes).digest('hex');
    await push.send(encodeDataFrame({ ...head(i, 2, 5000), type: 'end', sha256: digest }));
    const { events, end } = await drain(source);
    expect(end).toMatchObject({ status: 'complete', bytes: 5000, blocks: 5, sha256: digest });
    const blocks = events.flatMap((e) => (e.kind === 'blocks' ? e.blocks : []));
    expect(blocks.map((b) => b.length - 32)).toEqual([1024, 1024, 1024, 1024, 904]);
    expect(blocks.every((b) => b[8] === 0 && b[9] === 7)).toBe(true);
    await source.close();
  });

  it('delivers the last short block once the declared size is in, before the end frame; more than declared fails', async () => {
    const i = { ...item(), sizeBytes: 5000 };
    const source = await new StreamSourceOpener().open(i, { tag: 3, blockPayloadSize: 1024 });
    const push = pusher(i);
    const bytes = new Uint8Array(5000).map((_, k) => k * 3);
    await push.send(encodeDataFrame({ ...head(i, 0, 0), type: 'data' }, bytes.subarray(0, 2500)));
    await push.send(encodeDataFrame({ ...head(i, 1, 2500), type: 'data' }, bytes.subarray(2500)));
    // No end frame yet: every payload byte still arrives, the 904-byte tail included.
    const lengths: number[] = [];
    while (lengths.reduce((a, b) => a + b, 0) < 5000) {
      const e = await source.next();
      expect(e.kind).toBe('blocks');
      if (e.kind === 'blocks') lengths.push(...e.blocks.map((b) => b.length - 32));
    }
    expect(lengths).toEqual([1024, 1024, 1024, 1024, 904]);
    const digest = createHash('sha256').update(bytes).digest('hex');
    await push.send(encodeDataFrame({ ...head(i, 2, 5000), type: 'end', sha256: digest }));
    const { events, end } = await drain(source);
    expect(events.flatMap((e) => (e.kind === 'blocks' ? e.blocks : []))).toEqual([]);
    expect(end).toMatchObject({ status: 'complete', bytes: 5000, blocks: 5, sha256: digest });
    await source.close();

    const over = { ...item(), sizeBytes: 3000 };
    const overSource = await new StreamSourceOpener().open(over, { tag: 4, blockPayloadSize: 1024 });
    const overPush = pusher(over);
    await overPush.send(encodeDataFrame({ ...head(over, 0, 0), type: 'data' }, bytes.subarray(0, 2000)));
    await overPush.send(
      encodeDataFrame({ ...head(over, 1, 2000), type: 'data' }, bytes.subarray(2000, 4000)),
    );
    const failed = (await drain(overSource)).end;
    expect(failed.status).toBe('aborted');
    expect((failed.error as SourceError | undefined)?.code).toBe('STREAM_PROTOCOL');
    await overSource.close();
  });

  it('fails the image on an abort frame, a sequence gap, a wrong digest and on silence', async () => {
    const outcome = async (
      send: (i: AssignItem, push: zmq.Push) => Promise<void>,
      idleTimeoutMs = 10_000,
    ): Promise<SourceError | undefined> => {
      const i = item();
      const source = await new StreamSourceOpener({ idleTimeoutMs }).open(i, {
        tag: 0,
        blockPayloadSize: 1024,
      });
      await send(i, pusher(i));
      const { end } = await drain(source);
      await source.close();
      expect(end.status).toBe('aborted');
      return end.error;
    };
    const data = (i: AssignItem, seq: number, offset: number) =>
      encodeDataFrame({ ...head(i, seq, offset), type: 'data' }, new Uint8Array(100));
    const aborted = await outcome(async (i, p) => {
      await p.send(data(i, 0, 0));
      await p.send(encodeDataFrame({ ...head(i, 1, 100), type: 'abort', reason: 'client gone' }));
    });
    expect([aborted?.code, aborted?.retryable]).toEqual(['STREAM_ABORTED', true]);
    const gap = await outcome(async (i, p) => {
      await p.send(data(i, 0, 0));
      await p.send(data(i, 2, 100));
    });
    expect([gap?.code, gap?.retryable]).toEqual(['STREAM_PROTOCOL', false]);
    const digest = await outcome(async (i, p) => {
      await p.send(data(i, 0, 0));
      await p.send(encodeDataFrame({ ...head(i, 1, 100), type: 'end', sha256: '0'.repeat(64) }));
    });
    expect(digest?.code).toBe('STREAM_PROTOCOL');
    const silent = await outcome(async (i, p) => {
      await p.send(data(i, 0, 0));
    }, 50);
    expect([silent?.code, silent?.message]).toEqual(['STREAM_CUT', 'no data for 50 ms after byte 100']);
  });

  it('refuses endpoints it could not bind without CURVE keys, and items without one', async () => {
    expect(isLocalEndpoint('tcp://127.0.0.1:5555')).toBe(true);
    expect(isLocalEndpoint('tcp://[::1]:5555')).toBe(true);
    expect(isLocalEndpoint('tcp://10.0.0.5:5555')).toBe(false);
    expect(isLocalEndpoint('tcp://*:5555')).toBe(false);
    const opener = new StreamSourceOpener();
    const options = { tag: 0, blockPayloadSize: 1024 };
    await expect(
      opener.open({ ...item(), streamEndpoint: 'tcp://0.0.0.0:5555' }, options),
    ).rejects.toMatchObject({
      code: 'STREAM_ENDPOINT',
    });
    const { streamEndpoint: _, ...bare } = item();
    await expect(opener.open(bare, options)).rejects.toMatchObject({ code: 'STREAM_ENDPOINT' });
    expect(() => new StreamSourceOpener({ maxQueuedBlocks: 0 })).toThrow(/maxQueuedBlocks/);
  });

  it('holds a bounded queue: the sender blocks until the consumer takes blocks', async () => {
    const i = item();
    const source = await new StreamSourceOpener({ maxQueuedBlocks: 2, receiveHighWaterMark: 1 }).open(i, {
      tag: 0,
      blockPayloadSize: 1024,
    });
    const push = pusher(i);
    let accepted = 0;
    const total = 200;
    const sending = (async () => {
      for (let k = 0; k < total; k++) {
        await push.send(encodeDataFrame({ ...head(i, k, k * 65_536), type: 'data' }, new Uint8Array(65_536)));
        accepted++;
      }
      await push.send(encodeDataFrame({ ...head(i, total, total * 65_536), type: 'end' }));
    })();
    // Each 64 KiB frame makes 64 blocks, far over the queue bound: the source stops reading after one
    // frame, and the sender is held by the high-water marks (plus what the kernel's socket buffers take).
    const first = await source.next();
    expect(first.kind === 'blocks' && first.blocks.length).toBe(64);
    expect(accepted).toBeLessThan(total / 4);
    const { end } = await drain(source);
    await sending;
    expect(end).toMatchObject({ status: 'complete', bytes: total * 65_536 });
    await source.close();
  });
});
