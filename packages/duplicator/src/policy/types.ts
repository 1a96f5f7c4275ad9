/**
 * Inputs and outputs of the sync-deferral policy (the patent's "synchronization deferral module").
 * Everything here is plain data: the policy never reads a clock, a socket or a file, so the same
 * code decides inside the duplicator process and inside the discrete-event simulator.
 */

/** Source of the current time in epoch milliseconds; inject a virtual one in the simulator and tests. */
export interface Clock {
  now(): number;
}

/** Names of the sync-deferral policies. */
export type SyncPolicyName = 'sync-every' | 'fixed' | 'cta' | 'adaptive';

/** `disk`: already on a disk storage unit (a failed copy is simply re-read); `stream`: live client data. */
export type ImageKind = 'disk' | 'stream';

/** The image copy the decision is about. */
export interface ImageFacts {
  /** Bytes of image data this copy writes. */
  readonly sizeBytes: number;
  /** 0 (lowest) .. 100 (highest). */
  readonly priority: number;
  readonly kind: ImageKind;
  /** 1 for the first attempt; anything above is a retry, which is always synced on its own. */
  readonly attempt: number;
  /** The request's deadline in epoch ms, when it has one. */
  readonly deadline?: number | undefined;
}

/** What is known about the drive and the loaded medium. */
export interface DriveContext {
  /** Native (uncompressed) write rate of the drive, bytes per second. */
  readonly rateBytesPerSecond: number;
  /**
   * Measured cost of a synchronous filemark in seconds: the time the drive spends not writing
   * data because of the sync (flush latency plus the restart after it), see `SyncCostEstimator`.
   */
  readonly syncCostSeconds: number;
  /** Historical error rate of this drive and medium, errors per byte written (see `ErrorRateEstimator`). */
  readonly errorRatePerByte: number;
}

/** The open batch: the images written on this drive since the last good sync. */
export interface BatchState {
  /** Images already written with an immediate filemark since the last good sync. */
  readonly deferredImages: number;
  /** Bytes of those images. */
  readonly deferredBytes: number;
  /** Epoch ms of the last good sync on this drive (or of the mount, before the first sync). */
  readonly lastSyncAt: number;
  /** Epoch ms when the first deferred image of the batch started; absent while the batch is empty. */
  readonly openedAt?: number | undefined;
  /** Highest priority among the deferred images (0 while empty). */
  readonly maxPriority: number;
  /** Earliest request deadline among the deferred images, epoch ms. */
  readonly earliestDeadline?: number | undefined;
}

/** Work still to do on this drive after the current image. */
export interface RemainingWork {
  /** Images queued for this drive after the current one. */
  readonly images: number;
  /** Bytes of those images. */
  readonly bytes: number;
  /** True when the current image is the last one of the work: its sync ends the batch. */
  readonly isLast: boolean;
}

/** Everything one decision needs. */
export interface DecisionInput {
  readonly image: ImageFacts;
  readonly drive: DriveContext;
  readonly batch: BatchState;
  readonly remaining: RemainingWork;
}

/**
 * Machine-readable reason of a decision. Sync reasons:
 * `sync-every`, `stream`, `retry`, `too-large`, `end-of-work`, `max-seconds`, `batch-image-limit`,
 * `max-bytes`, `deadline`, `priority`, `cost-model`. Defer reasons: `batch-open` (below every limit),
 * `tail-merge` (adaptive: past its target but the rest of the work is cheaper in this same batch).
 * `shouldSyncNow` adds `batch-empty` and `continue`.
 */
export type ReasonCode =
  | 'sync-every'
  | 'stream'
  | 'retry'
  | 'too-large'
  | 'end-of-work'
  | 'max-seconds'
  | 'batch-image-limit'
  | 'max-bytes'
  | 'deadline'
  | 'priority'
  | 'cost-model'
  | 'batch-open'
  | 'tail-merge'
  | 'batch-empty'
  | 'continue';

/** The numbers behind a decision, for the log and the catalog. Keys are stable, values finite or Infinity. */
export type DecisionExplain = Readonly<Record<string, number>>;

/** A per-image decision: end the image with an immediate (`defer`) or a synchronous (`sync`) filemark. */
export interface SyncDecision {
  readonly decision: 'defer' | 'sync';
  /** The rule that decided (the first matching, in the documented order). */
  readonly reason: ReasonCode;
  /** Every sync rule that matched, in order; empty for a defer. */
  readonly triggers: readonly ReasonCode[];
  readonly policy: SyncPolicyName;
  readonly explain: DecisionExplain;
}

/** Input of `shouldSyncNow`: the open batch, checked between images or on a timer tick. */
export interface BatchCheckInput {
  readonly batch: BatchState;
  readonly drive: DriveContext;
  /** The image about to be written next on this drive, when one is ready. */
  readonly next?: ImageFacts | undefined;
  /** False when nothing more is queued for this drive: the open batch must be synced now. */
  readonly moreWork: boolean;
}

/** Verdict of `shouldSyncNow`: end the batch with a flush-only sync now, or keep it open. */
export interface BatchVerdict {
  readonly action: 'sync-now' | 'continue';
  readonly reason: ReasonCode;
  readonly triggers: readonly ReasonCode[];
  readonly policy: SyncPolicyName;
  readonly explain: DecisionExplain;
}
