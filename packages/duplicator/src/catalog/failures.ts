/**
 * Failure paths: a failed batch, a failed single copy, a dead writer and a restarted duplicator all fail the
 * copies in flight, count the attempt, and requeue (or abandon, or cancel) them.
 * These functions are the internals of `Catalog`; they take its `Store`.
 */
import { assertTransition } from './copy-state';
import { recordErrorRow } from './drives';
import { setMediumStateRow } from './media';
import { finishRequestIfDone } from './requests';
import type { BatchRow, CopyRow } from './rows';
import type { Store } from './store';
import type { CopyErrorEntry, CopyFailure, FailBatchResult, FailOutcome, RecoveryResult } from './types';
import * as check from './validate';

export interface FailOptions {
  /** Freeze the batch's medium so the next attempts go elsewhere. */
  readonly freezeMedium?: boolean;
  /**
   * Count the failure against the drive's and medium's error history (the sync policy's λ). Default true;
   * false for failures that say nothing about the hardware, such as a coordinator restart.
   */
  readonly countAsDeviceError?: boolean;
}

export function failCopy(s: Store, copyId: number, failure: CopyFailure): FailOutcome {
  const f = check.failure(failure, 'failure');
  return s.db
    .transaction(() => {
      const copy = s.copyRow(copyId);
      const outcome = failCopyRow(s, copy, f);
      finishRequestIfDone(s, copy.request);
      return outcome;
    })
    .immediate();
}

export function failBatch(
  s: Store,
  batchId: number,
  failure: CopyFailure,
  options: FailOptions = {},
): FailBatchResult {
  const f = check.failure(failure, 'failure');
  return s.db
    .transaction(() => {
      const batch = s.openBatchRow(batchId);
      return failBatchRow(s, batch, f, options);
    })
    .immediate();
}

export function failUncommittedOnDrive(
  s: Store,
  driveId: string,
  failure: CopyFailure,
  options: FailOptions = {},
): FailBatchResult | null {
  const f = check.failure(failure, 'failure');
  return s.db
    .transaction(() => {
      s.driveRow(driveId);
      const batch = s.stmt<BatchRow>("SELECT * FROM batches WHERE drive = ? AND state = 'open'").get(driveId);
      if (batch !== undefined) return failBatchRow(s, batch, f, options);
      // Copies being written before any of them was reported written: there is no batch yet, but a
      // device error here still counts against the drive and the cartridge, and may freeze it.
      const medium =
        s
          .stmt<{ medium: string | null }>(
            "SELECT medium FROM copies WHERE drive = ? AND state = 'writing' AND medium IS NOT NULL LIMIT 1",
          )
          .get(driveId)?.medium ?? null;
      const copies = failInFlightOnDrive(s, driveId, f);
      if (copies.length === 0) return null;
      if (options.countAsDeviceError ?? true) {
        recordErrorRow(s, driveId, medium, s.driveRow(driveId).bytes_since_error, f);
      }
      let mediumFrozen = false;
      if (options.freezeMedium === true && medium !== null && s.mediumRow(medium).state !== 'frozen') {
        setMediumStateRow(s, medium, 'frozen', `${f.code}: ${f.reason}`);
        mediumFrozen = true;
      }
      return { batchId: null, copies, mediumFrozen };
    })
    .immediate();
}

/**
 * Copies a writer was handed but never started (it drops its queue when a batch fails) go back to
 * waiting — `queued`, or `retrying` when they had failed before — with no attempt charged and no
 * error recorded: nothing of them reached the drive. Copies not in `writing` are left alone.
 * Returns the ids it moved.
 */
export function returnUnwritten(s: Store, copyIds: readonly number[], reason: string): number[] {
  return s.db
    .transaction(() => {
      const moved: number[] = [];
      for (const id of copyIds) {
        const row = s.stmt<CopyRow>('SELECT * FROM copies_v WHERE id = ?').get(id);
        if (row === undefined || row.state !== 'writing') continue;
        const to = row.attempts > 0 ? 'retrying' : 'queued';
        assertTransition(row.id, 'writing', to);
        s.stmt(
          `UPDATE copies SET state = ?, drive = NULL, medium = NULL, batch = NULL, updated_at = ?
           WHERE id = ? AND state = 'writing'`,
        ).run(to, s.now(), row.id);
        s.event('copy', String(row.id), 'writing', to, { reason });
        moved.push(row.id);
      }
      return moved;
    })
    .immediate();
}

export function recoverInFlight(s: Store, reason = 'duplicator restarted'): RecoveryResult {
  const failure: CopyFailure = { code: 'DUPLICATOR_RESTART', reason };
  const result = s.db
    .transaction(() => {
      const failedBatches: number[] = [];
      const copies: FailOutcome[] = [];
      for (const batch of s.stmt<BatchRow>("SELECT * FROM batches WHERE state = 'open' ORDER BY id").all()) {
        failedBatches.push(batch.id);
        copies.push(...failBatchRow(s, batch, failure, { countAsDeviceError: false }).copies);
      }
      const drives = s
        .stmt<{ drive: string | null }>(
          "SELECT DISTINCT drive FROM copies WHERE state IN ('writing', 'written-pending-sync')",
        )
        .all();
      for (const { drive } of drives) {
        if (drive !== null) copies.push(...failInFlightOnDrive(s, drive, failure));
      }
      const activeRequests = s
        .stmt<{ id: string }>("SELECT id FROM requests WHERE state = 'active' ORDER BY submitted_at")
        .all()
        .map((r) => r.id);
      return { failedBatches, copies, activeRequests };
    })
    .immediate();
  s.options.logger?.info(
    {
      batches: result.failedBatches.length,
      copies: result.copies.length,
      requests: result.activeRequests.length,
    },
    'catalog recovered in-flight work',
  );
  return result;
}

export function failBatchRow(
  s: Store,
  batch: BatchRow,
  failure: CopyFailure,
  options: FailOptions,
): FailBatchResult {
  const now = s.now();
  const copies = failInFlightOnDrive(s, batch.drive, failure, batch.id);
  s.stmt(
    "UPDATE batches SET state = 'failed', failed_at = ?, failure = ? WHERE id = ? AND state = 'open'",
  ).run(now, JSON.stringify(failure), batch.id);
  s.event('batch', String(batch.id), 'open', 'failed', { ...failure, copies: copies.length });
  // Bytes of a failed batch were still written: they count towards the drive's and medium's wear and λ.
  s.stmt(
    'UPDATE drives SET bytes_written = bytes_written + ?, bytes_since_error = bytes_since_error + ? WHERE id = ?',
  ).run(batch.bytes, batch.bytes, batch.drive);
  s.stmt('UPDATE media SET bytes_written = bytes_written + ?, updated_at = ? WHERE barcode = ?').run(
    batch.bytes,
    now,
    batch.medium,
  );
  if (options.countAsDeviceError ?? true) {
    const drive = s.driveRow(batch.drive);
    recordErrorRow(s, batch.drive, batch.medium, drive.bytes_since_error, failure);
  }
  let mediumFrozen = false;
  if (options.freezeMedium === true && s.mediumRow(batch.medium).state !== 'frozen') {
    setMediumStateRow(s, batch.medium, 'frozen', `${failure.code}: ${failure.reason}`);
    mediumFrozen = true;
  }
  for (const request of new Set(copies.map((c) => s.copyRow(c.copyId).request)))
    finishRequestIfDone(s, request);
  return { batchId: batch.id, copies, mediumFrozen };
}

export function failInFlightOnDrive(
  s: Store,
  driveId: string,
  failure: CopyFailure,
  batchId?: number,
): FailOutcome[] {
  const rows = s
    .stmt<CopyRow>(
      "SELECT * FROM copies_v WHERE drive = ? AND state IN ('writing', 'written-pending-sync') ORDER BY id",
    )
    .all(driveId);
  const outcomes = rows.map((row) => failCopyRow(s, row, failure, batchId));
  if (batchId === undefined) {
    for (const request of new Set(rows.map((r) => r.request))) finishRequestIfDone(s, request);
  }
  return outcomes;
}

/** `writing | written-pending-sync → failed → retrying | abandoned | cancelled`, with the attempt recorded. */
export function failCopyRow(s: Store, copy: CopyRow, failure: CopyFailure, batchId?: number): FailOutcome {
  assertTransition(copy.id, copy.state, 'failed');
  const now = s.now();
  const attempts = copy.attempts + 1;
  const entry: CopyErrorEntry = {
    ...failure,
    at: now,
    attempt: attempts,
    drive: copy.drive,
    medium: copy.medium,
    batch: copy.batch ?? batchId ?? null,
  };
  const errors: CopyErrorEntry[] = [
    ...(copy.errors === null ? [] : (JSON.parse(copy.errors) as CopyErrorEntry[])),
    entry,
  ];
  s.stmt(
    `UPDATE copies SET state = 'failed', attempts = ?, last_error = ?, errors = ?, updated_at = ?
     WHERE id = ? AND state = ?`,
  ).run(attempts, JSON.stringify(entry), JSON.stringify(errors), now, copy.id, copy.state);
  s.event('copy', String(copy.id), copy.state, 'failed', entry);
  const request = s.requestRow(copy.request);
  const maxAttempts = request.max_attempts ?? s.options.maxAttempts;
  // A live stream's data went past once and cannot be read again: its copy is never requeued.
  const kind = s.stmt<{ kind: string }>('SELECT kind FROM images WHERE id = ?').get(copy.image)?.kind;
  const to: FailOutcome['to'] =
    request.state === 'cancelled'
      ? 'cancelled'
      : attempts >= maxAttempts || kind === 'stream'
        ? 'abandoned'
        : 'retrying';
  assertTransition(copy.id, 'failed', to);
  // Positions of an unproven attempt are dropped: only committed copies carry tape positions.
  s.stmt(
    `UPDATE copies SET state = ?, drive = NULL, medium = NULL, batch = NULL, file_number = NULL,
       block_address = NULL, written_bytes = NULL, sha256 = NULL, updated_at = ?
     WHERE id = ? AND state = 'failed'`,
  ).run(to, now, copy.id);
  s.event('copy', String(copy.id), 'failed', to, { attempts, maxAttempts });
  return { copyId: copy.id, from: copy.state, to, attempts };
}
