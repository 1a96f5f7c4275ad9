/**
 * Online estimate of an error rate λ (errors per byte written) with a Gamma prior.
 */
import { isRecord, nonNegative, positiveSetting, SettingsError } from './errors';

/**
 * Gamma(α₀, β₀) prior on λ: as if `errors` = α₀ errors had already been seen in `bytes` = β₀ bytes.
 * Prior mean λ₀ = α₀/β₀.
 */
export interface GammaPrior {
  readonly errors: number;
  readonly bytes: number;
}

/**
 * Default prior: one error per 10¹² bytes (1 TB), weighted as 1 TB of history. A new drive or
 * cartridge with no errors therefore starts at λ = 10⁻¹² (a finite batch target, never λ = 0 and an
 * unbounded batch), and its own history outweighs the prior after about a terabyte of writing.
 * Operational tape error rates (media, drive and transport faults, not the drive's bit error rate)
 * are in the range of one per tens of gigabytes to one per tens of terabytes, which this prior spans
 * within a factor of a few hundred GB of history.
 */
export const DEFAULT_ERROR_PRIOR: GammaPrior = Object.freeze({ errors: 1, bytes: 1e12 });

export interface ErrorRateSnapshot {
  /** Errors observed (prior not included). */
  readonly errors: number;
  /** Bytes observed (prior not included). */
  readonly bytes: number;
  /** Posterior mean (α₀ + errors) / (β₀ + bytes), errors per byte. */
  readonly errorRatePerByte: number;
}

/**
 * Errors are modelled as a Poisson process in bytes written; with a Gamma(α₀, β₀) prior the posterior
 * after k errors in E bytes is Gamma(α₀ + k, β₀ + E), whose mean (α₀ + k)/(β₀ + E) is the estimate.
 */
export class ErrorRateEstimator {
  readonly #prior: GammaPrior;
  #errors = 0;
  #bytes = 0;

  constructor(prior: GammaPrior = DEFAULT_ERROR_PRIOR) {
    this.#prior = validatePrior(prior);
  }

  /** Counts bytes written (the exposure), whether or not an error followed. */
  addBytes(bytes: number): void {
    this.#bytes += nonNegative('bytes', bytes);
  }

  /** Counts errors. */
  addErrors(count = 1): void {
    this.#errors += nonNegative('count', count);
  }

  /** Seeds the history (e.g. from the catalog at start-up); replaces what was observed so far. */
  restore(history: { readonly errors: number; readonly bytes: number }): void {
    this.#errors = nonNegative('errors', history.errors);
    this.#bytes = nonNegative('bytes', history.bytes);
  }

  get errorRatePerByte(): number {
    return (this.#prior.errors + this.#errors) / (this.#prior.bytes + this.#bytes);
  }

  snapshot(): ErrorRateSnapshot {
    return { errors: this.#errors, bytes: this.#bytes, errorRatePerByte: this.errorRatePerByte };
  }
}

export function validatePrior(prior: unknown): GammaPrior {
  if (!isRecord(prior)) {
    throw new SettingsError(
      'INVALID_SETTING',
      'errorPrior',
      'ErrorRateEstimator',
      prior,
      'must be an object',
    );
  }
  return {
    errors: positiveSetting('ErrorRateEstimator', 'errorPrior.errors', prior.errors, 1e9),
    bytes: positiveSetting('ErrorRateEstimator', 'errorPrior.bytes', prior.bytes, Number.MAX_VALUE),
  };
}
