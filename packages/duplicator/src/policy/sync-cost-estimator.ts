/**
 * Online estimate of a drive's sync cost C from observed synchronous filemarks.
 */
import { intSetting, isRecord, nonNegative, positiveSetting, SettingsError } from './errors';

export interface SyncCostEstimatorOptions {
  /** C before any sync was observed, seconds (the drive profile's figure; LTO: 1–2 s). */
  readonly priorSeconds: number;
  /** EWMA weight of a new sample once warmed up, in (0, 1]. */
  readonly alpha: number;
  /** Samples combined by median before the EWMA takes over. */
  readonly warmupSamples: number;
  /** A sample further than this many deviations from the estimate is clipped to that distance. */
  readonly clipDeviations: number;
}

export const DEFAULT_SYNC_COST_OPTIONS: SyncCostEstimatorOptions = Object.freeze({
  priorSeconds: 1.5,
  alpha: 0.1,
  warmupSamples: 5,
  clipDeviations: 3,
});

/** One observed synchronous filemark. */
export interface SyncObservation {
  /** Wall (or model) time the synchronous filemark took, seconds. */
  readonly seconds: number;
  /** Bytes still in the drive buffer that the sync had to write out, when known. */
  readonly bytesFlushed?: number | undefined;
  /** Native rate of the drive, bytes/s; needed to discount `bytesFlushed`. */
  readonly rateBytesPerSecond?: number | undefined;
}

/** What the estimator currently believes, for logs and the catalog. */
export interface SyncCostSnapshot {
  readonly syncCostSeconds: number;
  /** Mean absolute deviation of recent samples, seconds. */
  readonly deviationSeconds: number;
  readonly samples: number;
}

/**
 * Robust exponentially weighted mean of sync costs.
 *
 * A sync's duration includes writing out whatever the buffer still held; that part is data the drive
 * had to write anyway, so the cost charged to the sync is `seconds − bytesFlushed / rate` (the time the
 * drive was not streaming new data). The first samples are combined by median (one wild first sample
 * cannot set the level); afterwards each sample is clipped to `clipDeviations` mean absolute deviations
 * around the estimate before the EWMA update (a Huber-style update), so a single outlier moves C by at
 * most `alpha · clipDeviations · deviation`, while a real, lasting change still pulls the estimate
 * (and the deviation) over a few samples.
 */
export class SyncCostEstimator {
  readonly #options: SyncCostEstimatorOptions;
  readonly #warmup: number[] = [];
  #mean: number;
  #deviation = 0;
  #samples = 0;

  constructor(options: Partial<SyncCostEstimatorOptions> = {}) {
    this.#options = validateSyncCostOptions(options);
    this.#mean = this.#options.priorSeconds;
  }

  /** Feeds one observed sync; returns the cost sample (seconds) it contributed. */
  observe(obs: SyncObservation): number {
    const seconds = nonNegative('seconds', obs.seconds);
    const flushed = obs.bytesFlushed === undefined ? 0 : nonNegative('bytesFlushed', obs.bytesFlushed);
    let drain = 0;
    if (flushed > 0) {
      if (obs.rateBytesPerSecond === undefined || !(obs.rateBytesPerSecond > 0)) {
        throw new SettingsError(
          'INVALID_SETTING',
          'rateBytesPerSecond',
          'sync observation',
          obs.rateBytesPerSecond,
          'must be a number above 0 when bytesFlushed is given',
        );
      }
      drain = flushed / obs.rateBytesPerSecond;
    }
    const sample = Math.max(0, seconds - drain);
    this.#samples += 1;
    const { warmupSamples, alpha, clipDeviations } = this.#options;
    if (this.#warmup.length < warmupSamples) {
      this.#warmup.push(sample);
      this.#mean = median(this.#warmup);
      this.#deviation = mean(this.#warmup.map((x) => Math.abs(x - this.#mean)));
      return sample;
    }
    // A floor on the deviation keeps a run of identical samples from freezing the estimate.
    const spread = clipDeviations * Math.max(this.#deviation, 0.02 * this.#mean, 1e-3);
    const clipped = Math.min(this.#mean + spread, Math.max(this.#mean - spread, sample));
    const residual = Math.abs(clipped - this.#mean);
    this.#mean += alpha * (clipped - this.#mean);
    this.#deviation += alpha * (residual - this.#deviation);
    return sample;
  }

  /** Current estimate of C, seconds. */
  get syncCostSeconds(): number {
    return this.#mean;
  }

  snapshot(): SyncCostSnapshot {
    return { syncCostSeconds: this.#mean, deviationSeconds: this.#deviation, samples: this.#samples };
  }
}

function validateSyncCostOptions(input: Partial<SyncCostEstimatorOptions>): SyncCostEstimatorOptions {
  if (!isRecord(input)) {
    throw new SettingsError('INVALID_SETTING', '(options)', 'SyncCostEstimator', input, 'must be an object');
  }
  const o = { ...DEFAULT_SYNC_COST_OPTIONS, ...input };
  const source = 'SyncCostEstimator';
  return {
    priorSeconds: positiveSetting(source, 'priorSeconds', o.priorSeconds, 3600),
    alpha: positiveSetting(source, 'alpha', o.alpha, 1),
    warmupSamples: intSetting(source, 'warmupSamples', o.warmupSamples, 1, 1000),
    clipDeviations: positiveSetting(source, 'clipDeviations', o.clipDeviations, 1000),
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const hi = s[mid] ?? 0;
  return s.length % 2 === 1 ? hi : ((s[mid - 1] ?? hi) + hi) / 2;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}
