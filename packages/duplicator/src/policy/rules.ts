/**
 * Rules shared by every deferring policy: the invariants (stream, retry) and the settings' caps.
 * Each rule returns its reason code when it forces a sync, with the numbers it looked at.
 */
import { batchAgeSeconds } from './batch-state';
import { reworkOnFailureSeconds } from './cost-model';
import type { SyncSettings } from './settings';
import type { DecisionInput, ReasonCode } from './types';

export interface RuleOutcome {
  readonly triggers: ReasonCode[];
  readonly explain: Record<string, number>;
}

/**
 * Evaluates, in this order: `stream`, `retry`, `too-large`, `end-of-work`, `max-seconds`,
 * `batch-image-limit`, `max-bytes`, `deadline`. All matching codes are returned, so a log line shows
 * every reason that applied, the first being the one reported as the decision's reason.
 */
export function commonSyncRules(input: DecisionInput, now: number, settings: SyncSettings): RuleOutcome {
  const { image, drive, batch, remaining } = input;
  const triggers: ReasonCode[] = [];
  const rate = drive.rateBytesPerSecond;
  const imageWriteSeconds = image.sizeBytes / rate;
  const ageSeconds = batchAgeSeconds(batch, now);
  const batchImages = batch.deferredImages + 1;
  const batchBytes = batch.deferredBytes + image.sizeBytes;

  // Invariant 3: a stream's data exists nowhere else, so it is never put at risk of a batch failure.
  if (image.kind === 'stream') triggers.push('stream');
  // Invariant 3: a retried image is synced on its own so a second failure cannot take others with it.
  if (image.attempt > 1) triggers.push('retry');
  if (image.sizeBytes > settings.maxDeferrableImageBytes) triggers.push('too-large');
  if (remaining.isLast) triggers.push('end-of-work');
  // The batch would still be open after this image is written: compare that age with the limit.
  if (ageSeconds + imageWriteSeconds >= settings.maxSecondsWithoutSync) triggers.push('max-seconds');
  if (batch.deferredImages + 1 > settings.maxDeferredImages) triggers.push('batch-image-limit');
  if (batchBytes > settings.maxDeferredBytes) triggers.push('max-bytes');

  // Deadline: if the batch failed, its rework (every image rewritten and synced alone) must still
  // fit before the earliest deadline it holds. Only deferral can cause that miss when the work
  // itself fits; when the work cannot fit anyway, syncing every image would only slow it further.
  const deadline = minDefined(image.deadline, batch.earliestDeadline);
  let slackSeconds = Number.POSITIVE_INFINITY;
  let reworkSeconds = 0;
  if (deadline !== undefined) {
    const finish = now / 1000 + (image.sizeBytes + remaining.bytes) / rate + drive.syncCostSeconds;
    reworkSeconds = reworkOnFailureSeconds(batchBytes, batchImages, rate, drive.syncCostSeconds);
    slackSeconds = deadline / 1000 - finish;
    if (slackSeconds >= 0 && slackSeconds < reworkSeconds) triggers.push('deadline');
  }

  return {
    triggers,
    explain: {
      imageBytes: image.sizeBytes,
      imageWriteSeconds,
      priority: image.priority,
      attempt: image.attempt,
      batchImagesIfDeferred: batchImages,
      batchBytesIfDeferred: batchBytes,
      batchAgeSeconds: ageSeconds,
      remainingImages: remaining.images,
      remainingBytes: remaining.bytes,
      syncCostSeconds: drive.syncCostSeconds,
      rateBytesPerSecond: rate,
      errorRatePerByte: drive.errorRatePerByte,
      deadlineSlackSeconds: slackSeconds,
      reworkOnFailureSeconds: reworkSeconds,
    },
  };
}

export function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
