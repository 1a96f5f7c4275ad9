import { type AssignItem, makeMessage, type WriterToDuplicator } from '@tapedup/protocol';
import type { TapeDevice } from '@tapedup/scsi';
import { type CommandLogEntry, MemoryMedium, VirtualClock, VirtualDrive } from '@tapedup/virtual-drive';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LoadedMediumChanger } from '../media/loaded-medium-changer';
import { SyntheticSourceOpener } from '../sources/synthetic';
import { WriterEngine } from './engine';

const BARCODE = 'BAT001L9';
const PAYLOAD = 4096;

/** The drive without its `writeBlocks`: the engine then writes one block per call. */
function oneAtATime(drive: VirtualDrive): TapeDevice {
  return new Proxy(drive, {
    get(target, key) {
      if (key === 'writeBlocks') return undefined;
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Writes three images (deferred, then a sync-now) and returns what the drive and the reports saw. */
async function run(batched: boolean, capacityBytes: number, maxFragmentBytes?: number) {
  const clock = new VirtualClock();
  const medium = new MemoryMedium({ barcode: BARCODE, capacityBytes });
  const drive = new VirtualDrive({ name: 'virtual:batch#drive0', clock, medium, profile: 'LTO-9' });
  await drive.open();
  const reports: WriterToDuplicator[] = [];
  let label = 0;
  const device = batched ? drive : oneAtATime(drive);
  const engine = new WriterEngine({
    driveId: 'd0',
    device,
    clock,
    logger: pino({ level: 'silent' }),
    sources: new SyntheticSourceOpener({ chunkBlocks: 8 }),
    changer: new LoadedMediumChanger(device, 'p1'),
    report: (m) => reports.push(m),
    blockPayloadSize: PAYLOAD,
    ...(maxFragmentBytes === undefined ? {} : { maxFragmentBytes }),
    newLabelId: () => `00000000-0000-4000-8000-${String(++label).padStart(12, '0')}`,
  });
  void engine.start();
  const items: AssignItem[] = [0, 1, 2].map((n) => ({
    copyId: `c${n}`,
    requestId: 'r1',
    backupId: `img${n}`,
    copy: 1,
    sizeBytes: 61 * PAYLOAD + 100 * n + 7,
    source: { kind: 'disk', dsu: 'main', path: `img${n}` },
    priority: 50,
    attempt: 1,
    decision: 'defer',
    reason: 'test',
  }));
  engine.handle(makeMessage('assign', { id: 'a1', medium: BARCODE, items }));
  engine.handle(makeMessage('sync-now', { id: 's1', batchId: 'B1' }));
  await engine.whenIdle();
  const log = drive.commandLog.map((e: CommandLogEntry) => ({
    op: e.op,
    args: e.args,
    error: e.error?.code,
  }));
  const objects: string[] = [];
  for (let i = 0; i < medium.objectCount(); i++) {
    const o = medium.objectAt(i);
    objects.push(o?.kind === 'data' ? Buffer.from(await medium.readData(i)).toString('hex') : 'FM');
  }
  return { log, objects, reports: reports.map((r) => ({ ...r, at: 0, id: '' })) };
}

describe('WriterEngine with a device that takes several blocks per call', () => {
  it('writes the very same tape, command by command, as one block per call', async () => {
    const batched = await run(true, 64 * 1024 * 1024);
    const single = await run(false, 64 * 1024 * 1024);
    expect(batched.log.filter((e) => e.op === 'writeBlock').length).toBeGreaterThan(180);
    expect(batched.log).toEqual(single.log);
    expect(batched.objects).toEqual(single.objects);
    expect(batched.reports).toEqual(single.reports);
  });

  it('ends fragments at the maximum size and spans at early warning exactly where one block per call does', async () => {
    // 20 blocks per fragment; early warning inside the second image on a 512 KiB cartridge.
    for (const [capacity, maxFragment] of [
      [64 * 1024 * 1024, 20 * PAYLOAD],
      [512 * 1024, undefined],
    ] as const) {
      const batched = await run(true, capacity, maxFragment);
      const single = await run(false, capacity, maxFragment);
      const reasons = batched.reports.map((r) => r.type);
      expect(reasons).toContain(maxFragment === undefined ? 'medium-full' : 'copy-written');
      expect(batched.log).toEqual(single.log);
      expect(batched.objects).toEqual(single.objects);
      expect(batched.reports).toEqual(single.reports);
    }
  });
});
