/**
 * Timing profiles: the numbers the drive model runs on. Every field is configurable; the named
 * profiles follow full-height LTO drives (native, uncompressed figures).
 */

export interface DriveProfile {
  /** Profile name, reported in logs and INQUIRY's product field. */
  name: string;
  /** Native (uncompressed) media rate in bytes per second; `Infinity` turns the rate model off. */
  mediaRateBytesPerSec: number;
  /** Nominal cartridge capacity in bytes (the medium's own capacity is what the drive enforces). */
  capacityBytes: number;
  /** Drive buffer size in bytes. */
  bufferBytes: number;
  /**
   * Distance of the early-warning point before the end of the medium, in bytes. Capped at a tenth
   * of the medium so that small test cartridges keep usable room before it.
   */
  earlyWarningBytes: number;
  /** Cost of WRITE FILEMARKS with IMMED=1 (the mark only enters the buffer). */
  immediateFilemarkMs: number;
  /** Overhead of a synchronous filemark on top of draining the buffer (stop, write, verify, reposition). */
  syncOverheadMs: number;
  /** Stop, back up and restart when the buffer runs dry while the host is still streaming. */
  backhitchMs: number;
  /** LOAD: thread the tape and read the cartridge memory. */
  loadMs: number;
  /** UNLOAD: from BOT, unthread and eject (rewinding first costs extra). */
  unloadMs: number;
  /** Fixed part of any repositioning (LOCATE, SPACE, REWIND) that moves the tape. */
  positionBaseMs: number;
  /** Time to wind the full length of the medium at high speed; positioning scales with distance. */
  fullWindMs: number;
  /** Largest block the drive accepts (READ BLOCK LIMITS). */
  maxBlockSize: number;
}

const GB = 1e9;
const TB = 1e12;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * LTO-9 full height: 400 MB/s, 18 TB, 1 GiB buffer. Immediate filemark ~3 ms, synchronous
 * ~1.5 s plus drain, backhitch ~2.5 s, load ~15 s, end-to-end wind ~100 s.
 */
export const LTO9: DriveProfile = Object.freeze({
  name: 'LTO-9',
  mediaRateBytesPerSec: 400e6,
  capacityBytes: 18 * TB,
  bufferBytes: GiB,
  earlyWarningBytes: 50 * GB,
  immediateFilemarkMs: 3,
  syncOverheadMs: 1500,
  backhitchMs: 2500,
  loadMs: 15_000,
  unloadMs: 17_000,
  positionBaseMs: 2000,
  fullWindMs: 100_000,
  maxBlockSize: 8 * MiB,
});

/** LTO-8 full height: 360 MB/s, 12 TB, 1 GiB buffer. */
export const LTO8: DriveProfile = Object.freeze({
  ...LTO9,
  name: 'LTO-8',
  mediaRateBytesPerSec: 360e6,
  capacityBytes: 12 * TB,
  earlyWarningBytes: 40 * GB,
  syncOverheadMs: 1600,
  fullWindMs: 97_000,
});

/** LTO-7 full height: 300 MB/s, 6 TB, 512 MiB buffer. */
export const LTO7: DriveProfile = Object.freeze({
  ...LTO9,
  name: 'LTO-7',
  mediaRateBytesPerSec: 300e6,
  capacityBytes: 6 * TB,
  bufferBytes: 512 * MiB,
  earlyWarningBytes: 30 * GB,
  syncOverheadMs: 1700,
  backhitchMs: 3000,
  loadMs: 12_000,
  unloadMs: 15_000,
  fullWindMs: 90_000,
});

/**
 * The rate model off: infinite media rate and zero overheads, for real-time data-path benchmarks
 * where the host side is what is measured. Buffer and capacity figures stay LTO-9's.
 */
export const UNTIMED: DriveProfile = Object.freeze({
  ...LTO9,
  name: 'untimed',
  mediaRateBytesPerSec: Number.POSITIVE_INFINITY,
  immediateFilemarkMs: 0,
  syncOverheadMs: 0,
  backhitchMs: 0,
  loadMs: 0,
  unloadMs: 0,
  positionBaseMs: 0,
  fullWindMs: 0,
});

export const PROFILES = Object.freeze({ 'LTO-7': LTO7, 'LTO-8': LTO8, 'LTO-9': LTO9, untimed: UNTIMED });
export type ProfileName = keyof typeof PROFILES;

/** Builds a profile from a base (a name or a profile) and overrides, validating every field. */
export function makeProfile(
  base: ProfileName | DriveProfile = 'LTO-9',
  overrides: Partial<DriveProfile> = {},
) {
  const from = typeof base === 'string' ? PROFILES[base] : base;
  if (!from) throw new RangeError(`profile: unknown profile name "${String(base)}"`);
  const profile: DriveProfile = { ...from, ...overrides };
  validateProfile(profile);
  return Object.freeze(profile);
}

export function validateProfile(p: DriveProfile): void {
  const positive = ['mediaRateBytesPerSec', 'capacityBytes', 'bufferBytes', 'maxBlockSize'] as const;
  for (const key of positive) {
    const v = p[key];
    if (typeof v !== 'number' || Number.isNaN(v) || v <= 0) {
      throw new RangeError(`profile.${key} must be a positive number, got ${String(v)}`);
    }
  }
  const nonNegative = [
    'earlyWarningBytes',
    'immediateFilemarkMs',
    'syncOverheadMs',
    'backhitchMs',
    'loadMs',
    'unloadMs',
    'positionBaseMs',
    'fullWindMs',
  ] as const;
  for (const key of nonNegative) {
    const v = p[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`profile.${key} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  if (!Number.isInteger(p.maxBlockSize)) throw new RangeError('profile.maxBlockSize must be an integer');
  if (p.maxBlockSize > p.bufferBytes) {
    throw new RangeError('profile.maxBlockSize must not exceed profile.bufferBytes');
  }
}
