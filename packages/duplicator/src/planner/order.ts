/**
 * Service order of queued copies: highest priority first, then first in, first out.
 */
import type { QueuedCopy } from './types';

/** Total order: priority (desc), submit order, image, copy number, copy id — so plans are deterministic. */
export function compareCopies(a: QueuedCopy, b: QueuedCopy): number {
  return (
    b.priority - a.priority ||
    a.submitSeq - b.submitSeq ||
    cmp(a.imageId, b.imageId) ||
    a.copyNumber - b.copyNumber ||
    cmp(a.copyId, b.copyId)
  );
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
