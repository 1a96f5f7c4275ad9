import type { CopyState } from './copy-state';

/** Any value that survives a JSON round trip; used for image sources, policy overrides and sense data. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/** `disk`: the image already sits on a disk storage unit. `stream`: its data arrives live over a socket. */
export type ImageKind = 'disk' | 'stream';

/** `active` while any copy is not final; then `completed` (all committed), `failed` (some abandoned) or `cancelled`. */
export type RequestState = 'active' | 'completed' | 'failed' | 'cancelled';

/** `scratch`: blank, unassigned. `active`: being appended to. `full`: reached early warning. `frozen`: had errors. */
export type MediumState = 'scratch' | 'active' | 'full' | 'frozen';

export type BatchState = 'open' | 'synced' | 'failed';

/** A logical position on a tape: the tape file number and the SCSI logical block address. */
export interface TapePosition {
  readonly fileNumber: number;
  readonly blockAddress: number;
}

export interface ImageInput {
  readonly backupId: string;
  /** Bytes of image data (for `stream` images, the expected size). */
  readonly size: number;
  readonly kind?: ImageKind;
  /** Where the writer finds the data (e.g. `{ dsu, path }`); opaque to the catalog. */
  readonly source?: JsonValue;
  /** Overrides the request priority for this image. Higher is written first. */
  readonly priority?: number;
}

export interface RequestInput {
  /** Client-chosen id; a random UUID when omitted. */
  readonly id?: string;
  readonly pool: string;
  readonly priority?: number;
  /** Epoch milliseconds by which the request should be done. */
  readonly deadline?: number | null;
  /** Copies of each image (1..{@link MAX_COPIES}), each on a different drive. */
  readonly copies?: number;
  /** Sync policy overrides for this request; opaque to the catalog. */
  readonly policy?: JsonObject;
  /** Overrides the catalog's `maxAttempts` for this request's copies. */
  readonly maxAttempts?: number;
  readonly images: readonly ImageInput[];
}

export const MAX_COPIES = 8;

export interface SubmitResult {
  readonly requestId: string;
  readonly images: number;
  readonly copies: number;
}

export interface RequestRecord {
  readonly id: string;
  readonly state: RequestState;
  readonly pool: string;
  readonly priority: number;
  readonly deadline: number | null;
  readonly copies: number;
  readonly policy: JsonObject | null;
  readonly maxAttempts: number | null;
  readonly submittedAt: number;
  readonly finishedAt: number | null;
}

export interface ImageRecord {
  readonly id: number;
  readonly requestId: string;
  readonly backupId: string;
  readonly size: number;
  readonly kind: ImageKind;
  readonly source: JsonValue;
  readonly priority: number;
}

/** Why a copy attempt failed; kept per attempt so an abandoned copy carries all its reasons. */
export interface CopyFailure {
  /** Machine-readable cause, e.g. `SYNC_FAILED`, `MEDIUM_ERROR`, `WRITER_DIED`, `DUPLICATOR_RESTART`. */
  readonly code: string;
  readonly reason: string;
  /** Decoded sense data or other device detail, when there was any. */
  readonly sense?: JsonObject;
}

export interface CopyErrorEntry extends CopyFailure {
  readonly at: number;
  readonly attempt: number;
  readonly drive: string | null;
  readonly medium: string | null;
  readonly batch: number | null;
}

export interface CopyRecord {
  readonly id: number;
  readonly imageId: number;
  readonly requestId: string;
  readonly copyNumber: number;
  readonly state: CopyState;
  readonly priority: number;
  /** Image size in bytes. */
  readonly size: number;
  /** Failed attempts so far. */
  readonly attempts: number;
  readonly lastError: CopyErrorEntry | null;
  readonly errors: readonly CopyErrorEntry[];
  readonly drive: string | null;
  /** While in flight, the medium being written; once committed, the medium holding the first fragment. */
  readonly medium: string | null;
  readonly batch: number | null;
  readonly fileNumber: number | null;
  readonly blockAddress: number | null;
  readonly writtenBytes: number | null;
  readonly sha256: string | null;
  readonly queuedAt: number;
  readonly updatedAt: number;
  readonly committedAt: number | null;
}

/** A waiting copy with what the planner and the sync policy need to place it. */
export interface QueuedCopy {
  readonly copyId: number;
  readonly imageId: number;
  readonly requestId: string;
  readonly backupId: string;
  readonly copyNumber: number;
  readonly state: 'queued' | 'retrying';
  readonly priority: number;
  readonly size: number;
  readonly kind: ImageKind;
  readonly source: JsonValue;
  readonly pool: string;
  readonly deadline: number | null;
  readonly attempts: number;
  /** Media on which earlier attempts of this copy failed. */
  readonly failedMedia: readonly string[];
  /** Drives on which earlier attempts of this copy failed. */
  readonly failedDrives: readonly string[];
  /** Media holding, or being written with, another copy of the same image: this copy must go elsewhere. */
  readonly siblingMedia: readonly string[];
}

export interface QueueFilter {
  readonly pool?: string;
  readonly requestId?: string;
  readonly kind?: ImageKind;
}

/** One tape file (or part of one, in MPX) holding a contiguous range of the image's bytes. */
export interface FragmentInput {
  readonly medium: string;
  readonly fileNumber: number;
  readonly blockAddress: number;
  /** Offset of this fragment's first byte within the image. */
  readonly offset: number;
  readonly length: number;
}

export interface FragmentRecord extends FragmentInput {
  readonly copyId: number;
  /** 0-based order of the fragment within the copy. */
  readonly sequence: number;
}

export interface CommittedCopy {
  readonly copyId: number;
  /** Medium, file and block where the copy begins (its first fragment). */
  readonly medium: string;
  readonly fileNumber: number;
  readonly blockAddress: number;
  /** Lowercase hex SHA-256 of the image data. */
  readonly sha256: string;
  /**
   * Every fragment of the copy, in order, on every medium it spans. When omitted the copy is one fragment at
   * (`medium`, `fileNumber`, `blockAddress`) holding the whole image.
   */
  readonly fragments?: readonly FragmentInput[];
}

export interface CommitBatchInput {
  /** Exactly the copies written-pending-sync in the batch; all of them. */
  readonly committed: readonly CommittedCopy[];
  /** The drive position READ POSITION (or the writer's own count) gave after the sync returned GOOD. */
  readonly positionAfterSync: TapePosition;
  readonly syncDurationMs: number;
}

export interface MarkWrittenInput extends TapePosition {
  /** Bytes written for this copy in this batch. */
  readonly bytes: number;
  readonly sha256?: string;
}

export interface BatchRecord {
  readonly id: number;
  readonly drive: string;
  readonly medium: string;
  readonly state: BatchState;
  readonly openedAt: number;
  readonly syncedAt: number | null;
  readonly failedAt: number | null;
  readonly bytes: number;
  readonly imageCount: number;
  readonly syncDurationMs: number | null;
  readonly failure: CopyFailure | null;
}

export interface MediumRecord {
  readonly barcode: string;
  readonly pool: string;
  readonly state: MediumState;
  /** End of the last committed data: where writing resumes after a failure. */
  readonly lastCommitted: TapePosition;
  /** Image bytes committed on this medium. */
  readonly committedBytes: number;
  /** Bytes written, including data of failed batches. */
  readonly bytesWritten: number;
  readonly errorCount: number;
  readonly updatedAt: number;
}

export interface DriveRecord {
  readonly id: string;
  readonly spec: string;
  /** Exponentially weighted mean of synchronous filemark durations, seconds; null before the first sync. */
  readonly syncCostSeconds: number | null;
  readonly syncCount: number;
  readonly bytesWritten: number;
  readonly errorCount: number;
  readonly bytesSinceError: number;
  /** Exponentially weighted mean of bytes written between errors; null before the first error. */
  readonly meanBytesBetweenErrors: number | null;
  /** Errors per byte written (the policy's λ); 0 before anything was written. */
  readonly errorRatePerByte: number;
  readonly lastErrorAt: number | null;
  readonly lastHeartbeat: number | null;
}

/** What happened to one copy when its attempt failed. */
export interface FailOutcome {
  readonly copyId: number;
  readonly from: CopyState;
  readonly to: 'retrying' | 'abandoned' | 'cancelled';
  readonly attempts: number;
}

export interface FailBatchResult {
  /** The failed batch; null when the drive had no open batch (a copy died before its batch opened). */
  readonly batchId: number | null;
  readonly copies: readonly FailOutcome[];
  readonly mediumFrozen: boolean;
}

export interface RecoveryResult {
  readonly failedBatches: readonly number[];
  readonly copies: readonly FailOutcome[];
  /** Requests still active, to be resumed from the queue. */
  readonly activeRequests: readonly string[];
}

export interface StateTotals {
  readonly copies: number;
  readonly bytes: number;
}

export interface StatusReport {
  /** The request, when the status was asked for one. */
  readonly request: RequestRecord | null;
  /** Copies and image bytes per copy state. */
  readonly byState: Readonly<Record<CopyState, StateTotals>>;
  readonly total: StateTotals;
  /** Requests per state (for the whole catalog, or 1 for the one asked). */
  readonly requests: Readonly<Record<RequestState, number>>;
}

export interface CatalogEvent {
  readonly id: number;
  readonly at: number;
  readonly entity: string;
  readonly subject: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly detail: JsonValue;
}

export interface Page {
  readonly limit?: number;
  readonly offset?: number;
}
