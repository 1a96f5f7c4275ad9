import { type AssignItem, type MessageOf, makeMessage, type WriterToDuplicator } from '@tapedup/protocol';
import { type TapeDevice, type TapeDeviceCapabilities, UnsupportedOperationError } from '@tapedup/scsi';
import { listTape } from '@tapedup/tape-format';
import {
  type CommandLogEntry,
  MemoryMedium,
  SyntheticMedium,
  VirtualClock,
  VirtualDrive,
} from '@tapedup/virtual-drive';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LoadedMediumChanger } from '../media/loaded-medium-changer';
import { SyntheticSourceOpener, type SyntheticSourceOptions } from '../sources/synthetic';
import { WriterEngine } from './engine';
import { positionAfterLastFilemark, positionAt } from './medium';

const BARCODE = 'TW0002L9';

/**
 * A drive as tgt presents it: no LOCATE, READ POSITION counted by the device itself. Wraps a real
 * virtual drive and only narrows what it advertises (and refuses LOCATE like tgt does).
 */
class NoLocateDrive implements TapeDevice {
  constructor(private readonly inner: VirtualDrive) {}
  get name() {
    return `${this.inner.name} (no locate)`;
  }
  capabilities(): TapeDeviceCapabilities {
    return {
      ...this.inner.capabilities(),
      locate: false,
      readPosition: false,
      appendOnly: false,
      allowOverwrite: false,
    };
  }
  locate(): Promise<void> {
    return Promise.reject(new UnsupportedOperationError('LOCATE', this.name));
  }
  open = () => this.inner.open();
  close = () => this.inner.close();
  inquiry = () => this.inner.inquiry();
  testUnitReady = () => this.inner.testUnitReady();
  writeBlock = (d: Uint8Array) => this.inner.writeBlock(d);
  writeFilemarks = (n: number, o: { immediate: boolean }) => this.inner.writeFilemarks(n, o);
  readBlock = (n: number) => this.inner.readBlock(n);
  space = (u: 'blocks' | 'filemarks' | 'end-of-data', n: number) => this.inner.space(u, n);
  readPosition = () => this.inner.readPosition();
  rewind = () => this.inner.rewind();
  load = () => this.inner.load();
  unload = () => this.inner.unload();
  setAppendOnly = (e: boolean) => this.inner.setAppendOnly(e);
  allowOverwrite = (b: number) => this.inner.allowOverwrite(b);
}

function setup(
  options: {
    device?: (d: VirtualDrive) => TapeDevice;
    appendOnly?: boolean;
    sources?: SyntheticSourceOptions;
    synthetic?: boolean;
    barcode?: string;
  } = {},
) {
  const clock = new VirtualClock();
  const medium = options.synthetic
    ? new SyntheticMedium({ barcode: BARCODE, capacityBytes: 1e12 })
    : new MemoryMedium({ barcode: BARCODE, capacityBytes: 64 * 1024 * 1024 });
  const hooks: { onCommand?: (e: CommandLogEntry) => void } = {};
  const drive = new VirtualDrive({
    name: 'virtual:media#drive0',
    clock,
    medium,
    profile: 'LTO-9',
    onCommand: (e) => hooks.onCommand?.(e),
  });
  const device = options.device?.(drive) ?? drive;
  const reports: WriterToDuplicator[] = [];
  const make = () =>
    new WriterEngine({
      driveId: 'd1',
      device,
      clock,
      logger: pino({ level: 'silent' }),
      sources: new SyntheticSourceOpener(options.sources),
      changer: new LoadedMediumChanger(device),
      report: (m) => reports.push(m),
      blockPayloadSize: 4096,
      appendOnly: options.appendOnly ?? false,
    });
  return {
    hooks,
    clock,
    drive,
    device,
    reports,
    make,
    of: <T extends WriterToDuplicator['type']>(type: T) =>
      reports.filter((r): r is MessageOf<T> => r.type === type),
  };
}

let n = 0;
const item = (k: number, decision: 'defer' | 'sync', sizeBytes = 20_000): AssignItem => ({
  copyId: `m${k}`,
  requestId: 'r',
  backupId: `im${k}`,
  copy: 1,
  sizeBytes,
  source: { kind: 'disk', dsu: 'd', path: `im${k}` },
  priority: 1,
  attempt: 1,
  decision,
  reason: 'test',
});
const assign = (
  medium: string,
  items: AssignItem[],
  resumeAt?: { fileNumber: number; blockAddress: number },
) => makeMessage('assign', { id: `x${++n}`, medium, items, ...(resumeAt ? { resumeAt } : {}) });

async function run(engine: WriterEngine, ...commands: Parameters<WriterEngine['handle']>[0][]) {
  void engine.start();
  for (const c of commands) engine.handle(c);
  await engine.whenIdle();
}

describe('WriterEngine media handling', () => {
  it('mount labels a blank cartridge and answers mounted; a wrong label is refused', async () => {
    const s = setup();
    await s.drive.open();
    await run(s.make(), makeMessage('mount', { id: 'mt1', barcode: BARCODE }));
    expect(s.of('mounted')[0]).toMatchObject({
      re: 'mt1',
      medium: BARCODE,
      position: { fileNumber: 1, blockAddress: 2 },
      appendOnly: false,
    });
    const listing = await listTape(s.drive);
    expect(listing.label?.barcode).toBe(BARCODE);

    // The same cartridge asked for under another barcode: its label says otherwise.
    const engine = s.make();
    await run(engine, assign('OTHER1L9', [item(1, 'sync')]));
    expect(s.of('drive-error')).toHaveLength(0);
    const [failed] = s.of('copy-failed');
    expect(failed).toMatchObject({ copyId: 'm1', reason: 'LABEL_MISMATCH' });
    expect(s.of('copy-written')).toHaveLength(0);
  });

  it('without LOCATE it positions by REWIND + SPACE and finds the end of the written data itself', async () => {
    const s = setup({ device: (d) => new NoLocateDrive(d) });
    await s.device.open();
    const first = s.make();
    await run(first, assign(BARCODE, [item(1, 'defer'), item(2, 'sync'), item(3, 'defer')]));
    const committedEnd = s.of('batch-synced')[0]!.position;
    // A fresh engine without a resume point continues after the last filemark (after c3).
    const second = s.make();
    await run(second, assign(BARCODE, [item(4, 'sync')]));
    const c4 = s.of('batch-synced')[1]!.committed[0]!;
    expect(c4.fileNumber).toBe(committedEnd.fileNumber + 1);
    // With the catalog's resume point it overwrites the uncommitted c3 and c4.
    const third = s.make();
    await run(
      third,
      assign(BARCODE, [item(5, 'sync')], {
        fileNumber: committedEnd.fileNumber,
        blockAddress: committedEnd.blockAddress,
      }),
    );
    expect(s.of('batch-synced')[2]!.committed[0]).toMatchObject({
      copyId: 'm5',
      fileNumber: committedEnd.fileNumber,
      blockAddress: committedEnd.blockAddress,
    });
    expect(s.drive.commandLog.some((e) => e.op === 'locate')).toBe(false);
    const listing = await listTape(s.drive);
    expect(
      listing.files.flatMap((f) => (f.kind === 'fragment' ? [f.images[0]!.entry.backupId] : [])),
    ).toEqual(['im1', 'im2', 'im5']);
    await expect(positionAt(s.device, { fileNumber: 9, blockNumber: 99 })).rejects.toMatchObject({
      code: 'POSITION_UNKNOWN',
    });
    expect(await positionAfterLastFilemark(s.device)).toEqual({
      fileNumber: 4,
      blockNumber: listing.endOfData!.blockNumber,
    });
  });

  it('in append-only mode a resume over uncommitted data is authorised with ALLOW OVERWRITE for exactly that position', async () => {
    const s = setup({ appendOnly: true });
    await s.drive.open();
    await run(s.make(), assign(BARCODE, [item(1, 'sync'), item(2, 'defer')]));
    const end = s.of('batch-synced')[0]!.position;
    expect(s.drive.modeSense().appendOnly).toBe(true);
    await run(
      s.make(),
      assign(BARCODE, [item(3, 'sync')], { fileNumber: end.fileNumber, blockAddress: end.blockAddress }),
    );
    const allow = s.drive.commandLog.filter((e) => e.op === 'allowOverwrite');
    expect(allow.at(-1)?.args.blockNumber).toBe(end.blockAddress);
    expect(s.of('sync-failed')).toHaveLength(0);
    expect(s.of('batch-synced')[1]!.committed[0]).toMatchObject({
      copyId: 'm3',
      blockAddress: end.blockAddress,
    });
    // Without the authorisation the drive refuses the same overwrite.
    await s.drive.locate(end.blockAddress);
    await expect(s.drive.writeBlock(new Uint8Array(10))).rejects.toMatchObject({ category: 'data-protect' });
  });

  it('with length-only sources it writes synthetic runs and still commits by position (simulation mode)', async () => {
    const s = setup({ synthetic: true, sources: { content: 'none', chunkBlocks: 64 } });
    await s.drive.open();
    await run(s.make(), assign(BARCODE, [item(1, 'defer', 10_000_000), item(2, 'sync', 3_000_001)]));
    const synced = s.of('batch-synced');
    expect(synced[0]!.committed.map((c) => c.copyId)).toEqual(['m1', 'm2']);
    expect(s.drive.commandLog.filter((e) => e.op === 'writeSyntheticBlocks').length).toBeGreaterThan(0);
    // header + ceil(10e6/4096) blocks + trailer + end + FM; the label file is objects 0-1.
    const blocks1 = Math.ceil(10_000_000 / 4096);
    expect(synced[0]!.committed[1]!.blockAddress).toBe(2 + blocks1 + 4);
    expect(s.of('copy-written').map((w) => w.bytes)).toEqual([10_000_000, 3_000_001]);
    expect(s.clock.now()).toBeGreaterThan(0);
  });

  it('a non-graceful shutdown mid-image stops at once and lists the abandoned copy as uncommitted', async () => {
    const s = setup();
    await s.drive.open();
    const engine = s.make();
    void engine.start();
    engine.handle(assign(BARCODE, [item(1, 'defer'), item(2, 'defer', 2_000_000), item(3, 'defer')]));
    // Stop in the middle of c2: at its third data block, after c1 was reported.
    let c2Blocks = 0;
    s.hooks.onCommand = (e) => {
      if (e.op !== 'writeBlock' || !s.reports.some((r) => r.type === 'copy-written')) return;
      if (++c2Blocks === 3)
        engine.handle(makeMessage('shutdown', { id: 'stop', graceful: false, reason: 'test' }));
    };
    await engine.whenIdle();
    expect(s.of('shutdown-ack')[0]).toMatchObject({ re: 'stop', uncommitted: ['m1', 'm2'] });
    expect(s.of('copy-written').map((w) => w.copyId)).toEqual(['m1']);
    expect(engine.stopped).toBe(true);
    // Nothing was written after the stop: no trailer or filemark for m2, m3 never started.
    const log = s.drive.commandLog.map((e) => e.op);
    expect(log.filter((op) => op === 'writeFilemarks')).toHaveLength(2);
    expect(log.at(-1)).toBe('writeBlock');
  });

  it('append-only: an overwrite the drive was not told to allow is refused and fails the batch as data protect', async () => {
    // A transport that loses ALLOW OVERWRITE: the drive keeps refusing the rewrite after a failure.
    const s = setup({
      appendOnly: true,
      device: (d) =>
        new Proxy(d, {
          get(target, key, receiver) {
            if (key === 'allowOverwrite') return async () => {};
            const value = Reflect.get(target, key, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    });
    await s.drive.open();
    const engine = s.make();
    await run(engine, assign(BARCODE, [item(1, 'sync'), item(2, 'defer')]));
    s.drive.injectFault({ kind: 'sync-failure' });
    engine.handle(makeMessage('sync-now', { id: 'sn1', batchId: 'B1' }));
    await engine.whenIdle();
    expect(s.of('sync-failed')[0]?.failed).toEqual(['m2']);
    // The retry lands on the last committed end, over m2's data: the drive refuses it.
    engine.handle(assign(BARCODE, [item(3, 'sync')]));
    await engine.whenIdle();
    const refused = s.of('sync-failed')[1];
    expect(refused?.failed).toEqual(['m3']);
    expect(refused?.sense).toMatchObject({ category: 'data-protect', senseKey: 7 });
    expect(s.of('batch-synced').flatMap((b) => b.committed.map((c) => c.copyId))).toEqual(['m1']);
  });

  it('append-only: recovery after a failed batch authorises exactly the last committed position and commits', async () => {
    const s = setup({ appendOnly: true });
    await s.drive.open();
    const engine = s.make();
    await run(engine, assign(BARCODE, [item(1, 'sync'), item(2, 'defer'), item(3, 'defer')]));
    const committedEnd = s.of('batch-synced')[0]!.position.blockAddress;
    s.drive.injectFault({ kind: 'sync-failure' });
    engine.handle(makeMessage('sync-now', { id: 'sn2', batchId: 'B2' }));
    await engine.whenIdle();
    expect(s.of('sync-failed')[0]?.failed).toEqual(['m2', 'm3']);
    const before = s.drive.commandLog.length;
    engine.handle(assign(BARCODE, [item(4, 'sync')]));
    await engine.whenIdle();
    expect(s.of('sync-failed')).toHaveLength(1);
    expect(s.of('batch-synced')[1]!.committed[0]).toMatchObject({ copyId: 'm4', blockAddress: committedEnd });
    // ALLOW OVERWRITE was sent for the committed end, and the first write after it went exactly there.
    const log = s.drive.commandLog;
    const allows = log.filter((e) => e.op === 'allowOverwrite');
    expect(allows.map((e) => e.args.blockNumber)).toEqual([committedEnd]);
    const at = log.indexOf(allows[0]!);
    const moves = log.slice(0, at).filter((e) => e.op === 'locate');
    expect(moves.at(-1)?.args.blockNumber).toBe(committedEnd);
    const firstWrite = log.slice(at + 1).find((e) => e.op === 'writeBlock');
    expect(firstWrite?.error).toBeUndefined();
    expect(log.slice(at + 1).some((e) => e.op === 'locate' || e.op === 'space')).toBe(false);
    expect(log.slice(before).some((e) => e.error?.category === 'data-protect')).toBe(false);
  });
});
