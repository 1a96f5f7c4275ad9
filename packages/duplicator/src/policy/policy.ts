/**
 * The sync-deferral policy: per image, `defer` (immediate filemark) or `sync` (synchronous filemark),
 * and between images, whether the open batch must end now. Pure: time comes in as `now` (epoch ms).
 */
import { adaptiveRule } from './adaptive';
import { batchAgeSeconds } from './batch-state';
import { commonSyncRules } from './rules';
import type { SyncSettings } from './settings';
import type {
  BatchCheckInput,
  BatchVerdict,
  Clock,
  DecisionInput,
  ReasonCode,
  SyncDecision,
  SyncPolicyName,
} from './types';

/** A configured policy. Both methods are pure functions of their arguments and the settings. */
export interface SyncPolicy {
  readonly name: SyncPolicyName;
  readonly settings: SyncSettings;
  /** Decides how the image in `input` ends; call it before the image is written (it is sent with the assignment). */
  decide(input: DecisionInput, now: number): SyncDecision;
  /**
   * Whether the open batch must end now with a flush-only sync, independently of a new image: the
   * batch is too old, the work ended, or the next image must not join it (a retry, a stream, a
   * higher-priority image, a deadline that would be missed). Call it before each image and on ticks.
   */
  shouldSyncNow(input: BatchCheckInput, now: number): BatchVerdict;
}

/** Builds the policy named by `settings.policy`. Validate the settings first (`resolveSyncSettings`). */
export function createSyncPolicy(settings: SyncSettings): SyncPolicy {
  const name = settings.policy;
  return {
    name,
    settings,
    decide: (input, now) => decide(name, settings, input, now),
    shouldSyncNow: (input, now) => shouldSyncNow(name, settings, input, now),
  };
}

/** Binds a policy to a clock, for callers that do not carry `now` around. */
export function clocked(policy: SyncPolicy, clock: Clock) {
  return {
    policy,
    decide: (input: DecisionInput): SyncDecision => policy.decide(input, clock.now()),
    shouldSyncNow: (input: BatchCheckInput): BatchVerdict => policy.shouldSyncNow(input, clock.now()),
  };
}

function decide(
  name: SyncPolicyName,
  settings: SyncSettings,
  input: DecisionInput,
  now: number,
): SyncDecision {
  const common = commonSyncRules(input, now, settings);
  const explain: Record<string, number> = { ...common.explain };
  const triggers = [...common.triggers];
  const batchImages = input.batch.deferredImages + 1;
  const batchBytes = input.batch.deferredBytes + input.image.sizeBytes;

  switch (name) {
    case 'sync-every':
      return {
        decision: 'sync',
        reason: 'sync-every',
        triggers: ['sync-every', ...triggers],
        policy: name,
        explain,
      };
    case 'fixed':
      explain.fixedBatchImages = settings.fixedBatchImages;
      if (batchImages >= settings.fixedBatchImages) triggers.push('batch-image-limit');
      break;
    case 'cta':
      explain.ctaMaxFiles = settings.ctaMaxFiles;
      explain.ctaMaxBytes = settings.ctaMaxBytes;
      // CTA flushes on a file boundary once the count or the bytes are reached, so a batch may end
      // a little past the byte figure: the file that crosses it carries the flush.
      if (batchImages >= settings.ctaMaxFiles) triggers.push('batch-image-limit');
      if (batchBytes >= settings.ctaMaxBytes) triggers.push('max-bytes');
      break;
    case 'adaptive': {
      const adaptive = adaptiveRule(input, settings, batchAgeSeconds(input.batch, now));
      Object.assign(explain, adaptive.explain);
      if (common.triggers.length === 0 && adaptive.triggers.length > 0 && adaptive.tailMerge) {
        return { decision: 'defer', reason: 'tail-merge', triggers: [], policy: name, explain };
      }
      triggers.push(...adaptive.triggers);
      break;
    }
  }
  const unique = dedupe(triggers);
  const first = unique[0];
  if (first !== undefined)
    return { decision: 'sync', reason: first, triggers: unique, policy: name, explain };
  return { decision: 'defer', reason: 'batch-open', triggers: [], policy: name, explain };
}

function shouldSyncNow(
  name: SyncPolicyName,
  settings: SyncSettings,
  input: BatchCheckInput,
  now: number,
): BatchVerdict {
  const { batch, drive, next } = input;
  const ageSeconds = batchAgeSeconds(batch, now);
  const explain: Record<string, number> = {
    batchImages: batch.deferredImages,
    batchBytes: batch.deferredBytes,
    batchAgeSeconds: ageSeconds,
    syncCostSeconds: drive.syncCostSeconds,
  };
  if (batch.deferredImages === 0) {
    return { action: 'continue', reason: 'batch-empty', triggers: [], policy: name, explain };
  }
  const triggers: ReasonCode[] = [];
  // A batch left open by a policy switch to sync-every ends at once.
  if (name === 'sync-every') triggers.push('sync-every');
  if (!input.moreWork) triggers.push('end-of-work');
  if (ageSeconds >= settings.maxSecondsWithoutSync) triggers.push('max-seconds');
  if (next !== undefined) {
    explain.nextBytes = next.sizeBytes;
    explain.nextPriority = next.priority;
    // The next image will be synced on its own; ending the batch first keeps it alone in its batch.
    if (next.kind === 'stream') triggers.push('stream');
    if (next.attempt > 1) triggers.push('retry');
    if (next.priority > batch.maxPriority) triggers.push('priority');
  }
  if (batch.earliestDeadline !== undefined) {
    // Continuing means the batch's images commit only after the next image (or, with none ready,
    // after at least another sync time of waiting): sync now if that would pass the deadline.
    const waitSeconds =
      next !== undefined ? next.sizeBytes / drive.rateBytesPerSecond : drive.syncCostSeconds;
    const commitIfContinuing = now / 1000 + waitSeconds + drive.syncCostSeconds;
    explain.deadlineSlackSeconds = batch.earliestDeadline / 1000 - commitIfContinuing;
    if (commitIfContinuing > batch.earliestDeadline / 1000) triggers.push('deadline');
  }
  const first = triggers[0];
  if (first !== undefined) return { action: 'sync-now', reason: first, triggers, policy: name, explain };
  return { action: 'continue', reason: 'continue', triggers: [], policy: name, explain };
}

function dedupe(codes: readonly ReasonCode[]): ReasonCode[] {
  return [...new Set(codes)];
}
