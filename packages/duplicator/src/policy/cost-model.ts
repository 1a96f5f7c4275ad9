/**
 * The expected-time cost model behind the `adaptive` policy.
 *
 * Model. A batch holds B bytes in images of mean size s̄, written at the drive's native rate R
 * (bytes/s) and ended by one sync that costs C seconds of drive time. Write errors arrive as a
 * Poisson process in bytes with rate λ (errors per byte). Any error fails every image written since
 * the last good sync; each failed image is rewritten and, being a retry, synced on its own.
 *
 *   probability that a batch fails       p(B) = 1 − e^(−λB) ≈ λB          (λB ≪ 1)
 *   work lost when it fails              the error is uniform over the batch, so on average B/2
 *                                        bytes were written before it: B/(2R) seconds of writing,
 *                                        plus one sync per lost image on retry: (B/(2s̄))·C
 *   expected time of a batch             T(B) = B/R + C + λB · (B/2) · (1/R + C/s̄)
 *   expected time per byte               t(B) = 1/R + C/B + (λB/2) · (1/R + C/s̄)
 *
 * t(B) is convex in B; setting dt/dB = −C/B² + (λ/2)(1/R + C/s̄) to zero gives the optimum
 *
 *   B* = √( 2C / (λ (1/R + C/s̄)) ) = √( 2CR / (λ (1 + CR/s̄)) )
 *
 * At B* the amortised sync cost per byte, C/B*, equals the expected rework per byte,
 * (λ·B* / 2)(1/R + C/s̄): growing the batch further would add more expected rework than the syncs it
 * saves. With large images (s̄ ≫ CR) this is the classic √(2CR/λ); with small images every lost image
 * costs a retry sync, which shrinks B* by √(1 + CR/s̄). The overhead above the physical limit at the
 * optimum is t(B*) − 1/R = 2C/B*. Second-order terms (a retry failing again, p(B) ≠ λB) are ignored:
 * they matter only when λB* is not small, and then B* is already small.
 */

/** Cost-model parameters, all in SI units (bytes, seconds). */
export interface CostParams {
  /** Sync cost C, seconds. */
  readonly syncCostSeconds: number;
  /** Native drive rate R, bytes per second. */
  readonly rateBytesPerSecond: number;
  /** Error rate λ, errors per byte. */
  readonly errorRatePerByte: number;
  /** Mean image size s̄ of the batch, bytes. */
  readonly meanImageBytes: number;
}

/** Per-image retry weight (1/R + C/s̄): seconds of rework per lost byte. */
function reworkSecondsPerLostByte(p: CostParams): number {
  const perImageSync = p.meanImageBytes > 0 ? p.syncCostSeconds / p.meanImageBytes : 0;
  return 1 / p.rateBytesPerSecond + perImageSync;
}

/**
 * The batch size B* (bytes) that minimises the expected time per byte; `Infinity` when λ is 0
 * (never happens with the Gamma-prior estimator) and 0 when syncs cost nothing.
 */
export function optimalBatchBytes(p: CostParams): number {
  if (p.syncCostSeconds <= 0) return 0;
  if (p.errorRatePerByte <= 0) return Number.POSITIVE_INFINITY;
  return Math.sqrt((2 * p.syncCostSeconds) / (p.errorRatePerByte * reworkSecondsPerLostByte(p)));
}

/** Expected seconds per byte t(B) for batches of `batchBytes` (see the module comment). */
export function expectedSecondsPerByte(p: CostParams, batchBytes: number): number {
  return (
    1 / p.rateBytesPerSecond +
    p.syncCostSeconds / batchBytes +
    ((p.errorRatePerByte * batchBytes) / 2) * reworkSecondsPerLostByte(p)
  );
}

/** Expected rework (seconds) that a batch of `batchBytes` carries: λB · (B/2)(1/R + C/s̄). */
export function expectedReworkSeconds(p: CostParams, batchBytes: number): number {
  return p.errorRatePerByte * batchBytes * (batchBytes / 2) * reworkSecondsPerLostByte(p);
}

/**
 * Rework if a batch of `images` images and `bytes` bytes fails: rewrite all of it, one sync per
 * image (retries are synced on their own). Used by the deadline rule, which must hold even when
 * the unlikely failure happens.
 */
export function reworkOnFailureSeconds(
  bytes: number,
  images: number,
  rateBytesPerSecond: number,
  syncCostSeconds: number,
): number {
  return bytes / rateBytesPerSecond + images * syncCostSeconds;
}

/**
 * Whether ending the batch later is cheaper than syncing now and again at the end of the work:
 * one batch X+Y costs C + k(X+Y)², two batches X and Y cost 2C + kX² + kY², with
 * k = (λ/2)(1/R + C/s̄); merging wins while 2kXY < C. `syncWeight` (≤ 1) makes the saved sync count
 * for less, which is how priority tightens the rule.
 */
export function tailMergeSaves(
  p: CostParams,
  batchBytes: number,
  tailBytes: number,
  syncWeight = 1,
): boolean {
  const k = (p.errorRatePerByte / 2) * reworkSecondsPerLostByte(p);
  return 2 * k * batchBytes * tailBytes < p.syncCostSeconds * syncWeight;
}

/** Points of priority that halve the adaptive target: priority 0 → ×1, 50 → ×½, 100 → ×¼. */
export const PRIORITY_HALVING_POINTS = 50;

/**
 * Factor applied to B* for a batch holding an image of `priority` (0..100). Higher-priority images
 * must be committed sooner, so their batches are shorter; the factor is geometric so that each step
 * of priority shortens the batch by the same ratio.
 */
export function priorityFactor(priority: number): number {
  const p = Math.min(100, Math.max(0, priority));
  return 2 ** (-p / PRIORITY_HALVING_POINTS);
}
