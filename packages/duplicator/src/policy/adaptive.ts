/**
 * The `adaptive` policy's own rule: end the batch where the cost model says the expected time per
 * byte is lowest (see cost-model.ts for the derivation), shortened for high-priority images.
 */
import {
  type CostParams,
  expectedReworkSeconds,
  optimalBatchBytes,
  priorityFactor,
  tailMergeSaves,
} from './cost-model';
import type { SyncSettings } from './settings';
import type { DecisionInput, ReasonCode } from './types';

export interface AdaptiveOutcome {
  /** Cost-model sync reasons, in order: `too-large`, `cost-model`, `priority`. */
  readonly triggers: ReasonCode[];
  /** True when the batch should run on to the end of the work instead (the `tail-merge` defer). */
  readonly tailMerge: boolean;
  readonly explain: Record<string, number>;
}

/**
 * Where to end the batch. With B* the optimum and X = bytes of the batch if this image ends it, the
 * batch ends here when ending after one more (mean-sized) image would cost more than ending now:
 * for t(B) = C/B + kB, t(X) ≤ t(X + s̄) ⇔ X·(X + s̄) ≥ C/k = B*². So the batch stops at the image
 * boundary nearest the optimum in cost, not merely the first boundary past it.
 *
 * Priority scales the target to B*·f(p) (f halves every 50 points of the batch's highest priority);
 * when that alone ends the batch the reason is `priority`. An image whose own size reaches B* gets
 * `too-large`: its write time already makes the sync a small fraction of it (the patent's rule).
 *
 * `tail-merge`: past the target, if the rest of the work is small, one batch to the end beats a sync
 * now plus one at the end (2kXY < C, see `tailMergeSaves`); priority tightens this as it tightens the
 * target (the sync is weighed f² cheaper, as B* ∝ √C). It never overrides a hard cap; the caller checks
 * those first.
 */
export function adaptiveRule(
  input: DecisionInput,
  settings: SyncSettings,
  ageSeconds: number,
): AdaptiveOutcome {
  const { image, drive, batch, remaining } = input;
  const batchImages = batch.deferredImages + 1;
  const batchBytes = batch.deferredBytes + image.sizeBytes;
  const params: CostParams = {
    syncCostSeconds: drive.syncCostSeconds,
    rateBytesPerSecond: drive.rateBytesPerSecond,
    errorRatePerByte: drive.errorRatePerByte,
    meanImageBytes: batchBytes / batchImages,
  };
  const optimum = optimalBatchBytes(params);
  const factor = priorityFactor(Math.max(batch.maxPriority, image.priority));
  const target = optimum * factor;
  const s = params.meanImageBytes;
  const triggers: ReasonCode[] = [];
  if (image.sizeBytes >= optimum) triggers.push('too-large');
  if (batchBytes * (batchBytes + s) >= optimum * optimum) triggers.push('cost-model');
  else if (batchBytes * (batchBytes + s) >= target * target) triggers.push('priority');

  let tailMerge = false;
  if (triggers.length > 0 && !remaining.isLast && remaining.images > 0) {
    const fitsCaps =
      batch.deferredImages + remaining.images <= settings.maxDeferredImages &&
      batchBytes + remaining.bytes <= settings.maxDeferredBytes &&
      ageSeconds + (remaining.bytes + image.sizeBytes) / drive.rateBytesPerSecond <
        settings.maxSecondsWithoutSync;
    tailMerge = fitsCaps && tailMergeSaves(params, batchBytes, remaining.bytes, factor * factor);
  }

  return {
    triggers,
    tailMerge,
    explain: {
      optimumBytes: optimum,
      priorityFactor: factor,
      targetBytes: target,
      meanImageBytes: s,
      expectedReworkSeconds: expectedReworkSeconds(params, batchBytes),
      syncFractionOfImage:
        image.sizeBytes > 0
          ? drive.syncCostSeconds / (image.sizeBytes / drive.rateBytesPerSecond)
          : Number.POSITIVE_INFINITY,
    },
  };
}
