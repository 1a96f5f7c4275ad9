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
  })
  .superRefine((item, ctx) => {
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

export const committedCopy = z.strictObject({
  copyId: safeId,
  medium: barcode,
  fileNumber: uint,
  blockAddress: uint,
  sha256: sha256Hex,
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
