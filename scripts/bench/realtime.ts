/**
 * The real-time benchmarks (issue 7 items 4 and 5) on this machine: the data path against dd, the
 * next-image pickup latency, the writer's peak RSS on one large image and the duplicator's RSS and
 * submit time with 100,000 images queued. Real processes, real sockets, wall-clock time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DataPathRow, type DataPathSizes, runDataPath } from './data-path';
import {
  type DuplicatorMemoryFigures,
  runDuplicatorMemory,
  runWriterMemory,
  type WriterMemoryFigures,
} from './memory';
import { type PickupFigures, runPickup } from './pickup';
import type { BenchMode } from './policy';
import { BENCH_DRIVE_PROFILE, ensureBuilt } from './processes';

export interface RealtimeSizes {
  readonly dataPath: DataPathSizes;
  readonly pickupImages: number;
  readonly writerImageBytes: number;
  readonly duplicatorImages: number;
}

/** Sizes per mode: full is the (2 GB data path, 20 GB image, 100,000 images). */
export const REALTIME_SIZES: Readonly<Record<BenchMode, RealtimeSizes>> = {
  full: {
    dataPath: { files: 16, fileBytes: 125e6, repetitions: 3 },
    pickupImages: 1000,
    writerImageBytes: 20e9,
    duplicatorImages: 100_000,
  },
  quick: {
    dataPath: { files: 8, fileBytes: 125e6, repetitions: 3 },
    pickupImages: 300,
    writerImageBytes: 2e9,
    duplicatorImages: 100_000,
  },
  smoke: {
    dataPath: { files: 4, fileBytes: 50e6, repetitions: 1 },
    pickupImages: 50,
    writerImageBytes: 2e8,
    duplicatorImages: 20_000,
  },
};

/** One-minute load average before and after a part: the machine may be shared. */
export interface Load {
  readonly before: number;
  readonly after: number;
}

export interface RealtimeFigures {
  readonly mode: BenchMode;
  /** The writer's virtual drive profile (\`untimed\`: rate model off). */
  readonly profile: string;
  readonly tempDir: string;
  readonly dataPath: readonly DataPathRow[];
  readonly pickup: PickupFigures;
  readonly writerMemory: WriterMemoryFigures;
  readonly duplicator: DuplicatorMemoryFigures;
  readonly load: Readonly<Record<'dataPath' | 'pickup' | 'writerMemory' | 'duplicator', Load>>;
}

async function withLoad<T>(work: () => Promise<T>): Promise<[T, Load]> {
  const before = loadavg()[0]!;
  const value = await work();
  return [value, { before, after: loadavg()[0]! }];
}

export async function runRealtime(
  mode: BenchMode,
  progress: (line: string) => void = () => {},
): Promise<RealtimeFigures> {
  ensureBuilt();
  const sizes = REALTIME_SIZES[mode];
  // Under the system temp directory: the DSU files, the cartridges and dd's copies share one filesystem.
  const base = mkdtempSync(join(tmpdir(), 'tapedup-bench-'));
  try {
    const [dataPath, dataLoad] = await withLoad(() => runDataPath(base, sizes.dataPath, progress));
    const [pickup, pickupLoad] = await withLoad(() => runPickup(base, sizes.pickupImages, progress));
    const [writerMemory, writerLoad] = await withLoad(() =>
      runWriterMemory(base, sizes.writerImageBytes, progress),
    );
    const [duplicator, dupLoad] = await withLoad(() =>
      runDuplicatorMemory(base, sizes.duplicatorImages, progress),
    );
    return {
      mode,
      profile: BENCH_DRIVE_PROFILE,
      tempDir: tmpdir(),
      dataPath,
      pickup,
      writerMemory,
      duplicator,
      load: { dataPath: dataLoad, pickup: pickupLoad, writerMemory: writerLoad, duplicator: dupLoad },
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
