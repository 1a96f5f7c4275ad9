/**
 * Inputs and outputs of the batch planner. Plain data: the planner is a pure function from a
 * snapshot of the queue and the connected writers to assignments.
 */

/** One image copy waiting for a drive. */
export interface QueuedCopy {
  readonly copyId: string;
  /** The image (backup id) this is a copy of; copies of one image go to different drives. */
  readonly imageId: string;
  readonly requestId: string;
  /** 1..n within the image. */
  readonly copyNumber: number;
  /** 0 (lowest) .. 100 (highest). */
  readonly priority: number;
  readonly sizeBytes: number;
  readonly kind: 'disk' | 'stream';
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Arrival order (monotonic); ties of priority are served first in, first out. */
  readonly submitSeq: number;
  /** Pool whose media must receive the copy, when the request names one. */
  readonly pool?: string | undefined;
  /** Media this copy must not go to: those it failed on and those holding another copy of the image. */
  readonly excludedMedia?: readonly string[] | undefined;
  /** Drives this copy failed on; another drive is preferred for the retry. */
  readonly failedOnDrives?: readonly string[] | undefined;
}

/** A connected writer (one drive). */
export interface WriterInfo {
  readonly driveId: string;
  readonly state: 'idle' | 'busy';
  /** Barcode of the loaded medium, if any. */
  readonly mediumId?: string | undefined;
  /** Pool of the loaded medium. */
  readonly pool?: string | undefined;
  /** Copies already handed to this writer and not yet written (its look-ahead in use). */
  readonly queuedImages: number;
  readonly queuedBytes: number;
  /** The drive's one open batch: copies written since its last good sync. */
  readonly openBatch?: { readonly images: number; readonly bytes: number } | undefined;
  /** Image ids with a copy on this drive that is not committed yet (queued, written or pending sync). */
  readonly imagesInFlight?: readonly string[] | undefined;
}

/** One decision of the planner: write `copyId` on `driveId`, after the drive's earlier assignments. */
export interface Assignment {
  readonly copyId: string;
  readonly driveId: string;
  /** Position among this plan's assignments to the same drive (0-based): the drive's write order. */
  readonly order: number;
  /** The loaded medium must not receive this copy (none loaded, frozen, excluded or another pool): mount another. */
  readonly mediumChange: boolean;
  /** Media the copy must not be written to (its exclusions plus every frozen medium). */
  readonly excludedMedia: readonly string[];
  /**
   * Set when several copies of one image were assigned together to distinct drives: those drives
   * write immediate filemarks and then sync together, so they flush in parallel.
   */
  readonly syncGroup?: { readonly id: string; readonly size: number } | undefined;
}

/** Why a queued copy got no drive in this plan. */
export type WaitReason =
  /** Every writer's look-ahead window is full. */
  | 'window-full'
  /** Every writer already holds an uncommitted copy of the same image. */
  | 'sibling-on-every-drive'
  /** Enough distinct drives exist for all copies of the image, but not all have room yet. */
  | 'awaiting-group'
  /** No writer is connected. */
  | 'no-writer';

export interface Plan {
  readonly assignments: readonly Assignment[];
  readonly waiting: readonly { readonly copyId: string; readonly reason: WaitReason }[];
}
