/**
 * Duplicator ↔ tape writer: control and reports between the duplicator's ROUTER and each
 * writer's DEALER. A writer owns one drive; copy ids name one copy of one image in one attempt.
 */
import { z } from 'zod';
import { defineMessage, replyFields, uniqueBy } from './envelope';
import {
  barcode,
  byteCount,
  capabilities,
  code,
  copyIdList,
  copyNumber,
  driveSpec,
  endpoint,
  epochMs,
  imageSource,
  MAX_COPY_IDS,
  MAX_ITEMS_PER_ASSIGN,
  mediumPosition,
  nonNegativeNumber,
  priority,
  safeId,
  sense,
  sha256Hex,
  tapeLocation,
  text,
  uint,
} from './fields';

/** First message of a writer after it opened its drive. */
export const hello = defineMessage('hello', {
  driveId: safeId,
  pid: z
    .int()
    .min(1)
    .max(2 ** 32 - 1),
  drive: driveSpec,
  capabilities,
  /** Barcode of the cartridge loaded at start, if any. */
  medium: barcode.exactOptional(),
});

export const writerState = z.enum(['idle', 'writing', 'syncing', 'positioning', 'mounting', 'failed']);
export type WriterState = z.infer<typeof writerState>;

export const writerStats = z.strictObject({
  bytesWritten: uint,
  imagesWritten: uint,
  immediateFilemarks: uint,
  syncs: uint,
  syncFailures: uint,
  /** Copies written since the last good sync. */
  pendingCopies: uint,
  pendingBytes: uint,
  /** Duration of the last synchronous filemark, in milliseconds. */
  lastSyncMs: nonNegativeNumber.exactOptional(),
  /** Recent write rate in bytes per second. */
  rateBytesPerSec: nonNegativeNumber,
});
export type WriterStats = z.infer<typeof writerStats>;

/** Periodic liveness and statistics. A writer that misses heartbeats is restarted. */
export const heartbeat = defineMessage('heartbeat', {
  driveId: safeId,
  at: epochMs,
  state: writerState,
  medium: barcode.exactOptional(),
  stats: writerStats,
});

/**
 * One image copy to write, with the sync-deferral decision for it: `defer` ends the image with an
 * immediate filemark, `sync` with a synchronous one (which also covers every deferred copy before it).
 * Invariant: a `stream` image and a retry (`attempt` > 1) are never deferred.
 */
export const assignItem = z
  .strictObject({
    copyId: safeId,
    requestId: safeId,
    backupId: safeId,
    copy: copyNumber,
    sizeBytes: byteCount,
    source: imageSource,
    priority,
    /** 1 for the first attempt. */
    attempt: z.int().min(1).max(1_000),
    decision: z.enum(['defer', 'sync']),
    /** Why the policy decided so; logged by the writer, never parsed. */
    reason: z.string().min(1).max(256),
    /** Copies with the same group may be multiplexed into one fragment. */
    mpxGroup: safeId.exactOptional(),
    /**
     * `stream` items only: the PULL endpoint the writer binds for this copy's data frames (the one
     * announced to the sender in `accepted.streams`). `ipc://`, `inproc://` or loopback `tcp://`.
     */
    streamEndpoint: endpoint.exactOptional(),
  })
  .superRefine((item, ctx) => {
    if (item.streamEndpoint !== undefined && item.source.kind !== 'stream') {
      ctx.addIssue({
        code: 'custom',
        path: ['streamEndpoint'],
        message: 'only a stream item has a stream endpoint',
      });
    }
    if (item.decision === 'defer' && item.source.kind === 'stream') {
      ctx.addIssue({ code: 'custom', path: ['decision'], message: 'a stream image is never deferred' });
    } else if (item.decision === 'defer' && item.attempt > 1) {
      ctx.addIssue({ code: 'custom', path: ['decision'], message: 'a retried image is never deferred' });
    }
  });
export type AssignItem = z.infer<typeof assignItem>;

/**
 * Write these copies, in order, on `medium`. `resumeAt` is given after a failure (the end of the
 * last committed data, from the catalog); when absent the writer continues after what it wrote.
 */
export const assign = defineMessage('assign', {
  medium: barcode,
  resumeAt: tapeLocation.exactOptional(),
  items: z.array(assignItem).min(1).max(MAX_ITEMS_PER_ASSIGN).superRefine(uniqueBy('copyId')),
});

/**
 * Flush now (synchronous filemark) and report `batch-synced` or `sync-failed` with this `batchId`.
 * Sent to several writers after they all wrote immediate filemarks, so their drives flush in parallel.
 */
export const syncNow = defineMessage('sync-now', {
  batchId: safeId,
});

/** A copy's data and its filemark were accepted by the drive. */
export const copyWritten = defineMessage('copy-written', {
  copyId: safeId,
  /** True when the filemark was immediate: not durable until a sync covers it. */
  pendingSync: z.boolean(),
  medium: barcode,
  fileNumber: uint,
  blockAddress: uint,
  bytes: byteCount,
  sha256: sha256Hex,
});

/** One fragment of a copy: where it is and which bytes of the image it holds. */
export const copyFragment = z.strictObject({
  medium: barcode,
  fileNumber: uint,
  /** The fragment header's logical object number. */
  blockAddress: uint,
  /** Byte offset in the image of the fragment's first byte of it. */
  offset: byteCount,
  /** Bytes of the image in the fragment. */
  length: byteCount,
});
export type CopyFragment = z.infer<typeof copyFragment>;

/** Most fragments listed for one copy. */
export const MAX_FRAGMENTS_PER_COPY = 10_000;

export const committedCopy = z.strictObject({
  copyId: safeId,
  /** Medium, tape file and header block of the copy's first fragment. */
  medium: barcode,
  fileNumber: uint,
  blockAddress: uint,
  sha256: sha256Hex,
  /**
   * Every fragment of the copy in image order, when it has more than one (an MPX split or spanning
   * over media); absent for a copy held by one fragment. The first is at `medium`/`fileNumber`/
   * `blockAddress`; offsets follow each other from 0.
   */
  fragments: z.array(copyFragment).min(2).max(MAX_FRAGMENTS_PER_COPY).exactOptional(),
});
export type CommittedCopy = z.infer<typeof committedCopy>;

/**
 * A sync returned GOOD and the position after it matched: every listed copy is durable.
 * `re` is the `sync-now` answered, absent when the writer synced on a `sync` decision.
 */
export const batchSynced = defineMessage('batch-synced', {
  re: replyFields.re.exactOptional(),
  /** The `sync-now` batchId, or one the writer made up for a sync it did on its own. */
  batchId: safeId,
  committed: z.array(committedCopy).max(MAX_COPY_IDS).superRefine(uniqueBy('copyId')),
  /** Where the drive is after the sync. */
  position: mediumPosition,
});

/** A sync failed (or a deferred error surfaced): every copy since the last good sync is lost. */
export const syncFailed = defineMessage('sync-failed', {
  re: replyFields.re.exactOptional(),
  batchId: safeId,
  failed: copyIdList(),
  sense,
});

/** One copy failed on its own (a stream cut, a source read error, an MPX member failed). */
export const copyFailed = defineMessage('copy-failed', {
  copyId: safeId,
  reason: code,
  message: text,
  retryable: z.boolean(),
  sense: sense.exactOptional(),
});

/** Early warning reached: the fragment was ended and synced; the listed copies continue elsewhere. */
export const mediumFull = defineMessage('medium-full', {
  medium: barcode,
  inFlight: copyIdList(),
  position: tapeLocation.exactOptional(),
});

/** Load this cartridge (unloading the current one) and report `mounted`. */
export const mount = defineMessage('mount', {
  barcode,
});

export const mounted = defineMessage('mounted', {
  ...replyFields,
  medium: barcode,
  position: tapeLocation,
  appendOnly: z.boolean(),
});

/** The drive failed outside a sync. `fatal`: the writer is giving up the drive. */
export const driveError = defineMessage('drive-error', {
  driveId: safeId,
  fatal: z.boolean(),
  sense,
  affected: copyIdList(),
});

/** Stop. `graceful`: finish and sync the current copy first; otherwise stop at once. */
export const shutdown = defineMessage('shutdown', {
  graceful: z.boolean(),
  reason: z.string().max(256),
});

export const shutdownAck = defineMessage('shutdown-ack', {
  ...replyFields,
  /** Copies written but not covered by a good sync when the writer stopped. */
  uncommitted: copyIdList(),
});
