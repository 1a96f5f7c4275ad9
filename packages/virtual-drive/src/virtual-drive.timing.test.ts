import { describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from './clock';
import type { BufferSample } from './drive-types';
import { MemoryMedium } from './memory-medium';
import { LTO7, LTO8, LTO9, makeProfile } from './profile';
import { SyntheticMedium } from './synthetic-medium';
import { VirtualDrive } from './virtual-drive';

const MiB = 1024 * 1024;

function syntheticDrive(
  profile = LTO9,
  capacityBytes = 20e12,
  extra: { onBufferSample?: (s: BufferSample) => void } = {},
) {
  const clock = new VirtualClock();
  const medium = new SyntheticMedium({ barcode: 'SIM001L9', capacityBytes });
  const drive = new VirtualDrive({ name: 'virtual:timing', clock, profile, medium, ...extra });
  return { clock, medium, drive };
}

/** Writes `images` images of `imageBytes` in 1 MiB blocks, each followed by a filemark of the given kind. */
async function writeImages(drive: VirtualDrive, images: number, imageBytes: number, immediate: boolean) {
  const block = new Uint8Array(MiB);
  for (let i = 0; i < images; i++) {
    for (let written = 0; written < imageBytes; written += MiB) await drive.writeBlock(block);
    await drive.writeFilemarks(1, { immediate });
  }
}

describe('timing model: immediate vs synchronous filemarks (acceptance)', () => {
  const images = 100;
  const imageBytes = 512 * MiB;
  const dataMs = ((images * imageBytes) / LTO9.mediaRateBytesPerSec) * 1000;

  it('100 images with immediate filemarks and one sync cost data/rate + one sync', async () => {
    const { clock, drive, medium } = syntheticDrive();
    await drive.open();
    const t0 = clock.now();
    await writeImages(drive, images, imageBytes, true);
    await drive.writeFilemarks(0, { immediate: false });
    const elapsed = clock.now() - t0;
    const expected = dataMs + LTO9.syncOverheadMs;
    expect(Math.abs(elapsed - expected) / expected).toBeLessThan(0.01);
    expect(drive.stats.syncs).toBe(1);
    expect(drive.stats.immediateFilemarks).toBe(images);
    expect(drive.stats.backhitches).toBe(0);
    expect(medium.objectCount()).toBe(images * (imageBytes / MiB + 1));
    expect(medium.syncCount).toBe(1);
  });

  it('100 images each with a synchronous filemark cost data/rate + 100 syncs', async () => {
    const { clock, drive, medium } = syntheticDrive();
    await drive.open();
    const t0 = clock.now();
    await writeImages(drive, images, imageBytes, false);
    const elapsed = clock.now() - t0;
    const expected = dataMs + images * LTO9.syncOverheadMs;
    expect(Math.abs(elapsed - expected) / expected).toBeLessThan(0.01);
    expect(drive.stats.syncs).toBe(images);
    expect(drive.stats.synchronousFilemarks).toBe(images);
    expect(medium.syncCount).toBe(images);
    // The deferred strategy saves 99 sync overheads: the gap is the whole point of the technique.
    expect(elapsed - (dataMs + LTO9.syncOverheadMs)).toBeGreaterThan(98 * LTO9.syncOverheadMs);
  });
});

describe('timing model: buffer and backpressure', () => {
  it('accepts writes at once until the buffer is full, then one block per drain time', async () => {
    const profile = makeProfile('LTO-9', { bufferBytes: 64 * MiB });
    const { clock, drive } = syntheticDrive(profile);
    await drive.open();
    const block = new Uint8Array(8 * MiB);
    for (let i = 0; i < 8; i++) await drive.writeBlock(block);
    // 64 MiB fit in the buffer: no model time has passed.
    expect(clock.now()).toBe(0);
    const before = await drive.readPosition();
    expect(before.bytesInBuffer).toBe(64 * MiB);
    await drive.writeBlock(block);
    // The ninth block only fits once the first 8 MiB are on the medium.
    const blockMs = ((8 * MiB) / profile.mediaRateBytesPerSec) * 1000;
    expect(clock.now()).toBeCloseTo(blockMs, 6);
    const last = drive.commandLog.at(-1)!;
    expect(last.op).toBe('writeBlock');
    expect(last.end - last.start).toBeCloseTo(blockMs, 6);
    const after = await drive.readPosition();
    expect(after.bytesInBuffer).toBe(64 * MiB);
    expect(after.blocksInBuffer).toBe(8);
  });

  it('a write does not resolve before its data fits (observed from a concurrent timer)', async () => {
    const profile = makeProfile('LTO-9', { bufferBytes: 16 * MiB });
    const { clock, drive } = syntheticDrive(profile);
    await drive.open();
    const block = new Uint8Array(8 * MiB);
    await drive.writeBlock(block);
    await drive.writeBlock(block);
    let resolvedAt: number | undefined;
    const third = drive.writeBlock(block).then(() => {
      resolvedAt = clock.now();
    });
    const half = ((4 * MiB) / profile.mediaRateBytesPerSec) * 1000;
    await clock.sleep(half);
    expect(resolvedAt).toBeUndefined();
    await third;
    expect(resolvedAt).toBeCloseTo(half * 2, 6);
  });

  it('reports the buffer fill through the sampler', async () => {
    const samples: BufferSample[] = [];
    const { drive } = syntheticDrive(LTO9, 20e12, { onBufferSample: (s) => samples.push(s) });
    await drive.open();
    await drive.writeBlock(new Uint8Array(MiB));
    await drive.writeBlock(new Uint8Array(MiB));
    await drive.writeFilemarks(0, { immediate: false });
    const bytes = samples.map((s) => s.bytes);
    expect(bytes).toContain(2 * MiB);
    expect(bytes.at(-1)).toBe(0);
    expect(samples.at(-1)!.time).toBeGreaterThan(samples[0]!.time);
  });

  it('backhitches when the buffer runs dry while the host streams, and not after a sync', async () => {
    const { clock, drive } = syntheticDrive();
    await drive.open();
    const block = new Uint8Array(4 * MiB);
    await drive.writeBlock(block);
    // The host stalls for 5 s: the 4 MiB drained long ago, the tape stopped.
    await clock.sleep(5000);
    await drive.writeBlock(block);
    expect(drive.stats.backhitches).toBe(1);
    const t = clock.now();
    await drive.writeFilemarks(0, { immediate: false });
    const blockMs = ((4 * MiB) / LTO9.mediaRateBytesPerSec) * 1000;
    expect(clock.now() - t).toBeCloseTo(LTO9.backhitchMs + blockMs + LTO9.syncOverheadMs, 6);
    // After a sync the tape stopped on purpose: the next write starts without a backhitch.
    await clock.sleep(5000);
    await drive.writeBlock(block);
    expect(drive.stats.backhitches).toBe(1);
  });

  it('charges an immediate filemark its fixed cost and a synchronous one drain plus overhead', async () => {
    const { clock, drive } = syntheticDrive();
    await drive.open();
    await drive.writeBlock(new Uint8Array(8 * MiB));
    let t = clock.now();
    await drive.writeFilemarks(1, { immediate: true });
    expect(clock.now() - t).toBe(LTO9.immediateFilemarkMs);
    t = clock.now();
    await drive.writeFilemarks(1, { immediate: false });
    const drainMs = ((8 * MiB) / LTO9.mediaRateBytesPerSec) * 1000;
    expect(clock.now() - t).toBeCloseTo(drainMs - LTO9.immediateFilemarkMs + LTO9.syncOverheadMs, 6);
    expect(drive.stats.totalSyncMs).toBeCloseTo(clock.now() - t, 6);
    // A flush with nothing written since costs no overhead.
    t = clock.now();
    await drive.writeFilemarks(0, { immediate: false });
    expect(clock.now() - t).toBe(0);
  });

  it('positioning time grows with distance; load and rewind take their time', async () => {
    const clock = new VirtualClock();
    const medium = new SyntheticMedium({ barcode: 'POS001L9', capacityBytes: 18e12 });
    await medium.appendRun('data', 256 * 1024, 4_000_000); // ~1 TB
    const drive = new VirtualDrive({ name: 'virtual:pos', clock, medium });
    await drive.open();
    let t = clock.now();
    await drive.locate(1000);
    const near = clock.now() - t;
    t = clock.now();
    await drive.locate(3_000_000);
    const far = clock.now() - t;
    expect(near).toBeGreaterThanOrEqual(LTO9.positionBaseMs);
    expect(far).toBeGreaterThan(near);
    const fraction = (256 * 1024 * (3_000_000 - 1000)) / 18e12;
    expect(far).toBeCloseTo(LTO9.positionBaseMs + fraction * LTO9.fullWindMs, 6);
    t = clock.now();
    await drive.rewind();
    expect(clock.now() - t).toBeCloseTo(
      LTO9.positionBaseMs + ((256 * 1024 * 3_000_000) / 18e12) * LTO9.fullWindMs,
      6,
    );
    await drive.unload();
    t = clock.now();
    await drive.load();
    expect(clock.now() - t).toBeCloseTo(LTO9.loadMs, 6);
  });

  it('runs with the rate model off in zero model time', async () => {
    const clock = new VirtualClock();
    const drive = new VirtualDrive({
      name: 'virtual:untimed',
      clock,
      profile: 'untimed',
      medium: new MemoryMedium({ barcode: 'UNT001L9', capacityBytes: 1e9 }),
    });
    await drive.open();
    for (let i = 0; i < 100; i++) await drive.writeBlock(new Uint8Array(64 * 1024));
    await drive.writeFilemarks(1, { immediate: false });
    await drive.rewind();
    await drive.space('filemarks', 1);
    expect(clock.now()).toBe(0);
    expect((await drive.readPosition()).blockNumber).toBe(101);
  });

  it('profiles are ordered as the generations are', () => {
    expect(LTO9.mediaRateBytesPerSec).toBe(400e6);
    expect(LTO9.capacityBytes).toBe(18e12);
    expect(LTO8.mediaRateBytesPerSec).toBe(360e6);
    expect(LTO8.capacityBytes).toBe(12e12);
    expect(LTO7.mediaRateBytesPerSec).toBe(300e6);
    expect(LTO7.capacityBytes).toBe(6e12);
    expect(() => makeProfile('LTO-9', { bufferBytes: -1 })).toThrow(/profile\.bufferBytes/);
    expect(() => makeProfile('LTO-9', { syncOverheadMs: Number.NaN })).toThrow(/profile\.syncOverheadMs/);
  });

  it('runs the same drive code on a scaled real clock', async () => {
    const clock = new RealClock({ scale: 1000 });
    const drive = new VirtualDrive({
      name: 'virtual:real',
      clock,
      medium: new MemoryMedium({ barcode: 'REAL01L9', capacityBytes: 1e9 }),
    });
    await drive.open();
    await drive.writeBlock(new Uint8Array(4096));
    const t = clock.now();
    const wall = performance.now();
    await drive.writeFilemarks(1, { immediate: false });
    // 1.5 s of model time passes; at scale 1000 that is about 1.5 ms of wall time.
    expect(clock.now() - t).toBeGreaterThanOrEqual(LTO9.syncOverheadMs);
    expect(performance.now() - wall).toBeLessThan(LTO9.syncOverheadMs);
  });
});
