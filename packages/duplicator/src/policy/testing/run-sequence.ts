/**
 * Test helper: drives a policy over a scripted sequence of images the way a writer loop does
 * (check the open batch before each image, decide, write, sync), on a virtual clock.
 */
import { emptyBatch, withDeferredImage } from '../batch-state';
import type { SyncPolicy } from '../policy';
import type { BatchState, DriveContext, ImageFacts, ReasonCode, SyncDecision } from '../types';

export interface StepRecord {
  readonly index: number;
  readonly image: ImageFacts;
  /** Flush-only sync issued before this image, with its reason. */
  readonly flushedBefore?: ReasonCode;
  readonly decision: SyncDecision;
  /** The batch as the decision saw it. */
  readonly batchBefore: BatchState;
}

export interface RunResult {
  readonly steps: StepRecord[];
  /** 1-based indexes of the images that carried a sync. */
  readonly syncedAt: number[];
  /** Bytes per batch, in order (a flush-only sync ends a batch too). */
  readonly batchBytes: number[];
  readonly endedAt: number;
}

/** Runs `images` through `policy` starting at `start` (epoch ms); the clock advances by write and sync time. */
export function runSequence(
  policy: SyncPolicy,
  images: readonly ImageFacts[],
  drive: DriveContext,
  start = 0,
): RunResult {
  let now = start;
  let batch = emptyBatch(now);
  let open = 0;
  const steps: StepRecord[] = [];
  const syncedAt: number[] = [];
  const batchBytes: number[] = [];
  let remainingBytes = images.reduce((a, i) => a + i.sizeBytes, 0);
  images.forEach((image, i) => {
    remainingBytes -= image.sizeBytes;
    const verdict = policy.shouldSyncNow({ batch, drive, next: image, moreWork: true }, now);
    let flushedBefore: ReasonCode | undefined;
    if (verdict.action === 'sync-now') {
      flushedBefore = verdict.reason;
      now += drive.syncCostSeconds * 1000;
      batchBytes.push(open);
      open = 0;
      batch = emptyBatch(now);
    }
    const remaining = {
      images: images.length - i - 1,
      bytes: remainingBytes,
      isLast: i === images.length - 1,
    };
    const decision = policy.decide({ image, drive, batch, remaining }, now);
    steps.push({
      index: i + 1,
      image,
      decision,
      batchBefore: batch,
      ...(flushedBefore ? { flushedBefore } : {}),
    });
    const startedAt = now;
    now += (image.sizeBytes / drive.rateBytesPerSecond) * 1000;
    open += image.sizeBytes;
    if (decision.decision === 'defer') {
      batch = withDeferredImage(batch, image, startedAt);
    } else {
      now += drive.syncCostSeconds * 1000;
      syncedAt.push(i + 1);
      batchBytes.push(open);
      open = 0;
      batch = emptyBatch(now);
    }
  });
  return { steps, syncedAt, batchBytes, endedAt: now };
}

/** `n` first-attempt disk images of `sizeBytes` at `priority`. */
export function equalImages(n: number, sizeBytes: number, priority = 0): ImageFacts[] {
  return Array.from({ length: n }, () => ({ sizeBytes, priority, kind: 'disk' as const, attempt: 1 }));
}

/** Small deterministic PRNG (mulberry32) so that "random" test inputs are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
