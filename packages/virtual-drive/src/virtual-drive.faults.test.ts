import { ScsiError, ScsiTimeoutError } from '@tapedup/scsi';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock';
import type { FaultPlan } from './faults';
import { FaultInjector } from './faults';
import { MemoryMedium } from './memory-medium';
import { LTO9 } from './profile';
import { VirtualDrive } from './virtual-drive';

const KiB = 1024;

function setup(faults: FaultPlan = {}, barcode = 'FLT001L9', commandTimeoutMs?: number) {
  const clock = new VirtualClock();
  const medium = new MemoryMedium({ barcode, capacityBytes: 1e9 });
  const drive = new VirtualDrive({ name: 'virtual:faults', clock, medium, faults, commandTimeoutMs });
  return { clock, medium, drive };
}

function block(seed: number): Uint8Array {
  return new Uint8Array(64 * KiB).fill(seed);
}

async function rejection(promise: Promise<unknown>): Promise<ScsiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ScsiError);
    return error as ScsiError;
  }
  throw new Error('expected the command to reject');
}

async function readAll(drive: VirtualDrive): Promise<Array<number | 'FM'>> {
  await drive.rewind();
  const out: Array<number | 'FM'> = [];
  for (;;) {
    const r = await drive.readBlock(1024 * KiB);
    if (r.kind === 'end-of-data') return out;
    out.push(r.kind === 'filemark' ? 'FM' : r.data[0]!);
  }
}

describe('fault injection', () => {
  it('write-error: the Nth write fails at once with MEDIUM ERROR 0C/00, nothing else is affected', async () => {
    const { drive } = setup({ scripted: [{ kind: 'write-error', trigger: { op: 'write', nth: 3 } }] });
    await drive.open();
    await drive.writeBlock(block(1));
    await drive.writeBlock(block(2));
    const err = await rejection(drive.writeBlock(block(3)));
    expect(err.category).toBe('medium');
    expect(err.deferred).toBe(false);
    expect([err.senseKey, err.asc, err.ascq]).toEqual([0x03, 0x0c, 0x00]);
    expect((await drive.readPosition()).blockNumber).toBe(2);
    await drive.writeBlock(block(4));
    await drive.writeFilemarks(0, { immediate: false });
    expect(await readAll(drive)).toEqual([1, 2, 4]);
    expect(drive.stats.faults['write-error']).toBe(1);
  });

  it('write-error at a byte offset strikes the write that covers it', async () => {
    const { drive } = setup({ scripted: [{ kind: 'write-error', trigger: { atByte: 64 * KiB * 2 + 10 } }] });
    await drive.open();
    await drive.writeBlock(block(1));
    await drive.writeBlock(block(2));
    const err = await rejection(drive.writeBlock(block(3)));
    expect(err.category).toBe('medium');
    await drive.writeBlock(block(3));
  });

  it('deferred-error: reported on the next command once the head reaches the data, never on the medium', async () => {
    const { clock, drive, medium } = setup({
      scripted: [{ kind: 'deferred-error', trigger: { op: 'write', nth: 3 } }],
    });
    await drive.open();
    await drive.writeFilemarks(0, { immediate: false });
    for (let i = 1; i <= 5; i++) {
      // All five are accepted into the buffer: the error is not the write's own.
      expect((await drive.writeBlock(block(i))).earlyWarning).toBe(false);
    }
    await clock.sleep(1000);
    const err = await rejection(drive.readPosition());
    expect(err.deferred).toBe(true);
    expect(err.category).toBe('medium');
    expect([err.senseKey, err.asc, err.ascq]).toEqual([0x03, 0x0c, 0x00]);
    // Reported once; the drive then stands at the end of what reached the medium.
    expect((await drive.readPosition()).blockNumber).toBe(2);
    expect(medium.objectCount()).toBe(2);
    expect(drive.stats.deferredErrors).toBe(1);
    expect(await readAll(drive)).toEqual([1, 2]);
  });

  it('deferred-error: surfaces at the sync when no command came in between', async () => {
    const { drive, medium } = setup({
      scripted: [{ kind: 'deferred-error', trigger: { op: 'filemark', nth: 2 } }],
    });
    await drive.open();
    await drive.writeBlock(block(1));
    await drive.writeFilemarks(1, { immediate: true });
    await drive.writeBlock(block(2));
    await drive.writeFilemarks(1, { immediate: true }); // this mark fails when drained
    await drive.writeBlock(block(3));
    const err = await rejection(drive.writeFilemarks(1, { immediate: false }));
    expect(err.deferred).toBe(true);
    expect(medium.objectCount()).toBe(3);
    expect(await readAll(drive)).toEqual([1, 'FM', 2]);
  });

  it('deferred-error: many commands later it is still reported, never dropped', async () => {
    const { drive } = setup({ scripted: [{ kind: 'deferred-error', trigger: { op: 'write', nth: 1 } }] });
    await drive.open();
    const errors: ScsiError[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        await drive.writeBlock(block(i));
        await drive.writeFilemarks(1, { immediate: true });
      } catch (error) {
        errors.push(error as ScsiError);
      }
    }
    try {
      await drive.writeFilemarks(0, { immediate: false });
    } catch (error) {
      errors.push(error as ScsiError);
    }
    expect(errors.filter((e) => e.deferred)).toHaveLength(1);
  });

  it('sync-failure: the synchronous filemark fails and the buffered data never reaches the medium', async () => {
    const { drive, medium } = setup({
      scripted: [{ kind: 'sync-failure', trigger: { op: 'sync', nth: 2 } }],
    });
    await drive.open();
    await drive.writeBlock(block(1));
    await drive.writeFilemarks(1, { immediate: false });
    await drive.writeBlock(block(2));
    await drive.writeBlock(block(3));
    const err = await rejection(drive.writeFilemarks(1, { immediate: false }));
    expect(err.category).toBe('medium');
    expect(err.deferred).toBe(false);
    expect(medium.objectCount()).toBe(2);
    expect((await drive.readPosition()).blockNumber).toBe(2);
    expect(drive.stats.bytesLost).toBe(2 * 64 * KiB);
  });

  it('position-lost: after a good sync READ POSITION disagrees with the count', async () => {
    const { drive } = setup({ scripted: [{ kind: 'position-lost', trigger: { op: 'sync', nth: 1 } }] });
    await drive.open();
    for (let i = 0; i < 4; i++) await drive.writeBlock(block(i));
    await drive.writeFilemarks(1, { immediate: false });
    // The host counted 4 blocks + 1 filemark = 5; the drive reports one object less.
    expect((await drive.readPosition()).blockNumber).toBe(4);
  });

  it('hang: the command never completes and surfaces as a timeout after commandTimeoutMs', async () => {
    const { clock, drive } = setup(
      { scripted: [{ kind: 'hang', trigger: { op: 'write', nth: 2 } }] },
      'HNG001L9',
      60_000,
    );
    await drive.open();
    await drive.writeBlock(block(1));
    const t = clock.now();
    const err = await rejection(drive.writeBlock(block(2)));
    expect(err).toBeInstanceOf(ScsiTimeoutError);
    expect(err.category).toBe('transport');
    expect(clock.now() - t).toBe(60_000);
    expect(drive.stats.timeouts).toBe(1);
    // The drive answers the next command.
    await drive.writeBlock(block(3));
    expect((await drive.readPosition()).blockNumber).toBe(2);
  });

  it('unit-attention: a reset makes the command fail with UNIT ATTENTION 29/00 once', async () => {
    const { drive } = setup({ scripted: [{ kind: 'unit-attention', trigger: { op: 'command', nth: 3 } }] });
    await drive.open();
    await drive.writeBlock(block(1));
    await drive.writeBlock(block(2));
    const err = await rejection(drive.writeBlock(block(3)));
    expect(err.category).toBe('unit-attention');
    expect([err.senseKey, err.asc, err.ascq]).toEqual([0x06, 0x29, 0x00]);
    await drive.testUnitReady();
  });

  it('bad-cartridge: every write on that barcode fails, other cartridges are fine', async () => {
    const plan: FaultPlan = { scripted: [{ kind: 'bad-cartridge', barcode: 'BAD001L9' }] };
    const bad = setup(plan, 'BAD001L9');
    await bad.drive.open();
    for (let i = 0; i < 3; i++)
      expect((await rejection(bad.drive.writeBlock(block(i)))).category).toBe('medium');
    expect((await rejection(bad.drive.writeFilemarks(1, { immediate: true }))).category).toBe('medium');
    const good = setup(plan, 'GOOD01L9');
    await good.drive.open();
    await good.drive.writeBlock(block(1));
    await good.drive.writeFilemarks(1, { immediate: false });
    expect(good.medium.objectCount()).toBe(2);
  });

  it('random faults are reproducible from the seed', async () => {
    async function failures(seed: number): Promise<number[]> {
      const { drive } = setup({ random: { seed, faults: [{ kind: 'write-error', perCommand: 0.2 }] } });
      await drive.open();
      const failed: number[] = [];
      for (let i = 0; i < 200; i++) {
        try {
          await drive.writeBlock(block(i));
        } catch {
          failed.push(i);
        }
      }
      return failed;
    }
    const a = await failures(42);
    expect(a).toEqual(await failures(42));
    expect(a.length).toBeGreaterThan(15);
    expect(a.length).toBeLessThan(70);
    expect(await failures(43)).not.toEqual(a);
  });

  it('a per-byte rate strikes large writes more often than small ones', () => {
    const injector = new FaultInjector({
      random: { seed: 7, faults: [{ kind: 'write-error', perByte: 1e-6 }] },
    });
    let small = 0;
    let large = 0;
    for (let i = 0; i < 1000; i++) {
      if (injector.check({ ops: ['write'], barcode: 'X', byteStart: 0, byteLength: 1000 }).size) small++;
      if (injector.check({ ops: ['write'], barcode: 'X', byteStart: 0, byteLength: 1_000_000 }).size) large++;
    }
    expect(large).toBeGreaterThan(500);
    expect(small).toBeLessThan(20);
  });

  it('validates the plan with messages that name the field', () => {
    expect(() => new FaultInjector({ scripted: [{ kind: 'nope' as 'hang' }] })).toThrow(
      /faults\.scripted\[0\]\.kind/,
    );
    expect(
      () => new FaultInjector({ scripted: [{ kind: 'sync-failure', trigger: { op: 'write', nth: 1 } }] }),
    ).toThrow(/cannot strike a write/);
    expect(
      () => new FaultInjector({ scripted: [{ kind: 'hang', trigger: { op: 'write', nth: 0 } }] }),
    ).toThrow(/trigger\.nth/);
    expect(
      () => new FaultInjector({ random: { seed: 1, faults: [{ kind: 'hang', perCommand: 2 }] } }),
    ).toThrow(/perCommand/);
  });
});

describe('durability', () => {
  it('power loss: blocks after the last sync are gone, blocks before it intact and readable', async () => {
    const clock = new VirtualClock();
    const medium = new MemoryMedium({ barcode: 'PWR001L9', capacityBytes: 1e9 });
    // A small buffer so part of the post-sync data has drained to the store when the power fails.
    const drive = new VirtualDrive({
      name: 'virtual:pwr',
      clock,
      medium,
      profile: { ...LTO9, bufferBytes: 256 * KiB, maxBlockSize: 256 * KiB },
    });
    await drive.open();
    for (let i = 1; i <= 3; i++) await drive.writeBlock(block(i));
    await drive.writeFilemarks(1, { immediate: false });
    for (let i = 4; i <= 12; i++) await drive.writeBlock(block(i));
    // Some of blocks 4..12 reached the store (appended, not synced), the rest sit in the buffer.
    const appended = medium.objectCount();
    expect(appended).toBeGreaterThan(4);
    expect(appended).toBeLessThan(13);
    await drive.powerLoss();
    // The drive dropped its buffer: nothing more reaches the store.
    expect(medium.objectCount()).toBeLessThan(13);
    expect(drive.stats.objectsLost).toBeGreaterThan(0);
    // The host loses its page cache too.
    medium.loseUnsynced();
    const ua = await rejection(drive.writeBlock(block(99)));
    expect(ua.category).toBe('unit-attention');
    expect((await rejection(drive.readPosition())).category).toBe('not-ready');
    await drive.load();
    expect(await readAll(drive)).toEqual([1, 2, 3, 'FM']);
  });

  it('data a synchronous filemark covered was synced in the store', async () => {
    const { drive, medium } = setup();
    await drive.open();
    await drive.writeBlock(block(1));
    await drive.writeFilemarks(1, { immediate: true });
    expect(medium.syncCount).toBe(0);
    await drive.writeFilemarks(0, { immediate: false });
    expect(medium.syncCount).toBe(1);
    medium.loseUnsynced();
    expect(medium.objectCount()).toBe(2);
  });
});
