/**
 * Reducers for the open batch of one drive. The writer loop and the simulator keep a `BatchState`
 * per drive and move it with these after each image and each sync.
 */
import type { BatchState, ImageFacts } from './types';

/** The empty batch right after a good sync (or a mount) at `syncedAt`. */
export function emptyBatch(syncedAt: number): BatchState {
  return { deferredImages: 0, deferredBytes: 0, lastSyncAt: syncedAt, maxPriority: 0 };
}

/** The batch after `image`, started at `startedAt`, was ended with an immediate filemark. */
export function withDeferredImage(batch: BatchState, image: ImageFacts, startedAt: number): BatchState {
  const earliestDeadline =
    image.deadline === undefined
      ? batch.earliestDeadline
      : Math.min(image.deadline, batch.earliestDeadline ?? Number.POSITIVE_INFINITY);
  return {
    deferredImages: batch.deferredImages + 1,
    deferredBytes: batch.deferredBytes + image.sizeBytes,
    lastSyncAt: batch.lastSyncAt,
    openedAt: batch.deferredImages === 0 ? startedAt : (batch.openedAt ?? startedAt),
    maxPriority: Math.max(batch.maxPriority, image.priority),
    earliestDeadline,
  };
}

/** Seconds the batch has been open at `now` (0 when it is empty). */
export function batchAgeSeconds(batch: BatchState, now: number): number {
  if (batch.deferredImages === 0) return 0;
  return Math.max(0, (now - (batch.openedAt ?? batch.lastSyncAt)) / 1000);
}
