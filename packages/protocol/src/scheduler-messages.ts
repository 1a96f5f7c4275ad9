/**
 * Scheduler ↔ duplicator: requests on the duplicator's ROUTER (the scheduler's DEALER), their
 * replies, and the events the duplicator publishes on its PUB socket.
 */
import { z } from 'zod';
import { defineMessage, eventFields, replyFields, uniqueBy } from './envelope';
import {
  barcode,
  byteCount,
  code,
  copyNumber,
  copyStateCounts,
  curveKey,
  endpoint,
  epochMs,
  imageSource,
  MAX_COPIES,
  MAX_IMAGES_PER_REQUEST,
  policyOverrides,
  priority,
  safeId,
  sense,
  sha256Hex,
  text,
  uint,
} from './fields';

/** One image to duplicate. Its kind is `source.kind`: `disk` (on a DSU) or `stream` (pushed live). */
export const imageSpec = z.strictObject({
  backupId: safeId,
  sizeBytes: byteCount,
  source: imageSource,
  /** Overrides the request's priority for this image. */
  priority: priority.exactOptional(),
});
export type ImageSpec = z.infer<typeof imageSpec>;

/** Ask for `copies` tape copies of every image, written to media of `pool`. */
export const submit = defineMessage('submit', {
  images: z.array(imageSpec).min(1).max(MAX_IMAGES_PER_REQUEST).superRefine(uniqueBy('backupId')),
  copies: z.int().min(1).max(MAX_COPIES),
  pool: safeId,
  priority,
  /** Finish by then (epoch ms); the sync-deferral policy weighs it. */
  deadline: epochMs.exactOptional(),
  policy: policyOverrides.exactOptional(),
});

/** Where to push the data frames of one copy of a `stream` image. */
export const streamEndpoint = z.strictObject({
  backupId: safeId,
  copy: copyNumber,
  endpoint,
  /** The CURVE server key of the endpoint, when it requires CURVE. */
  serverKey: curveKey.exactOptional(),
});
export type StreamEndpoint = z.infer<typeof streamEndpoint>;

/** The request is stored; nothing accepted is ever dropped silently. */
export const accepted = defineMessage('accepted', {
  ...replyFields,
  requestId: safeId,
  /** One entry per (stream image, copy); empty when the request has no stream images. */
  streams: z.array(streamEndpoint).max(MAX_IMAGES_PER_REQUEST * MAX_COPIES),
});

/** The request was well formed but cannot be carried out (unknown pool or DSU, no drives, …). */
export const rejected = defineMessage('rejected', {
  ...replyFields,
  code,
  message: text,
  /** Dotted path of the field that caused the rejection, e.g. `images.3.source.dsu`. */
  field: z.string().min(1).max(256).exactOptional(),
});

/** Cancel a whole request, or only some of its images. Committed copies stay committed. */
export const cancel = defineMessage('cancel', {
  requestId: safeId,
  backupIds: z.array(safeId).min(1).max(MAX_IMAGES_PER_REQUEST).exactOptional(),
});

export const cancelled = defineMessage('cancelled', {
  ...replyFields,
  requestId: safeId,
  /** Image copies cancelled by this message. */
  cancelled: uint,
  /** Image copies that were already committed and stay on tape. */
  alreadyCommitted: uint,
});

/** Ask for the state of one request, or of every request not yet forgotten when `requestId` is absent. */
export const status = defineMessage('status', {
  requestId: safeId.exactOptional(),
});

export const requestState = z.enum(['queued', 'running', 'done', 'partial', 'failed', 'cancelled']);
export type RequestState = z.infer<typeof requestState>;

export const requestStatus = z.strictObject({
  requestId: safeId,
  state: requestState,
  pool: safeId,
  submittedAt: epochMs,
  images: uint,
  copies: copyStateCounts,
  bytesTotal: uint,
  bytesCommitted: uint,
});
export type RequestStatus = z.infer<typeof requestStatus>;

export const statusReply = defineMessage('status-reply', {
  ...replyFields,
  requests: z.array(requestStatus).max(100_000),
});

/** Fields every per-copy event carries. */
const copyEventFields = {
  ...eventFields,
  requestId: safeId,
  backupId: safeId,
  copy: copyNumber,
} as const;

/** A copy's data is on the drive, not yet covered by a sync: not durable yet. */
export const imageWritten = defineMessage('image-written', {
  ...copyEventFields,
  driveId: safeId,
  medium: barcode,
  fileNumber: uint,
  blockAddress: uint,
  bytes: byteCount,
});

/** A sync covering the copy returned GOOD and the position matched: the copy is in the catalog. */
export const imageCommitted = defineMessage('image-committed', {
  ...copyEventFields,
  driveId: safeId,
  medium: barcode,
  fileNumber: uint,
  blockAddress: uint,
  bytes: byteCount,
  sha256: sha256Hex,
});

/** A copy failed. `retryable: true` means a retry follows (an `image-retrying` event). */
export const imageFailed = defineMessage('image-failed', {
  ...copyEventFields,
  reason: code,
  message: text,
  retryable: z.boolean(),
  /** Attempts made so far, including the failed one. */
  attempt: z.int().min(1).max(1_000),
  sense: sense.exactOptional(),
  driveId: safeId.exactOptional(),
  medium: barcode.exactOptional(),
});

/** A failed copy is queued again. */
export const imageRetrying = defineMessage('image-retrying', {
  ...copyEventFields,
  /** The attempt about to be made (2 for the first retry). */
  attempt: z.int().min(2).max(1_000),
  reason: code,
  /** Not started before this time (backoff). */
  notBefore: epochMs.exactOptional(),
});

export const requestOutcome = z.enum(['done', 'partial', 'failed', 'cancelled']);
export type RequestOutcome = z.infer<typeof requestOutcome>;

/** Every copy of the request reached a final state. */
export const requestDone = defineMessage('request-done', {
  ...eventFields,
  requestId: safeId,
  /** `done`: every copy committed; `partial`: some failed or were cancelled; `failed`: none committed. */
  outcome: requestOutcome,
  images: uint,
  committed: uint,
  failed: uint,
  cancelled: uint,
  bytesCommitted: uint,
  elapsedMs: uint,
});

/**
 * The typed answer to any message that could not be processed, on any socket and in either
 * direction: malformed input (a codec `ProtocolError` code) or an application error such as
 * `UNKNOWN_REQUEST`. `re` is absent when the offending frame had no readable `id`.
 */
export const errorReply = defineMessage('error', {
  re: replyFields.re.exactOptional(),
  code,
  message: text,
  field: z.string().min(1).max(256).exactOptional(),
});
