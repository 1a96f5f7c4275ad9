import { ScsiError } from '@tapedup/scsi';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock';
import { MemoryMedium } from './memory-medium';
import { SyntheticMedium } from './synthetic-medium';
import { VirtualDrive } from './virtual-drive';

const KiB = 1024;

async function rejection(promise: Promise<unknown>): Promise<ScsiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ScsiError);
    return error as ScsiError;
  }
  throw new Error('expected the command to reject');
}

function drive(medium = new MemoryMedium({ barcode: 'SSC001L9', capacityBytes: 1000 * KiB })) {
  const clock = new VirtualClock();
  return {
    clock,
    medium,
    drive: new VirtualDrive({ name: 'virtual:ssc', clock, medium, profile: 'untimed' }),
  };
}

describe('VirtualDrive SSC behaviour', () => {
  it('warns early, then fails with VOLUME OVERFLOW past the end of the medium', async () => {
    // 1000 KiB medium: early warning a tenth before the end, at 900 KiB.
    const { drive: d, medium } = drive();
    await d.open();
    const b = new Uint8Array(100 * KiB);
    for (let i = 0; i < 9; i++) expect((await d.writeBlock(b)).earlyWarning).toBe(false);
    expect((await d.readPosition()).eop).toBe(false);
    expect((await d.writeBlock(new Uint8Array(50 * KiB))).earlyWarning).toBe(true);
    expect((await d.readPosition()).eop).toBe(true);
    expect((await d.writeFilemarks(1, { immediate: true })).earlyWarning).toBe(true);
    const err = await rejection(d.writeBlock(b));
    expect(err.category).toBe('volume-overflow');
    expect([err.senseKey, err.asc, err.ascq, err.eom]).toEqual([0x0d, 0x00, 0x02, true]);
    // What fits still fits; the refused block is not on the medium.
    await d.writeBlock(new Uint8Array(50 * KiB));
    await d.writeFilemarks(0, { immediate: false });
    expect(medium.objectCount()).toBe(12);
    expect(medium.bytesBefore(12)).toBe(1000 * KiB);
  });

  it('refuses writes to a write-protected cartridge with DATA PROTECT 27/00', async () => {
    const { drive: d } = drive(
      new MemoryMedium({ barcode: 'WP0001L9', capacityBytes: 1e6, writeProtected: true }),
    );
    await d.open();
    const err = await rejection(d.writeBlock(new Uint8Array(10)));
    expect([err.category, err.senseKey, err.asc, err.ascq]).toEqual(['data-protect', 0x07, 0x27, 0x00]);
    expect((await rejection(d.writeFilemarks(1, { immediate: true }))).category).toBe('data-protect');
    expect(d.modeSense().writeProtected).toBe(true);
  });

  it('append-only: refuses an overwrite with DATA PROTECT, ALLOW OVERWRITE lifts it once', async () => {
    const { drive: d } = drive();
    await d.open();
    await d.setAppendOnly(true);
    expect(d.modeSense().appendOnly).toBe(true);
    for (let i = 0; i < 3; i++) await d.writeBlock(new Uint8Array(100).fill(i));
    await d.writeFilemarks(1, { immediate: false });
    await d.locate(2);
    const err = await rejection(d.writeBlock(new Uint8Array(100)));
    expect([err.category, err.senseKey, err.asc, err.ascq]).toEqual(['data-protect', 0x07, 0x5a, 0x02]);
    await d.allowOverwrite(2);
    await d.writeBlock(new Uint8Array(100).fill(9));
    // Now at end of data: appending needs no authorisation.
    await d.writeBlock(new Uint8Array(100).fill(10));
    await d.locate(0);
    const err2 = await rejection(d.writeFilemarks(1, { immediate: false }));
    expect(err2.code).toBe('APPEND_ONLY_VIOLATION');
    await d.rewind();
    const seen: number[] = [];
    for (;;) {
      const r = await d.readBlock(1000);
      if (r.kind !== 'data') break;
      seen.push(r.data[0]!);
    }
    expect(seen).toEqual([0, 1, 9, 10]);
  });

  it('reports the blocks and bytes still in the buffer, and the file number', async () => {
    const clock = new VirtualClock();
    const medium = new MemoryMedium({ barcode: 'BUF001L9', capacityBytes: 1e9 });
    const d = new VirtualDrive({ name: 'virtual:buf', clock, medium });
    await d.open();
    await d.writeBlock(new Uint8Array(4 * KiB));
    await d.writeFilemarks(1, { immediate: false });
    await d.writeBlock(new Uint8Array(4 * KiB));
    await d.writeBlock(new Uint8Array(4 * KiB));
    await d.writeFilemarks(1, { immediate: true });
    const pos = await d.readPosition();
    // LTO-9 needs ~20 µs for 8 KiB, but only 3 ms passed for the immediate mark: all drained by now.
    expect(pos.blockNumber).toBe(5);
    expect(pos.fileNumber).toBe(2);
    await d.writeBlock(new Uint8Array(4 * KiB));
    const buffered = await d.readPosition();
    expect(buffered.blocksInBuffer).toBe(1);
    expect(buffered.bytesInBuffer).toBe(4 * KiB);
    expect(buffered.blockNumber).toBe(6);
  });

  it('reports a medium change to an open host, and not-ready without a cartridge', async () => {
    const clock = new VirtualClock();
    const d = new VirtualDrive({ name: 'virtual:lib', clock });
    expect((await rejection(d.open())).category).toBe('not-ready');
    const first = new MemoryMedium({ barcode: 'LIB001L9', capacityBytes: 1e6 });
    await d.loadMedium(first);
    await d.open();
    await d.writeBlock(new Uint8Array(10));
    expect(await d.unloadMedium()).toBe(first);
    // The buffered block was written before the cartridge left.
    expect(first.objectCount()).toBe(1);
    const err = await rejection(d.testUnitReady());
    expect([err.category, err.asc]).toEqual(['not-ready', 0x3a]);
    await d.loadMedium(new MemoryMedium({ barcode: 'LIB002L9', capacityBytes: 1e6 }));
    const ua = await rejection(d.readPosition());
    expect([ua.category, ua.asc, ua.ascq]).toEqual(['unit-attention', 0x28, 0x00]);
    expect((await d.readPosition()).blockNumber).toBe(0);
    expect((await rejection(d.loadMedium(first))).code).toBe('MEDIUM_PRESENT');
  });

  it('keeps a bounded command log with IMMED and model times', async () => {
    const clock = new VirtualClock();
    const d = new VirtualDrive({
      name: 'virtual:log',
      clock,
      commandLogLimit: 3,
      medium: new MemoryMedium({ barcode: 'LOG001L9', capacityBytes: 1e6 }),
    });
    await d.open();
    await d.writeBlock(new Uint8Array(10));
    await d.writeFilemarks(1, { immediate: true });
    await d.writeFilemarks(1, { immediate: false });
    await d.readBlock(10).catch(() => undefined);
    expect(d.commandLog.map((e) => e.op)).toEqual(['writeFilemarks', 'writeFilemarks', 'readBlock']);
    const [imm, sync] = d.commandLog;
    expect(imm!.args).toEqual({ count: 1, immediate: true });
    expect(imm!.end - imm!.start).toBe(3);
    expect(sync!.args).toEqual({ count: 1, immediate: false });
    expect(sync!.end - sync!.start).toBeGreaterThanOrEqual(1500);
  });

  it('validates its options with messages naming the option', () => {
    const clock = new VirtualClock();
    expect(() => new VirtualDrive({ name: '', clock })).toThrow(/"name"/);
    expect(() => new VirtualDrive({ name: 'x', clock: {} as VirtualClock })).toThrow(/"clock"/);
    expect(() => new VirtualDrive({ name: 'x', clock, commandTimeoutMs: 0 })).toThrow(/"commandTimeoutMs"/);
    expect(
      () => new VirtualDrive({ name: 'x', clock, appendOnlySupported: false, allowOverwriteSupported: true }),
    ).toThrow(/"allowOverwriteSupported"/);
    expect(() => new VirtualDrive({ name: 'x', clock, profile: { name: 'bad' } as never })).toThrow(
      /profile\./,
    );
  });

  it('rejects invalid command arguments as ILLEGAL REQUEST', async () => {
    const { drive: d } = drive();
    await d.open();
    expect((await rejection(d.writeBlock(new Uint8Array(0)))).category).toBe('illegal-request');
    expect((await rejection(d.writeFilemarks(-1, { immediate: true }))).category).toBe('illegal-request');
    expect((await rejection(d.readBlock(0))).category).toBe('illegal-request');
    expect((await rejection(d.locate(0, 1))).category).toBe('illegal-request');
  });
});

describe('synthetic payload at scale', () => {
  it('writes 100 TB on the virtual clock in seconds with bounded memory', async () => {
    const clock = new VirtualClock();
    const medium = new SyntheticMedium({ barcode: 'BIG001L9', capacityBytes: 120e12 });
    const d = new VirtualDrive({ name: 'virtual:big', clock, medium, commandLogLimit: 1000 });
    await d.open();
    const blockBytes = 256 * KiB;
    const perCommand = 4096; // 1 GiB per command
    const total = 100e12;
    const commands = Math.ceil(total / (blockBytes * perCommand));
    const imageEvery = 1000; // a ~1 TB image, then a filemark; a sync every 10 images
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const wall = performance.now();
    for (let i = 1; i <= commands; i++) {
      await d.writeSyntheticBlocks(blockBytes, perCommand);
      if (i % imageEvery === 0) await d.writeFilemarks(1, { immediate: (i / imageEvery) % 10 !== 0 });
    }
    await d.writeFilemarks(1, { immediate: false });
    const wallMs = performance.now() - wall;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    const bytes = commands * perCommand * blockBytes;
    expect(bytes).toBeGreaterThanOrEqual(total);
    expect(medium.bytesBefore(medium.objectCount())).toBe(bytes);
    expect(medium.objectCount()).toBe(commands * perCommand + Math.floor(commands / imageEvery) + 1);
    const syncs = Math.floor(commands / imageEvery / 10) + 1;
    const expectedMs = (bytes / 400e6) * 1000 + syncs * 1500;
    expect(Math.abs(clock.now() - expectedMs) / expectedMs).toBeLessThan(0.01);
    expect(medium.runCount).toBeLessThan(1000);
    expect(wallMs).toBeLessThan(20_000);
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    console.info(
      `100 TB synthetic: ${commands} commands, ${(wallMs / 1000).toFixed(1)} s wall, ` +
        `${(clock.now() / 3.6e6).toFixed(1)} h model, heap +${(heapGrowth / 1048576).toFixed(1)} MiB`,
    );
  }, 60_000);
});
