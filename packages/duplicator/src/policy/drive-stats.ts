/**
 * Per-drive and per-medium measurements that feed the policy's `DriveContext`.
 */
import {
  DEFAULT_ERROR_PRIOR,
  ErrorRateEstimator,
  type ErrorRateSnapshot,
  type GammaPrior,
  validatePrior,
} from './error-rate-estimator';
import { nonNegative, SettingsError } from './errors';
import {
  SyncCostEstimator,
  type SyncCostEstimatorOptions,
  type SyncCostSnapshot,
  type SyncObservation,
} from './sync-cost-estimator';
import type { DriveContext } from './types';

export interface DriveStatsOptions {
  readonly syncCost?: Partial<SyncCostEstimatorOptions>;
  /** Prior for each drive's and each medium's error rate. */
  readonly errorPrior?: GammaPrior;
}

export interface DriveStatsSnapshot {
  readonly drives: Readonly<
    Record<string, { readonly sync: SyncCostSnapshot; readonly errors: ErrorRateSnapshot }>
  >;
  readonly media: Readonly<Record<string, ErrorRateSnapshot>>;
}

interface DriveEntry {
  readonly cost: SyncCostEstimator;
  readonly errors: ErrorRateEstimator;
}

/**
 * Keeps a sync-cost estimate per drive and an error-rate estimate per drive and per medium.
 *
 * An error is charged to both the drive and the medium it happened on, since a single event cannot
 * tell which one was at fault; the rate used for a decision is the larger of the two, so a bad
 * cartridge shortens batches in every drive and a bad drive shortens them with every cartridge,
 * while a clean cartridge in a clean drive keeps the (prior-bounded) low rate.
 */
export class DriveStats {
  readonly #options: DriveStatsOptions;
  readonly #prior: GammaPrior;
  readonly #drives = new Map<string, DriveEntry>();
  readonly #media = new Map<string, ErrorRateEstimator>();

  constructor(options: DriveStatsOptions = {}) {
    this.#options = options;
    this.#prior = validatePrior(options.errorPrior ?? DEFAULT_ERROR_PRIOR);
    // Fail at construction, not at the first sync, when the sync-cost options are bad.
    new SyncCostEstimator(options.syncCost);
  }

  /** A synchronous filemark completed on `driveId`. */
  observeSync(driveId: string, obs: SyncObservation): void {
    this.#drive(driveId).cost.observe(obs);
  }

  /** `bytes` were written on `driveId` to `mediumId` (the exposure of the error-rate estimate). */
  observeWrite(driveId: string, mediumId: string, bytes: number): void {
    nonNegative('bytes', bytes);
    this.#drive(driveId).errors.addBytes(bytes);
    this.#medium(mediumId).addBytes(bytes);
  }

  /** A write error, failed sync or deferred error happened on `driveId` with `mediumId` loaded. */
  observeError(driveId: string, mediumId: string, count = 1): void {
    nonNegative('count', count);
    this.#drive(driveId).errors.addErrors(count);
    this.#medium(mediumId).addErrors(count);
  }

  /** Seeds a drive's history from the catalog. */
  restoreDrive(
    driveId: string,
    history: { readonly errors: number; readonly bytes: number; readonly syncCostSeconds?: number },
  ): void {
    const entry = this.#drive(driveId);
    entry.errors.restore(history);
    if (history.syncCostSeconds !== undefined) entry.cost.observe({ seconds: history.syncCostSeconds });
  }

  /** Seeds a medium's history from the catalog. */
  restoreMedium(mediumId: string, history: { readonly errors: number; readonly bytes: number }): void {
    this.#medium(mediumId).restore(history);
  }

  /** The policy's view of `driveId` with `mediumId` loaded, at native rate `rateBytesPerSecond`. */
  context(driveId: string, mediumId: string, rateBytesPerSecond: number): DriveContext {
    if (!(rateBytesPerSecond > 0) || !Number.isFinite(rateBytesPerSecond)) {
      throw new SettingsError(
        'INVALID_SETTING',
        'rateBytesPerSecond',
        `drive ${driveId}`,
        rateBytesPerSecond,
        'must be a number above 0',
      );
    }
    const drive = this.#drive(driveId);
    const medium = this.#medium(mediumId);
    return {
      rateBytesPerSecond,
      syncCostSeconds: drive.cost.syncCostSeconds,
      errorRatePerByte: Math.max(drive.errors.errorRatePerByte, medium.errorRatePerByte),
    };
  }

  snapshot(): DriveStatsSnapshot {
    const drives: Record<string, { sync: SyncCostSnapshot; errors: ErrorRateSnapshot }> = {};
    for (const [id, e] of [...this.#drives].sort(([a], [b]) => (a < b ? -1 : 1))) {
      drives[id] = { sync: e.cost.snapshot(), errors: e.errors.snapshot() };
    }
    const media: Record<string, ErrorRateSnapshot> = {};
    for (const [id, e] of [...this.#media].sort(([a], [b]) => (a < b ? -1 : 1))) media[id] = e.snapshot();
    return { drives, media };
  }

  #drive(driveId: string): DriveEntry {
    let entry = this.#drives.get(driveId);
    if (entry === undefined) {
      entry = {
        cost: new SyncCostEstimator(this.#options.syncCost),
        errors: new ErrorRateEstimator(this.#prior),
      };
      this.#drives.set(driveId, entry);
    }
    return entry;
  }

  #medium(mediumId: string): ErrorRateEstimator {
    let entry = this.#media.get(mediumId);
    if (entry === undefined) {
      entry = new ErrorRateEstimator(this.#prior);
      this.#media.set(mediumId, entry);
    }
    return entry;
  }
}
