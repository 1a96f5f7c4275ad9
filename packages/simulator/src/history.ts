/**
 * A drive's history before a run: what the catalog would hold for it at a real site (bytes written,
 * errors seen), restored into the duplicator's drive statistics before the first image, exactly as
 * the coordinator does at start-up (`DriveStats.restoreDrive`).
 */
import { invalidWorkload } from './errors';
import { createRandom, type Random } from './random';

/**
 * Each drive's record before the run. `errors: 'drawn'` draws the count from the workload's own
 * media-error rate over `bytesWritten` (a Poisson draw per drive, seeded by the run's seed): the
 * drive wrote a previous job under the same error process.
 */
export interface DriveHistory {
  /** Bytes each drive wrote before this run. */
  readonly bytesWritten: number;
  /** Errors each drive saw in those bytes, or `drawn` from the workload's fault rate. */
  readonly errors: number | 'drawn';
  /** The drive's sync cost as last measured, seconds (default: none kept, measured afresh). */
  readonly syncCostSeconds?: number | undefined;
}

/** What is restored for one drive. */
export interface RestoredHistory {
  readonly bytes: number;
  readonly errors: number;
  readonly syncCostSeconds?: number;
}

/** Above this mean a Poisson count is drawn from its normal approximation (exact enough, bounded time). */
const NORMAL_APPROXIMATION_MEAN = 1e4;

/** A Poisson(mean) count: the number of unit-rate exponential gaps that fit in `mean`. */
export function poisson(random: Random, mean: number): number {
  if (!(mean > 0)) return 0;
  if (mean > NORMAL_APPROXIMATION_MEAN) {
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * random.normal()));
  }
  // Unit-rate arrivals: each gap is exponential; 1 - u keeps the logarithm's argument in (0, 1].
  const gap = () => -Math.log(1 - random.next());
  let count = 0;
  let t = gap();
  while (t <= mean) {
    count++;
    t += gap();
  }
  return count;
}

/**
 * The history of drive `driveIndex` for a run with `seed`. The draw has its own random stream, so a
 * run's image sizes and media faults are the same with and without history.
 */
export function driveHistory(
  history: DriveHistory,
  faultRatePerByte: number,
  seed: number,
  driveIndex: number,
): RestoredHistory {
  const errors =
    history.errors === 'drawn'
      ? poisson(
          createRandom((seed * 2_654_435_761 + driveIndex * 40_503 + 0x5eed) >>> 0),
          faultRatePerByte * history.bytesWritten,
        )
      : history.errors;
  return {
    bytes: history.bytesWritten,
    errors,
    ...(history.syncCostSeconds === undefined ? {} : { syncCostSeconds: history.syncCostSeconds }),
  };
}

/** Validates a workload file's `history`; throws `INVALID_WORKLOAD` naming the field. */
export function parseHistory(v: unknown): DriveHistory | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw invalidWorkload('history', 'must be an object { bytesWritten, errors, syncCostSeconds? }', v);
  }
  const h = v as Record<string, unknown>;
  for (const key of Object.keys(h)) {
    if (!['bytesWritten', 'errors', 'syncCostSeconds'].includes(key)) {
      throw invalidWorkload(`history.${key}`, 'is not a history field', h[key]);
    }
  }
  const bytes = h.bytesWritten;
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) {
    throw invalidWorkload('history.bytesWritten', 'must be a number >= 0', bytes);
  }
  const errors = h.errors ?? 'drawn';
  if (errors !== 'drawn' && (typeof errors !== 'number' || !Number.isInteger(errors) || errors < 0)) {
    throw invalidWorkload('history.errors', 'must be an integer >= 0 or "drawn"', errors);
  }
  const sync = h.syncCostSeconds;
  if (sync !== undefined && (typeof sync !== 'number' || !Number.isFinite(sync) || sync < 0)) {
    throw invalidWorkload('history.syncCostSeconds', 'must be a number >= 0', sync);
  }
  return { bytesWritten: bytes, errors, ...(sync === undefined ? {} : { syncCostSeconds: sync }) };
}
