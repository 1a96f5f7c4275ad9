import { type AssignItem, type MessageOf, makeMessage, type WriterToDuplicator } from '@tapedup/protocol';
import { MemoryMedium, VirtualClock, VirtualDrive } from '@tapedup/virtual-drive';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LoadedMediumChanger } from '../media/loaded-medium-changer';
import { SyntheticSourceOpener } from '../sources/synthetic';
import { WriterEngine } from './engine';

// Two copies of each image on two drives that share one virtual clock, as the duplicator drives them:
// every image ends in an immediate filemark on both drives, then both get `sync-now` together.

const MiB = 1024 * 1024;

interface Side {
  drive: VirtualDrive;
  engine: WriterEngine;
  reports: WriterToDuplicator[];
}

async function side(clock: VirtualClock, n: number): Promise<Side> {
  const barcode = `CP000${n}L9`;
  const drive = new VirtualDrive({
    name: `virtual:copies#drive${n}`,
    clock,
    medium: new MemoryMedium({ barcode, capacityBytes: 1024 * MiB }),
    profile: 'LTO-9',
  });
  await drive.open();
  const reports: WriterToDuplicator[] = [];
  const engine = new WriterEngine({
    driveId: `d${n}`,
    device: drive,
    clock,
    logger: pino({ level: 'silent' }),
    sources: new SyntheticSourceOpener(),
    changer: new LoadedMediumChanger(drive, 'p1'),
    report: (m) => reports.push(m),
    blockPayloadSize: 256 * 1024,
    newLabelId: () => `00000000-0000-4000-8000-00000000000${n}`,
  });
  void engine.start();
  return { drive, engine, reports };
}

let ids = 0;
const item = (i: number, copy: number, attempt = 1): AssignItem => ({
  copyId: `c${i}.${copy}${attempt > 1 ? `.r${attempt}` : ''}`,
  requestId: 'r1',
  backupId: `img${i}`,
  copy,
  sizeBytes: 24 * MiB,
  source: { kind: 'disk', dsu: 'main', path: `img${i}` },
  priority: 50,
  attempt,
  decision: attempt > 1 ? 'sync' : 'defer',
  reason: attempt > 1 ? 'retry' : 'group',
});
const assign = (copy: number, items: AssignItem[]) =>
  makeMessage('assign', { id: `a${++ids}`, medium: `CP000${copy - 1}L9`, items });
const of = <T extends WriterToDuplicator['type']>(s: Side, type: T) =>
  s.reports.filter((r): r is MessageOf<T> => r.type === type);
const flushes = (s: Side) =>
  s.drive.commandLog.filter(
    (e) => e.op === 'writeFilemarks' && e.args.count === 0 && e.args.immediate === false,
  );

async function writeBoth(clock: VirtualClock): Promise<[Side, Side]> {
  const a = await side(clock, 0);
  const b = await side(clock, 1);
  const images = [1, 2, 3, 4];
  a.engine.handle(
    assign(
      1,
      images.map((i) => item(i, 1)),
    ),
  );
  b.engine.handle(
    assign(
      2,
      images.map((i) => item(i, 2)),
    ),
  );
  await Promise.all([a.engine.whenIdle(), b.engine.whenIdle()]);
  return [a, b];
}

describe('parallel copies on two drives', () => {
  it('writes immediate filemarks on both drives, then their flushes overlap on the shared virtual clock', async () => {
    const clock = new VirtualClock();
    const [a, b] = await writeBoth(clock);
    for (const s of [a, b]) {
      expect(of(s, 'copy-written').map((w) => w.pendingSync)).toEqual([true, true, true, true]);
      expect(s.drive.stats.immediateFilemarks).toBe(4);
    }
    a.engine.handle(makeMessage('sync-now', { id: `s${++ids}`, batchId: 'G1' }));
    b.engine.handle(makeMessage('sync-now', { id: `s${++ids}`, batchId: 'G1' }));
    await Promise.all([a.engine.whenIdle(), b.engine.whenIdle()]);
    const [fa] = flushes(a);
    const [fb] = flushes(b);
    expect(fa && fb).toBeTruthy();
    // Each flush drains the drive's buffer and pays the sync overhead (over a second on LTO-9)...
    expect(fa!.end - fa!.start).toBeGreaterThan(1000);
    expect(fb!.end - fb!.start).toBeGreaterThan(1000);
    // ...and the two run at the same time: the later start is before the earlier end.
    expect(Math.max(fa!.start, fb!.start)).toBeLessThan(Math.min(fa!.end, fb!.end));
    for (const s of [a, b]) expect(of(s, 'batch-synced')[0]?.committed).toHaveLength(4);
  });

  it('a failed sync on one drive fails only that copy set; the good copies stay committed', async () => {
    const clock = new VirtualClock();
    const [a, b] = await writeBoth(clock);
    b.drive.injectFault({ kind: 'sync-failure' });
    a.engine.handle(makeMessage('sync-now', { id: `s${++ids}`, batchId: 'G1' }));
    b.engine.handle(makeMessage('sync-now', { id: `s${++ids}`, batchId: 'G1' }));
    await Promise.all([a.engine.whenIdle(), b.engine.whenIdle()]);
    expect(of(a, 'batch-synced')[0]?.committed.map((c) => c.copyId)).toEqual([
      'c1.1',
      'c2.1',
      'c3.1',
      'c4.1',
    ]);
    expect(of(a, 'sync-failed')).toHaveLength(0);
    expect(of(b, 'sync-failed')[0]?.failed).toEqual(['c1.2', 'c2.2', 'c3.2', 'c4.2']);

    // Only the failed copies are retried, on their own drive, each synced on its own.
    const aBefore = a.drive.commandLog.length;
    b.engine.handle(
      assign(
        2,
        [1, 2, 3, 4].map((i) => item(i, 2, 2)),
      ),
    );
    await b.engine.whenIdle();
    expect(of(b, 'batch-synced').flatMap((s) => s.committed.map((c) => c.copyId))).toEqual([
      'c1.2.r2',
      'c2.2.r2',
      'c3.2.r2',
      'c4.2.r2',
    ]);
    expect(of(b, 'batch-synced')).toHaveLength(4);
    expect(a.drive.commandLog.length).toBe(aBefore);
  });
});
