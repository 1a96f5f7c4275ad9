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
 * Default prior: mean one error per 10¹³ bytes (10 TB), with the weight of 100 GB of history
 * (α₀ = 0.01 error in β₀ = 10¹¹ bytes). A new drive or cartridge therefore starts at λ = 10⁻¹³ — a
 * finite batch target, never λ = 0 and an unbounded batch — and its own record takes over quickly:
 * a clean drive keeps lowering λ as α₀/(β₀ + E) (10⁻¹⁴ after 1 TB), and a drive failing once per
 * 100 GB is seen at about 0.8 of its true rate after 600 GB. A small shape α₀ is what lets the prior be
 * both optimistic (healthy tape errs far less often than once per 10 TB) and quickly overruled.
 */
export const DEFAULT_ERROR_PRIOR: GammaPrior = Object.freeze({ errors: 0.01, bytes: 1e11 });

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
