import { createHash } from 'node:crypto';
import { type AssignItem, type MessageOf, makeMessage, type WriterToDuplicator } from '@tapedup/protocol';
import { listTape, restoreImage } from '@tapedup/tape-format';
import { CollectingSink } from '@tapedup/tape-format/testing';
import { type FaultPlan, MemoryMedium, VirtualClock, VirtualDrive } from '@tapedup/virtual-drive';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LoadedMediumChanger } from '../media/loaded-medium-changer';
import { SyntheticSourceOpener, type SyntheticSourceOptions, syntheticBytes } from '../sources/synthetic';
import { WriterEngine } from './engine';

const BARCODE = 'TW0001L9';
const PAYLOAD = 4096;

interface Rig {
  clock: VirtualClock;
  drive: VirtualDrive;
  medium: MemoryMedium;
  engine: WriterEngine;
  reports: WriterToDuplicator[];
  of<T extends WriterToDuplicator['type']>(type: T): MessageOf<T>[];
  send(message: Parameters<WriterEngine['handle']>[0]): Promise<void>;
}

async function rig(
  options: {
    faults?: FaultPlan;
    capacityBytes?: number;
    sources?: SyntheticSourceOptions;
    profile?: 'untimed' | 'LTO-9';
  } = {},
): Promise<Rig> {
  const clock = new VirtualClock();
  const medium = new MemoryMedium({
    barcode: BARCODE,
    capacityBytes: options.capacityBytes ?? 64 * 1024 * 1024,
  });
  const drive = new VirtualDrive({
    name: 'virtual:test#drive0',
    clock,
    medium,
    profile: options.profile ?? 'LTO-9',
    ...(options.faults ? { faults: options.faults } : {}),
  });
  await drive.open();
  const reports: WriterToDuplicator[] = [];
  let label = 0;
  const engine = new WriterEngine({
    driveId: 'd0',
    device: drive,
    clock,
    logger: pino({ level: 'silent' }),
    sources: new SyntheticSourceOpener(options.sources),
    changer: new LoadedMediumChanger(drive, 'p1'),
    report: (m) => reports.push(m),
    blockPayloadSize: PAYLOAD,
    newLabelId: () => `00000000-0000-4000-8000-${String(++label).padStart(12, '0')}`,
  });
  void engine.start();
  return {
    clock,
    drive,
    medium,
    engine,
    reports,
    of: <T extends WriterToDuplicator['type']>(type: T) =>
      reports.filter((r): r is MessageOf<T> => r.type === type),
    send: async (message) => {
      engine.handle(message);
      await engine.whenIdle();
    },
  };
}

let ids = 0;
function item(
  n: number,
  decision: 'defer' | 'sync',
  sizeBytes = 10_000 + n * 3_001,
  attempt = 1,
): AssignItem {
  return {
    copyId: `c${n}${attempt > 1 ? `-r${attempt}` : ''}`,
    requestId: 'r1',
    backupId: `img${n}`,
    copy: 1,
    sizeBytes,
    source: { kind: 'disk', dsu: 'main', path: `img${n}` },
    priority: 50,
    attempt,
    decision,
    reason: decision === 'defer' ? 'batch open' : 'end of batch',
  };
}
const assign = (items: AssignItem[], resumeAt?: { fileNumber: number; blockAddress: number }) =>
  makeMessage('assign', { id: `a${++ids}`, medium: BARCODE, items, ...(resumeAt ? { resumeAt } : {}) });
const syncNow = (batchId: string) => makeMessage('sync-now', { id: `s${++ids}`, batchId });
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const filemarks = (d: VirtualDrive) =>
  d.commandLog
    .filter((e) => e.op === 'writeFilemarks' && e.error === undefined)
    .map((e) => `${String(e.args.count)}:${e.args.immediate ? 'imm' : 'sync'}`);

describe('WriterEngine', () => {
  it('writes deferred copies with immediate filemarks and commits them all at sync-now; the reader agrees', async () => {
    const r = await rig();
    await r.send(assign([item(1, 'defer'), item(2, 'defer'), item(3, 'defer')]));
    const written = r.of('copy-written');
    expect(written.map((w) => [w.copyId, w.pendingSync])).toEqual([
      ['c1', true],
      ['c2', true],
      ['c3', true],
    ]);
    expect(r.of('batch-synced')).toHaveLength(0);
    await r.send(syncNow('B1'));
    const [synced] = r.of('batch-synced');
    expect(synced?.batchId).toBe('B1');
    expect(synced?.re).toBe(r.reports.length > 0 ? `s${ids}` : undefined);
    expect(synced?.committed.map((c) => c.copyId)).toEqual(['c1', 'c2', 'c3']);
    // label FM (sync), three immediate FMs, then the flush
    expect(filemarks(r.drive)).toEqual(['1:sync', '1:imm', '1:imm', '1:imm', '0:sync']);
    expect(r.engine.stats()).toMatchObject({ immediateFilemarks: 3, syncs: 2, imagesWritten: 3 });

    // Read back: every committed copy is where the writer said, with the digest it reported.
    const listing = await listTape(r.drive);
    expect(listing.label?.barcode).toBe(BARCODE);
    const fragments = listing.files.filter((f) => f.kind === 'fragment');
    expect(fragments).toHaveLength(3);
    for (const c of synced!.committed) {
      const w = written.find((x) => x.copyId === c.copyId)!;
      const frag = fragments.find((f) => f.tapeFile === c.fileNumber);
      expect(frag?.blockNumber).toBe(c.blockAddress);
      expect([w.fileNumber, w.blockAddress]).toEqual([c.fileNumber, c.blockAddress]);
      const n = Number(c.copyId.slice(1));
      const sink = new CollectingSink();
      const restored = await restoreImage(r.drive, { backupId: `img${n}`, copy: 1 }, sink);
      expect(restored.sha256).toBe(c.sha256);
      expect(sha(sink.bytes())).toBe(sha(syntheticBytes(`img${n}`, 0, item(n, 'defer').sizeBytes)));
      expect(restored.fragments[0]?.blockNumber).toBe(c.blockAddress);
    }
    // The position after the sync is the end of the last fragment (after its filemark).
    const last = fragments.at(-1)!;
    expect(synced?.position).toEqual({
      medium: BARCODE,
      fileNumber: last.tapeFile + 1,
      blockAddress: last.filemarkAt! + 1,
    });
  });

  it('a sync decision ends the batch with a synchronous filemark that also commits the deferred copies', async () => {
    const r = await rig();
    await r.send(assign([item(1, 'defer'), item(2, 'defer'), item(3, 'sync'), item(4, 'defer')]));
    expect(filemarks(r.drive)).toEqual(['1:sync', '1:imm', '1:imm', '1:sync', '1:imm']);
    const synced = r.of('batch-synced');
    expect(synced).toHaveLength(1);
    expect(synced[0]?.re).toBeUndefined();
    expect(synced[0]?.committed.map((c) => c.copyId)).toEqual(['c1', 'c2', 'c3']);
    expect(r.of('copy-written').map((w) => w.pendingSync)).toEqual([true, true, false, true]);
    expect(r.engine.pending.map((c) => c.copyId)).toEqual(['c4']);
  });

  it('a failed sync fails every copy of the batch, none committed; the retries are written and committed', async () => {
    const r = await rig();
    await r.send(assign([item(1, 'defer'), item(2, 'defer'), item(3, 'defer')]));
    const before = r.engine.expectedPosition;
    r.drive.injectFault({ kind: 'sync-failure' });
    await r.send(syncNow('B1'));
    expect(r.of('batch-synced')).toHaveLength(0);
    const [failed] = r.of('sync-failed');
    expect(failed?.batchId).toBe('B1');
    expect(failed?.failed).toEqual(['c1', 'c2', 'c3']);
    expect(failed?.sense).toMatchObject({ category: 'medium', deferred: false, senseKey: 3 });
    expect(r.engine.stats().syncFailures).toBe(1);
    // Back at the last good position: right after the label.
    expect(r.engine.expectedPosition).toEqual({ medium: BARCODE, fileNumber: 1, blockNumber: 2 });
    expect(before?.blockNumber).toBeGreaterThan(2);

    await r.send(
      assign([item(1, 'sync', undefined, 2), item(2, 'sync', undefined, 2), item(3, 'sync', undefined, 2)]),
    );
    const synced = r.of('batch-synced');
    expect(synced.map((s) => s.committed.map((c) => c.copyId))).toEqual([['c1-r2'], ['c2-r2'], ['c3-r2']]);
    const listing = await listTape(r.drive);
    const fragments = listing.files.filter((f) => f.kind === 'fragment');
    expect(fragments.map((f) => [f.tapeFile, f.blockNumber])).toEqual(
      synced.map((s) => [s.committed[0]!.fileNumber, s.committed[0]!.blockAddress]),
    );
    expect(fragments[0]?.tapeFile).toBe(1);
    for (const s of synced) {
      const c = s.committed[0]!;
      const restored = await restoreImage(
        r.drive,
        { backupId: `img${c.copyId[1]}`, copy: 1 },
        new CollectingSink(),
      );
      expect(restored.sha256).toBe(c.sha256);
    }
  });

  it('a deferred error surfacing on a later command fails the whole batch', async () => {
    const r = await rig();
    await r.send(assign([item(1, 'defer'), item(2, 'defer')]));
    r.drive.injectFault({ kind: 'deferred-error' });
    await r.send(assign([item(3, 'defer')]));
    expect(r.of('copy-written').map((w) => w.copyId)).toEqual(['c1', 'c2', 'c3']);
    // The drive drains its buffer; the failure of c3's data is only reported on the next command.
    await r.clock.advanceTo(r.clock.now() + 5_000);
    await r.send(assign([item(4, 'defer')]));
    const failures = r.of('sync-failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]?.sense.deferred).toBe(true);
    // Every copy since the last good sync, including the one being written when it surfaced.
    expect(failures[0]?.failed).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect(r.engine.expectedPosition).toEqual({ medium: BARCODE, fileNumber: 1, blockNumber: 2 });
    await r.send(assign([item(5, 'sync')]));
    const committed = r.of('batch-synced').flatMap((s) => s.committed.map((c) => c.copyId));
    expect(committed).toEqual(['c5']);
    expect(r.of('batch-synced')[0]?.committed[0]).toMatchObject({ fileNumber: 1, blockAddress: 2 });
  });

  it('a position mismatch after a good sync fails the batch', async () => {
    const r = await rig();
    await r.send(assign([item(1, 'defer'), item(2, 'defer')]));
    r.drive.injectFault({ kind: 'position-lost' });
    await r.send(syncNow('B1'));
    expect(r.of('batch-synced')).toHaveLength(0);
    const [failed] = r.of('sync-failed');
    expect(failed?.failed).toEqual(['c1', 'c2']);
    expect(failed?.sense.code).toBe('POSITION_MISMATCH');
    expect(r.engine.expectedPosition).toEqual({ medium: BARCODE, fileNumber: 1, blockNumber: 2 });
  });

  it('a source error fails only that copy, with an immediate filemark; the batch commits the others', async () => {
    const r = await rig({
      sources: { failAfterBytes: (i) => (i.backupId === 'img2' ? 2 * PAYLOAD : undefined) },
    });
    await r.send(assign([item(1, 'defer'), item(2, 'sync'), item(3, 'defer')]));
    await r.send(syncNow('B1'));
    const failed = r.of('copy-failed');
    expect(failed.map((f) => [f.copyId, f.reason, f.retryable])).toEqual([
      ['c2', 'SOURCE_READ_FAILED', true],
    ]);
    expect(r.of('sync-failed')).toHaveLength(0);
    // c2's sync decision still ends the batch (by a flush): c1 commits there, c3 at sync-now.
    expect(r.of('batch-synced').map((s) => s.committed.map((c) => c.copyId))).toEqual([['c1'], ['c3']]);
    // label, c1 imm, c2 (failed: imm despite its sync decision) + flush, c3 imm, flush
    expect(filemarks(r.drive)).toEqual(['1:sync', '1:imm', '1:imm', '0:sync', '1:imm', '0:sync']);
    const listing = await listTape(r.drive);
    const aborted = listing.files.find(
      (f) => f.kind === 'fragment' && f.images[0]?.entry.backupId === 'img2',
    );
    expect(aborted?.kind === 'fragment' && aborted.images[0]?.trailer?.status).toBe('aborted');
    expect(aborted?.kind === 'fragment' && aborted.end?.reason).toBe('image-failure');
  });

  it('early warning ends the fragment, syncs, and reports the medium full with the copies still to write', async () => {
    // Early warning a tenth before the end: at 900 KiB of a 1000 KiB medium, inside c2.
    const r = await rig({ capacityBytes: 1000 * 1024 });
    await r.send(assign([item(1, 'defer', 300_000), item(2, 'defer', 800_000), item(3, 'defer', 5_000)]));
    const full = r.of('medium-full');
    expect(full).toHaveLength(1);
    expect(full[0]?.inFlight).toEqual(['c2', 'c3']);
    const synced = r.of('batch-synced');
    expect(synced.flatMap((s) => s.committed.map((c) => c.copyId))).toEqual(['c1']);
    expect(filemarks(r.drive).at(-1)).toBe('1:sync');
    await r.send(assign([item(4, 'defer', 1000)]));
    expect(r.of('medium-full').at(-1)?.inFlight).toEqual(['c4']);
    const listing = await listTape(r.drive);
    const last = listing.files.at(-1);
    expect(last?.kind === 'fragment' && last.end?.reason).toBe('end-of-medium');
  });

  it('resumes at the catalog position on a fresh engine, overwriting uncommitted data after it', async () => {
    const r = await rig();
    await r.send(assign([item(1, 'sync'), item(2, 'defer')]));
    const [first] = r.of('batch-synced');
    const resume = first!.position;
    // A new writer run on the same cartridge: c2 was never committed.
    const reports: WriterToDuplicator[] = [];
    const engine = new WriterEngine({
      driveId: 'd0',
      device: r.drive,
      clock: r.clock,
      logger: pino({ level: 'silent' }),
      sources: new SyntheticSourceOpener(),
      changer: new LoadedMediumChanger(r.drive),
      report: (m) => reports.push(m),
      blockPayloadSize: PAYLOAD,
    });
    void engine.start();
    engine.handle(
      assign([item(5, 'sync')], { fileNumber: resume.fileNumber, blockAddress: resume.blockAddress }),
    );
    await engine.whenIdle();
    const synced = reports.filter((m): m is MessageOf<'batch-synced'> => m.type === 'batch-synced');
    expect(synced[0]?.committed[0]).toMatchObject({
      copyId: 'c5',
      fileNumber: resume.fileNumber,
      blockAddress: resume.blockAddress,
    });
    const listing = await listTape(r.drive);
    const names = listing.files.flatMap((f) => (f.kind === 'fragment' ? [f.images[0]!.entry.backupId] : []));
    expect(names).toEqual(['img1', 'img5']);
  });

  it('records the pickup latency of new work and a shutdown acknowledges what is uncommitted', async () => {
    const r = await rig();
    await r.send(assign([item(1, 'defer'), item(2, 'defer')]));
    const pickup = r.engine.stats().pickup;
    expect(pickup.count).toBe(2);
    expect(pickup.maxMs).toBeGreaterThan(0);
    await r.send(makeMessage('shutdown', { id: 'x1', graceful: false, reason: 'test' }));
    expect(r.of('shutdown-ack')[0]).toMatchObject({ re: 'x1', uncommitted: ['c1', 'c2'] });
    expect(r.engine.stopped).toBe(true);
    const hb = r.engine.heartbeat();
    expect(hb.stats).toMatchObject({ imagesWritten: 2, pendingCopies: 2, immediateFilemarks: 2 });
  });
});
