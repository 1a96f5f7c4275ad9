/**
 * Why a fragment ends decides which filemark closes it (DESIGN.md, "Writer rules"). Pure, so the MPX
 * engine can extend the table without touching the drive code.
 *
 * | fragment ends because                                   | filemark                                   |
 * |---------------------------------------------------------|--------------------------------------------|
 * | image complete, checkpoint                              | synchronous, unless the batch policy defers |
 * | data complete with metadata to follow, max fragment     | immediate                                  |
 * | size, next image starts (MPX), single image failure     |                                            |
 * | end of medium (early warning)                           | synchronous: the batch must be proven      |
 */
import type { FragmentEndReason } from '@tapedup/tape-format';

export type FilemarkKind = 'immediate' | 'synchronous';

/** The duplicator's sync-deferral decision for the copy that ends the fragment. */
export type SyncDecision = 'defer' | 'sync';

export interface FragmentEndContext {
  reason: FragmentEndReason;
  /** The decision of the image that completed; absent when no image completed here. */
  decision?: SyncDecision | undefined;
  /** A write in this fragment reported early warning: the medium is about to be given up. */
  earlyWarning?: boolean | undefined;
}

const IMMEDIATE_REASONS: ReadonlySet<FragmentEndReason> = new Set<FragmentEndReason>([
  'data-complete-metadata-follows',
  'max-fragment-size',
  'next-image-start',
  'image-failure',
]);

/** The filemark kind for a fragment that ends for `ctx.reason`. */
export function filemarkFor(ctx: FragmentEndContext): FilemarkKind {
  // Past early warning every batch on the medium must be proven before it is given up.
  if (ctx.earlyWarning === true || ctx.reason === 'end-of-medium') return 'synchronous';
  if (IMMEDIATE_REASONS.has(ctx.reason)) return 'immediate';
  if (ctx.reason === 'image-complete' || ctx.reason === 'checkpoint') {
    return ctx.decision === 'defer' ? 'immediate' : 'synchronous';
  }
  // 'unspecified': nothing says the data may wait, so prove it.
  return 'synchronous';
}

/** How a single-image fragment's image ended. */
export type ImageOutcome = 'complete' | 'source-failed' | 'early-warning';

/** The fragment end reason recorded on tape for a single-image fragment. */
export function fragmentEndReasonFor(outcome: ImageOutcome): FragmentEndReason {
  switch (outcome) {
    case 'complete':
      return 'image-complete';
    case 'source-failed':
      return 'image-failure';
    case 'early-warning':
      return 'end-of-medium';
  }
}

/** Why a running MPX fragment must end now, given what just happened in it. */
export interface SplitContext {
  /** The fragment's image table is full and an image with data waits to start. */
  tableFull: boolean;
  /** Age of the running fragment in milliseconds. */
  ageMs: number;
  /** Minimum fragment time: a next-image split is held this long while data flows. */
  minFragmentMs: number;
  /** Images already in the fragment have data ready to write. */
  dataFlowing: boolean;
}

/**
 * Whether a next-image split happens now. A split is held for the minimum fragment time while the
 * images already in the fragment have data, so fragments do not become tiny; without data flowing
 * there is nothing to hold for, and the new image starts its fragment at once.
 */
export function splitDecision(ctx: SplitContext): 'split' | 'hold' | 'none' {
  if (!ctx.tableFull) return 'none';
  if (ctx.dataFlowing && ctx.ageMs < ctx.minFragmentMs) return 'hold';
  return 'split';
}

/** Whether a fragment reached its size limit (`undefined`: no limit). */
export function fragmentFull(bytes: number, maxFragmentBytes: number | undefined): boolean {
  return maxFragmentBytes !== undefined && bytes >= maxFragmentBytes;
}
