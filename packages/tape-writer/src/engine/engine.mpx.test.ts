import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AssignItem,
  encodeDataFrame,
  type MessageOf,
  makeMessage,
  type WriterToDuplicator,
} from '@tapedup/protocol';
import { analyseMedia, type FragmentEndReason, listTape, restoreImage } from '@tapedup/tape-format';
import { CollectingSink } from '@tapedup/tape-format/testing';
import { MemoryMedium, VirtualClock, VirtualDrive } from '@tapedup/virtual-drive';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import * as zmq from 'zeromq';
import { readyAfterAttention } from '../media/loaded-medium-changer';
import { SourceRouter, StreamSourceOpener } from '../sources/stream';
import { SyntheticSourceOpener, syntheticBytes } from '../sources/synthetic';
import { WriterEngine } from './engine';
import type { MediaChanger } from './medium';
import type { WriterEngineOptions } from './types';

const PAYLOAD = 4096;
const dir = mkdtempSync(join(tmpdir(), 'tw-mpx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A library of in-memory cartridges for one drive: mounting swaps the drive's medium. */
class MemoryChanger implements MediaChanger {
  readonly media = new Map<string, MemoryMedium>();
  constructor(
    private readonly drive: VirtualDrive,
    private readonly capacityBytes: number,
  ) {}
  async mount(barcode: string): Promise<{ pool: string }> {
    let medium = this.media.get(barcode);
    if (medium === undefined) {
      medium = new MemoryMedium({ barcode, capacityBytes: this.capacityBytes });
      this.media.set(barcode, medium);
    }
    if (this.drive.medium !== medium) {
      if (this.drive.medium !== undefined) await this.drive.unloadMedium();
      await this.drive.loadMedium(medium);
    }
    await readyAfterAttention(this.drive);
    return { pool: 'p1' };
  }
}

async function rig(
  barcode: string,
  options: Partial<WriterEngineOptions> & { capacityBytes?: number; idleTimeoutMs?: number } = {},
) {
  const clock = new VirtualClock();
  const capacityBytes = options.capacityBytes ?? 256 * 1024 * 1024;
  const medium = new MemoryMedium({ barcode, capacityBytes });
  const drive = new VirtualDrive({
    name: 'virtual:mpx#drive0',
    clock,
    medium,
    profile: 'LTO-9',
    commandLogLimit: 200_000,
  });
  await drive.open();
  const changer = new MemoryChanger(drive, capacityBytes);
  changer.media.set(barcode, medium);
  const reports: WriterToDuplicator[] = [];
  const { capacityBytes: _c, idleTimeoutMs, ...engineOptions } = options;
  const engine = new WriterEngine({
    driveId: 'd0',
    device: drive,
    clock,
    logger: pino({ level: 'silent' }),
    sources: new SourceRouter({
      disk: new SyntheticSourceOpener({ chunkBlocks: 2 }),
      stream: new StreamSourceOpener({ idleTimeoutMs: idleTimeoutMs ?? 10_000, maxQueuedBlocks: 4 }),
    }),
    changer,
    report: (m) => reports.push(m),
    blockPayloadSize: PAYLOAD,
    mpxFactor: 4,
    ...engineOptions,
  });
  void engine.start();
  return {
    clock,
    drive,
    changer,
    engine,
    reports,
    of: <T extends WriterToDuplicator['type']>(type: T) =>
      reports.filter((r): r is MessageOf<T> => r.type === type),
    send: async (message: Parameters<WriterEngine['handle']>[0]) => {
      engine.handle(message);
      await engine.whenIdle();
    },
  };
}

let ids = 0;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const diskItem = (name: string, size: number, decision: 'defer' | 'sync', group?: string): AssignItem => ({
  copyId: `c-${name}`,
  requestId: 'r1',
  backupId: name,
  copy: 1,
  sizeBytes: size,
  source: { kind: 'disk', dsu: 'main', path: name },
  priority: 50,
  attempt: 1,
  decision,
  reason: 'test',
  ...(group === undefined ? {} : { mpxGroup: group }),
});
const streamItem = (name: string, size: number, group?: string): AssignItem => ({
  ...diskItem(name, size, 'sync', group),
  source: { kind: 'stream' },
  streamEndpoint: `ipc://${dir}/${name}.sock`,
});
const assign = (medium: string, items: AssignItem[]) =>
  makeMessage('assign', { id: `a${++ids}`, medium, items });
const syncNow = () => makeMessage('sync-now', { id: `s${++ids}`, batchId: `B${ids}` });

const pushers: zmq.Push[] = [];
afterAll(() => {
  for (const p of pushers) p.close();
});

/**
 * Pushes `bytes` as data frames to the item's endpoint, ending with `end` (or going silent after
 * `cutAfter`). The socket stays open: closing a PUSH drops the frames still queued in it, so a sender
 * keeps it until the writer has reported the copy.
 */
async function pushStream(item: AssignItem, bytes: Uint8Array, cutAfter?: number): Promise<void> {
  const push = new zmq.Push({ linger: 0, sendHighWaterMark: 2 });
  pushers.push(push);
  push.connect(item.streamEndpoint!);
  const limit = cutAfter ?? bytes.length;
  let seq = 0;
  let offset = 0;
  const base = { v: 1 as const, backupId: item.backupId, copy: item.copy };
  while (offset < limit) {
    const n = Math.min(3_000, limit - offset);
    await push.send(
      encodeDataFrame({ ...base, type: 'data', seq: seq++, offset }, bytes.subarray(offset, offset + n)),
    );
    offset += n;
  }
  if (cutAfter === undefined) {
    await push.send(encodeDataFrame({ ...base, type: 'end', seq: seq++, offset, sha256: sha(bytes) }));
  }
}

/** For every count-1 filemark after the label's, the kind it was written with, in tape order. */
function fragmentFilemarks(drive: VirtualDrive): ('imm' | 'sync')[] {
  return drive.commandLog
    .filter((e) => e.op === 'writeFilemarks' && e.error === undefined && e.args.count === 1)
    .slice(1)
    .map((e) => (e.args.immediate ? 'imm' : 'sync'));
}

const IMMEDIATE: FragmentEndReason[] = [
  'data-complete-metadata-follows',
  'max-fragment-size',
  'next-image-start',
  'image-failure',
];

describe('WriterEngine MPX', () => {
  it('50 images in bursts (disk and stream, MPX 4): byte-identical restores, no empty fragments, EH only when idle, filemarks by the table', async () => {
    const r = await rig('MPX001L9', { maxFragmentImages: 4, minFragmentMs: 0 });
    const expected = new Map<string, Uint8Array>();
    const decisions = new Map<string, 'defer' | 'sync'>();
    const senders: Promise<void>[] = [];
    for (let burst = 0; burst < 5; burst++) {
      const items: AssignItem[] = [];
      for (let k = 0; k < 10; k++) {
        const n = burst * 10 + k;
        const name = `img${n}`;
        const size = 5_000 + ((n * 7_919) % 40_000);
        // Two groups per burst: when the first drains the second is already pending (no EH).
        const group = k < 5 ? `g${burst}a` : `g${burst}b`;
        if (n % 5 === 2) {
          const item = streamItem(name, size, group);
          const bytes = syntheticBytes(`stream-${name}`, 0, size);
          expected.set(name, bytes);
          senders.push(pushStream(item, bytes));
          items.push(item);
        } else {
          const decision = n % 4 === 3 ? 'sync' : 'defer';
          expected.set(name, syntheticBytes(name, 0, size));
          items.push(diskItem(name, size, decision, group));
        }
        decisions.set(name, items.at(-1)!.decision);
      }
      await r.send(assign('MPX001L9', items));
      // The writer is idle now: the last group ended with nothing pending.
      expect(r.engine.stats().emptyHeaders.written).toBe(burst + 1);
      expect(r.engine.stats().emptyHeaders.overwritten).toBe(burst);
    }
    await Promise.all(senders);
    await r.send(syncNow());

    expect(r.of('copy-failed')).toEqual([]);
    expect(r.of('sync-failed')).toEqual([]);
    const committed = r.of('batch-synced').flatMap((s) => s.committed);
    expect(committed).toHaveLength(50);
    const stats = r.engine.stats();
    // Every burst ended idle (EH written), each later burst overwrote it; the group switch inside
    // each burst found its next image pending and wrote none.
    expect(stats.emptyHeaders).toEqual({ written: 5, overwritten: 4, avoided: 5 });
    expect(stats.joins).toBeGreaterThan(0);
    expect(stats.fragmentEnds['next-image-start']).toBeGreaterThan(0);
    expect(stats.pickup.count).toBe(50);
    expect(stats.pickup.p50Ms).toBeGreaterThanOrEqual(0);
    expect(stats.pickup.p99Ms).toBeGreaterThanOrEqual(stats.pickup.p50Ms);
    expect(stats.pickup.maxMs).toBeGreaterThanOrEqual(stats.pickup.p99Ms);
    console.info(
      `pickup latency over ${stats.pickup.count} images (model ms): p50 ${stats.pickup.p50Ms.toFixed(1)}, ` +
        `p90 ${stats.pickup.p90Ms.toFixed(1)}, p99 ${stats.pickup.p99Ms.toFixed(1)}, max ${stats.pickup.maxMs.toFixed(1)}; ` +
        `fragments ${stats.fragments} ${JSON.stringify(stats.fragmentEnds)}; joins ${stats.joins}`,
    );

    // The tape: every image restores byte for byte, from the position the catalog would hold.
    const listing = await listTape(r.drive);
    for (const c of committed) {
      const name = c.copyId.slice(2);
      const sink = new CollectingSink();
      const restored = await restoreImage(r.drive, { backupId: name, copy: 1 }, sink, {
        startAt: { tapeFile: c.fileNumber, blockNumber: c.blockAddress },
      });
      expect(sha(sink.bytes())).toBe(sha(expected.get(name)!));
      expect(restored.sha256).toBe(c.sha256);
    }
    const fragments = listing.files.filter((f) => f.kind === 'fragment');
    // No empty fragments: each holds data or a trailer of at least one image.
    for (const f of fragments) {
      expect(f.images.some((i) => i.dataBlocks > 0 || i.trailer !== undefined)).toBe(true);
    }
    // Interleaving: some fragment holds blocks of several images, some image joined a running one.
    expect(fragments.some((f) => f.images.filter((i) => i.dataBlocks > 0).length >= 3)).toBe(true);
    expect(fragments.some((f) => f.images.some((i) => i.joined))).toBe(true);
    // The last EH was the only one left: the earlier ones were overwritten by fragment headers.
    expect(listing.files.filter((f) => f.kind === 'empty-header')).toHaveLength(1);
    expect(listing.endsWithEmptyHeader).toBe(true);

    // Filemark of every fragment end against the writer-rules table.
    const kinds = fragmentFilemarks(r.drive);
    expect(kinds).toHaveLength(fragments.length);
    fragments.forEach((f, i) => {
      const reason = f.end!.reason;
      const syncHere = f.images.some(
        (im) => im.trailer?.status === 'complete' && decisions.get(im.entry.backupId) === 'sync',
      );
      const want = IMMEDIATE.includes(reason)
        ? 'imm'
        : reason === 'image-complete' || reason === 'checkpoint'
          ? syncHere
            ? 'sync'
            : 'imm'
          : 'sync';
      expect([f.tapeFile, reason, kinds[i]]).toEqual([f.tapeFile, reason, want]);
    });
    const reasons = new Set(fragments.map((f) => f.end!.reason));
    expect(reasons.has('image-complete')).toBe(true);
    expect(reasons.has('next-image-start')).toBe(true);
  });

  it('a stream cut mid-image fails only that image: immediate filemark, aborted trailer; the others commit', async () => {
    const r = await rig('CUT001L9', { idleTimeoutMs: 250, minFragmentMs: 0 });
    const cut = streamItem('live1', 60_000);
    const items = [
      diskItem('a1', 90_000, 'defer'),
      cut,
      diskItem('a2', 120_000, 'defer'),
      diskItem('a3', 70_000, 'sync'),
    ];
    const sender = pushStream(cut, syntheticBytes('live1', 0, 60_000), 20_000);
    await r.send(assign('CUT001L9', items));
    await sender;
    await r.send(syncNow());
    const failed = r.of('copy-failed');
    expect(failed.map((f) => [f.copyId, f.reason, f.retryable])).toEqual([
      ['c-live1', 'SOURCE_STREAM_CUT', true],
    ]);
    expect(r.of('sync-failed')).toEqual([]);
    const committed = r.of('batch-synced').flatMap((s) => s.committed.map((c) => c.copyId));
    expect(committed.sort()).toEqual(['c-a1', 'c-a2', 'c-a3']);
    const listing = await listTape(r.drive);
    const fragments = listing.files.filter((f) => f.kind === 'fragment');
    const failedIn = fragments.find((f) => f.images.some((i) => i.trailer?.status === 'aborted'));
    expect(failedIn?.end?.reason).toBe('image-failure');
    // The cut image was interleaved with the others: its fragment carried other images' blocks too.
    expect(failedIn?.images.filter((i) => i.dataBlocks > 0).length).toBeGreaterThan(1);
    const kinds = fragmentFilemarks(r.drive);
    expect(kinds[fragments.indexOf(failedIn!)]).toBe('imm');
    const analysis = await analyseMedia([r.drive]);
    const verdicts = Object.fromEntries(analysis.images.map((i) => [i.backupId, i.verdict]));
    expect(verdicts).toMatchObject({ a1: 'ok', a2: 'ok', a3: 'ok', live1: 'aborted' });
    for (const name of ['a1', 'a2', 'a3']) {
      const sink = new CollectingSink();
      await restoreImage(r.drive, { backupId: name, copy: 1 }, sink);
      expect(sha(sink.bytes())).toBe(
        sha(syntheticBytes(name, 0, items.find((i) => i.backupId === name)!.sizeBytes)),
      );
    }
  });

  it('a next-image split is held for the minimum fragment time while data flows', async () => {
    const run = async (minFragmentMs: number) => {
      const r = await rig('HOLD01L9', { maxFragmentImages: 3, minFragmentMs, mpxFactor: 2 });
      await r.send(
        assign('HOLD01L9', [
          diskItem('h1', 200_000, 'defer'),
          diskItem('h2', 400_000, 'defer'),
          diskItem('h3', 400_000, 'defer'),
          diskItem('h4', 200_000, 'defer'),
        ]),
      );
      const listing = await listTape(r.drive);
      return listing.files.flatMap((f) => (f.kind === 'fragment' ? [f] : []));
    };
    // h1 and h2 start the fragment, h3 joins when h1 ends (a third tag: the table is full), h4
    // needs a new fragment. Without a hold the split comes at once and cuts h3 short.
    const [e1] = await run(0);
    expect(e1?.end?.reason).toBe('next-image-start');
    expect(e1?.end?.images.filter((i) => i.continues).map((i) => i.tag)).toHaveLength(1);
    expect(e1?.images.find((i) => i.entry.backupId === 'h3')?.trailer).toBeUndefined();
    // Held, h3 (its data flowing) runs to its end in the first fragment; then h4 starts the next.
    const [h1, h2] = await run(60_000);
    expect(h1?.images.map((i) => [i.entry.backupId, i.trailer?.status])).toEqual([
      ['h1', 'complete'],
      ['h2', 'complete'],
      ['h3', 'complete'],
    ]);
    expect(h1?.end?.reason).toBe('next-image-start');
    expect(h1?.end?.images.every((i) => !i.continues)).toBe(true);
    expect(h2?.images.map((i) => i.entry.backupId)).toEqual(['h4']);
  });

  it('a fragment reaching the maximum size ends with an immediate filemark and the images continue', async () => {
    const r = await rig('MAXF01L9', { maxFragmentBytes: 64 * 1024, mpxFactor: 2 });
    await r.send(assign('MAXF01L9', [diskItem('m1', 150_000, 'defer'), diskItem('m2', 100_000, 'sync')]));
    await r.send(syncNow());
    const listing = await listTape(r.drive);
    const fragments = listing.files.filter((f) => f.kind === 'fragment');
    const ends = fragments.map((f) => f.end!.reason);
    expect(ends.filter((e) => e === 'max-fragment-size').length).toBeGreaterThanOrEqual(3);
    const kinds = fragmentFilemarks(r.drive);
    ends.forEach((reason, i) => {
      if (reason === 'max-fragment-size') expect(kinds[i]).toBe('imm');
    });
    const m1 = r
      .of('batch-synced')
      .flatMap((s) => s.committed)
      .find((c) => c.copyId === 'c-m1')!;
    // A copy over several fragments reports them all, offsets following each other.
    expect(m1.fragments!.length).toBeGreaterThan(1);
    let offset = 0;
    for (const f of m1.fragments!) {
      expect(f.offset).toBe(offset);
      offset += f.length;
    }
    expect(offset).toBe(150_000);
    const sink = new CollectingSink();
    await restoreImage(r.drive, { backupId: 'm1', copy: 1 }, sink);
    expect(sha(sink.bytes())).toBe(sha(syntheticBytes('m1', 0, 150_000)));
  });

  it('spans cartridges: early warning ends the fragment and syncs; the continuation on the next medium restores across both', async () => {
    // Early warning at 900 KiB of 1000 KiB cartridges.
    const r = await rig('SPAN01L9', { capacityBytes: 1000 * 1024, mpxFactor: 2 });
    const items = [
      diskItem('s1', 500_000, 'defer'),
      diskItem('s2', 700_000, 'defer'),
      diskItem('s3', 600_000, 'sync'),
    ];
    await r.send(assign('SPAN01L9', items));
    const [full] = r.of('medium-full');
    expect(full?.medium).toBe('SPAN01L9');
    const onFirst = r.of('batch-synced').flatMap((s) => s.committed.map((c) => c.copyId));
    // The duplicator sends the in-flight copies, same ids, to the next cartridge.
    const next = items.filter((i) => full!.inFlight.includes(i.copyId));
    expect(next.length).toBeGreaterThan(0);
    await r.send(assign('SPAN02L9', next));
    let more = r.of('medium-full');
    if (more.length > 1) {
      const rest = items.filter((i) => more.at(-1)!.inFlight.includes(i.copyId));
      await r.send(assign('SPAN03L9', rest));
      more = r.of('medium-full');
    }
    await r.send(syncNow());
    expect(r.of('sync-failed')).toEqual([]);
    expect(r.of('copy-failed')).toEqual([]);
    const committed = r.of('batch-synced').flatMap((s) => s.committed);
    expect(committed.map((c) => c.copyId).sort()).toEqual(['c-s1', 'c-s2', 'c-s3']);
    const spanned = committed.filter((c) => new Set(c.fragments?.map((f) => f.medium)).size > 1);
    expect(spanned.length).toBeGreaterThan(0);
    expect(onFirst.every((id) => !spanned.some((s) => s.copyId === id))).toBe(true);

    // Restore with one drive per cartridge, in order.
    r.engine.handle(makeMessage('shutdown', { id: 'x', graceful: true, reason: 'test' }));
    await r.engine.whenIdle();
    await r.drive.unloadMedium();
    const drives = await Promise.all(
      [...r.changer.media.values()].map(async (medium, i) => {
        const d = new VirtualDrive({
          name: `virtual:mpx#read${i}`,
          clock: r.clock,
          profile: 'untimed',
          medium,
        });
        await d.open();
        return d;
      }),
    );
    expect(drives.length).toBeGreaterThanOrEqual(2);
    for (const item of items) {
      const sink = new CollectingSink();
      const restored = await restoreImage(drives, { backupId: item.backupId, copy: 1 }, sink);
      expect(sha(sink.bytes())).toBe(sha(syntheticBytes(item.backupId, 0, item.sizeBytes)));
      const c = committed.find((x) => x.copyId === item.copyId)!;
      expect(restored.sha256).toBe(c.sha256);
      if (spanned.includes(c)) {
        expect(restored.fragments.map((f) => f.barcode)).toEqual(c.fragments!.map((f) => f.medium));
        expect(restored.fragments.at(-1)!.fromOtherMedium || restored.fragments.length > 1).toBe(true);
      }
    }
    const first = await listTape(drives[0]!);
    const last = first.files.filter((f) => f.kind === 'fragment').at(-1);
    expect(last?.kind === 'fragment' && last.end?.reason).toBe('end-of-medium');
    expect(last?.kind === 'fragment' && last.end?.images.some((e) => e.continuesOnOtherMedium)).toBe(true);
  });

  it('append-only: the EH is overwritten with ALLOW OVERWRITE at exactly its position', async () => {
    const r = await rig('AOEH01L9', { appendOnly: true });
    await r.send(assign('AOEH01L9', [diskItem('e1', 30_000, 'sync'), diskItem('e2', 20_000, 'defer')]));
    expect(r.engine.stats().emptyHeaders.written).toBe(1);
    const ehAt = (await listTape(r.drive)).files.find((f) => f.kind === 'empty-header')!.blockNumber;
    await r.send(assign('AOEH01L9', [diskItem('e3', 20_000, 'sync')]));
    expect(r.of('sync-failed')).toEqual([]);
    expect(r.engine.stats().emptyHeaders.overwritten).toBe(1);
    const log = r.drive.commandLog;
    const allow = log.findIndex((e) => e.op === 'allowOverwrite');
    expect(log[allow]?.args.blockNumber).toBe(ehAt);
    expect(log.slice(allow + 1).find((e) => e.op === 'writeBlock')?.error).toBeUndefined();
    expect(r.of('batch-synced').at(-1)?.committed[0]).toMatchObject({ copyId: 'c-e3', blockAddress: ehAt });
  });
});
