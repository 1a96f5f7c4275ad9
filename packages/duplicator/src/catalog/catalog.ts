import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import {
  assertTransition,
  COPY_STATES,
  type CopyState,
  TERMINAL_COPY_STATES,
  WAITING_COPY_STATES,
} from './copy-state';
import { CatalogError } from './errors';
import { migrate } from './migrations';
import { type CatalogOptions, type ResolvedCatalogOptions, resolveCatalogOptions } from './options';
import {
  type BatchRow,
  type CopyRow,
  type DriveRow,
  type EventRow,
  type FragmentRow,
  type ImageRow,
  type MediumRow,
  type QueuedRow,
  type RequestRow,
  toBatch,
  toCopy,
  toDrive,
  toEvent,
  toFragment,
  toImage,
  toMedium,
  toQueued,
  toRequest,
} from './rows';
import type {
  BatchRecord,
  BatchState,
  CatalogEvent,
  CommitBatchInput,
  CopyErrorEntry,
  CopyFailure,
  CopyRecord,
  DriveRecord,
  FailBatchResult,
  FailOutcome,
  FragmentInput,
  FragmentRecord,
  ImageKind,
  ImageRecord,
  MarkWrittenInput,
  MediumRecord,
  MediumState,
  Page,
  QueuedCopy,
  QueueFilter,
  RecoveryResult,
  RequestInput,
  RequestRecord,
  RequestState,
  StateTotals,
  StatusReport,
  SubmitResult,
  TapePosition,
} from './types';
import { MAX_COPIES } from './types';
import * as check from './validate';

const MEDIUM_TRANSITIONS: Readonly<Record<MediumState, readonly MediumState[]>> = {
  scratch: ['active', 'frozen'],
  active: ['full', 'frozen'],
  full: ['frozen'],
  // An operator thaws a frozen medium back to where it was.
  frozen: ['active', 'full'],
};

const REQUEST_STATES: readonly RequestState[] = ['active', 'completed', 'failed', 'cancelled'];
const MEDIUM_STATES: readonly MediumState[] = ['scratch', 'active', 'full', 'frozen'];
const DEFAULT_PAGE = 1000;

export interface PragmaReport {
  readonly journalMode: string;
  /** 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
  readonly synchronous: number;
  readonly foreignKeys: boolean;
  readonly busyTimeoutMs: number;
  readonly userVersion: number;
}

export interface FailOptions {
  /** Freeze the batch's medium so the next attempts go elsewhere. */
  readonly freezeMedium?: boolean;
  /**
   * Count the failure against the drive's and medium's error history (the sync policy's λ). Default true;
   * false for failures that say nothing about the hardware, such as a coordinator restart.
   */
  readonly countAsDeviceError?: boolean;
}

/**
 * The duplicator's catalog: the one record of what is on tape. Synchronous (better-sqlite3), one connection
 * per process; every multi-row change is one transaction, so a crash leaves either all of it or none.
 *
 * The central rule: a copy becomes `committed` only in {@link Catalog.commitBatch}, the transaction that
 * records the good sync covering it; every error since the drive's last good sync fails and requeues every
 * copy in flight on that drive ({@link Catalog.failBatch}, {@link Catalog.failUncommittedOnDrive}).
 */
export class Catalog {
  readonly options: ResolvedCatalogOptions;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();

  constructor(options: CatalogOptions) {
    this.options = resolveCatalogOptions(options);
    this.db = new Database(this.options.path, { timeout: this.options.busyTimeoutMs });
    try {
      // WAL lets readers (status, CLI) run beside the writer; FULL makes each commit durable at once,
      // because a committed copy is a promise that the data is on tape.
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma(`busy_timeout = ${this.options.busyTimeoutMs}`);
      const applied = migrate(this.db);
      if (applied.length > 0) this.options.logger?.info({ applied }, 'catalog schema migrated');
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  pragmas(): PragmaReport {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
      foreignKeys: Number(this.db.pragma('foreign_keys', { simple: true })) === 1,
      busyTimeoutMs: Number(this.db.pragma('busy_timeout', { simple: true })),
      userVersion: Number(this.db.pragma('user_version', { simple: true })),
    };
  }

  // ─── requests ────────────────────────────────────────────────────────────────────────────────────────

  /** Records a request, its images and `copies` queued copies of each, in one transaction. */
  submitRequest(input: RequestInput): SubmitResult {
    const req = check.plainObject(input, 'request');
    const id = req.id === undefined ? randomUUID() : check.nonEmptyString(req.id, 'request.id', 256);
    const pool = check.nonEmptyString(req.pool, 'request.pool', 256);
    const priority =
      req.priority === undefined ? 0 : check.integer(req.priority, 'request.priority', -1e6, 1e6);
    const deadline =
      req.deadline === undefined || req.deadline === null
        ? null
        : check.integer(req.deadline, 'request.deadline', 0);
    const copies = req.copies === undefined ? 1 : check.integer(req.copies, 'request.copies', 1, MAX_COPIES);
    const policy =
      req.policy === undefined
        ? null
        : check.json(check.plainObject(req.policy, 'request.policy'), 'request.policy');
    const maxAttempts =
      req.maxAttempts === undefined ? null : check.integer(req.maxAttempts, 'request.maxAttempts', 1, 1000);
    const images = input.images;
    if (!Array.isArray(images) || images.length === 0 || images.length > this.options.maxImagesPerRequest) {
      throw new CatalogError(
        'INVALID_ARGUMENT',
        `request.images must hold 1 to ${this.options.maxImagesPerRequest} images`,
        { field: 'request.images' },
      );
    }
    // Validate everything before the transaction so a bad image never half-inserts a request.
    const rows = images.map((value, index) => {
      const field = `request.images[${index}]`;
      const image = check.plainObject(value, field);
      return {
        backupId: check.nonEmptyString(image.backupId, `${field}.backupId`, 1024),
        size: check.integer(image.size, `${field}.size`, 0),
        kind: image.kind === undefined ? 'disk' : check.imageKind(image.kind, `${field}.kind`),
        source: image.source === undefined ? null : check.json(image.source, `${field}.source`),
        priority:
          image.priority === undefined
            ? priority
            : check.integer(image.priority, `${field}.priority`, -1e6, 1e6),
      };
    });
    const seen = new Set<string>();
    for (const [index, row] of rows.entries()) {
      if (seen.has(row.backupId)) {
        throw new CatalogError('DUPLICATE', `backup id ${row.backupId} appears twice in the request`, {
          entity: 'image',
          id: row.backupId,
          field: `request.images[${index}].backupId`,
        });
      }
      seen.add(row.backupId);
    }
    const now = this.now();
    const insertImage = this.stmt(
      'INSERT INTO images (request, backup_id, size, kind, source, priority) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const insertCopy = this.stmt(
      `INSERT INTO copies (image, request, copy_number, state, priority, size, queued_at, updated_at)
       VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)`,
    );
    this.db
      .transaction(() => {
        if (this.stmt('SELECT 1 FROM requests WHERE id = ?').get(id) !== undefined) {
          throw new CatalogError('DUPLICATE', `request ${id} already exists`, { entity: 'request', id });
        }
        const seq = this.stmt(
          `INSERT INTO requests (id, state, pool, priority, deadline, copies, policy, max_attempts, submitted_at)
           VALUES (?, 'active', ?, ?, ?, ?, ?, ?, ?)`,
        ).run(id, pool, priority, deadline, copies, policy, maxAttempts, now).lastInsertRowid;
        let bytes = 0;
        for (const row of rows) {
          bytes += row.size * copies;
          const imageId = insertImage.run(
            seq,
            row.backupId,
            row.size,
            row.kind,
            row.source,
            row.priority,
          ).lastInsertRowid;
          for (let n = 1; n <= copies; n++) insertCopy.run(imageId, seq, n, row.priority, row.size, now, now);
        }
        // The one place copies are inserted, so the one place their insert is counted (see the schema).
        this.stmt("INSERT INTO copy_counts (request, state, copies, bytes) VALUES (?, 'queued', ?, ?)").run(
          seq,
          rows.length * copies,
          bytes,
        );
        this.event('request', id, null, 'active', { images: rows.length, copies });
      })
      .immediate();
    return { requestId: id, images: rows.length, copies: rows.length * copies };
  }

  /**
   * Cancels a request: its waiting copies end `cancelled` at once; copies in flight finish their attempt
   * (a good sync still commits them, a failure cancels them instead of retrying).
   */
  cancelRequest(requestId: string, reason = 'cancelled by request'): { cancelled: number; inFlight: number } {
    return this.db
      .transaction(() => {
        const request = this.requestRow(requestId);
        if (request.state === 'cancelled') return { cancelled: 0, inFlight: this.inFlightCount(requestId) };
        if (request.state !== 'active') {
          throw new CatalogError('BAD_TRANSITION', `request ${requestId} is already ${request.state}`, {
            entity: 'request',
            id: requestId,
            from: request.state,
            to: 'cancelled',
          });
        }
        for (const from of WAITING_COPY_STATES) assertTransition(0, from, 'cancelled');
        this.stmt("UPDATE requests SET state = 'cancelled' WHERE id = ?").run(requestId);
        const cancelled = this.stmt(
          `UPDATE copies SET state = 'cancelled', updated_at = ?
           WHERE request = ? AND state IN ('queued', 'retrying')`,
        ).run(this.now(), request.seq).changes;
        const inFlight = this.inFlightCount(requestId);
        this.event('request', requestId, 'active', 'cancelled', { reason, cancelled, inFlight });
        this.finishRequestIfDone(requestId);
        return { cancelled, inFlight };
      })
      .immediate();
  }

  getRequest(requestId: string): RequestRecord {
    return toRequest(this.requestRow(requestId));
  }

  listRequests(filter: { state?: RequestState } & Page = {}): RequestRecord[] {
    const { limit, offset } = this.page(filter);
    const rows =
      filter.state === undefined
        ? this.stmt<RequestRow>('SELECT * FROM requests ORDER BY submitted_at, id LIMIT ? OFFSET ?').all(
            limit,
            offset,
          )
        : this.stmt<RequestRow>(
            'SELECT * FROM requests WHERE state = ? ORDER BY submitted_at, id LIMIT ? OFFSET ?',
          ).all(filter.state, limit, offset);
    return rows.map(toRequest);
  }

  /**
   * Copies and image bytes per copy state, for one request or the whole catalog. Reads the trigger-kept
   * `copy_counts` table, so its cost does not grow with the number of copies.
   */
  status(requestId?: string): StatusReport {
    const byState = Object.fromEntries(COPY_STATES.map((s) => [s, { copies: 0, bytes: 0 }])) as Record<
      CopyState,
      { copies: number; bytes: number }
    >;
    const requests = Object.fromEntries(REQUEST_STATES.map((s) => [s, 0])) as Record<RequestState, number>;
    let request: RequestRecord | null = null;
    const read = this.db.transaction(() => {
      let counts: { state: CopyState; copies: number; bytes: number }[];
      if (requestId === undefined) {
        counts = this.stmt<{ state: CopyState; copies: number; bytes: number }>(
          'SELECT state, SUM(copies) AS copies, SUM(bytes) AS bytes FROM copy_counts GROUP BY state',
        ).all();
        for (const row of this.stmt<{ state: RequestState; n: number }>(
          'SELECT state, COUNT(*) AS n FROM requests GROUP BY state',
        ).all()) {
          requests[row.state] = row.n;
        }
      } else {
        request = toRequest(this.requestRow(requestId));
        requests[request.state] = 1;
        counts = this.stmt<{ state: CopyState; copies: number; bytes: number }>(
          'SELECT state, copies, bytes FROM copy_counts WHERE request = ?',
        ).all(this.requestRow(requestId).seq);
      }
      for (const row of counts) byState[row.state] = { copies: row.copies, bytes: row.bytes };
    });
    read.deferred();
    const total: StateTotals = Object.values(byState).reduce(
      (sum, s) => ({ copies: sum.copies + s.copies, bytes: sum.bytes + s.bytes }),
      { copies: 0, bytes: 0 },
    );
    return { request, byState, total, requests };
  }

  // ─── the queue ───────────────────────────────────────────────────────────────────────────────────────

  /** Waiting copies (queued or retrying), highest priority first, then in submission order. */
  nextQueued(limit: number, filter: QueueFilter = {}): QueuedCopy[] {
    const n = check.integer(limit, 'limit', 1, 100_000);
    const where = ["c.state IN ('queued', 'retrying')"];
    const params: unknown[] = [];
    if (filter.pool !== undefined) {
      where.push('r.pool = ?');
      params.push(check.nonEmptyString(filter.pool, 'filter.pool'));
    }
    if (filter.requestId !== undefined) {
      where.push('r.id = ?');
      params.push(check.nonEmptyString(filter.requestId, 'filter.requestId'));
    }
    if (filter.kind !== undefined) {
      where.push('i.kind = ?');
      params.push(check.imageKind(filter.kind, 'filter.kind'));
    }
    const sql = `SELECT c.id, c.image, r.id AS request, i.backup_id, c.copy_number, c.state, c.priority, c.size, i.kind,
                        i.source, r.pool, r.deadline, c.attempts, c.errors
                 FROM copies c INDEXED BY copies_waiting
                 JOIN images i ON i.id = c.image JOIN requests r ON r.seq = c.request
                 WHERE ${where.join(' AND ')}
                 ORDER BY c.priority DESC, c.id LIMIT ?`;
    return this.stmt<QueuedRow>(sql)
      .all(...params, n)
      .map(toQueued);
  }

  // ─── copies through their state machine ──────────────────────────────────────────────────────────────

  /** A waiting copy goes to a drive: `queued | retrying → writing`. The medium must be active. */
  startWriting(copyId: number, driveId: string, medium: string): CopyRecord {
    return this.db
      .transaction(() => {
        const copy = this.copyRow(copyId);
        assertTransition(copyId, copy.state, 'writing');
        this.driveRow(driveId);
        const m = this.mediumRow(medium);
        if (m.state !== 'active') {
          throw new CatalogError('MEDIUM_UNAVAILABLE', `medium ${medium} is ${m.state}`, {
            entity: 'medium',
            id: medium,
            details: { state: m.state },
          });
        }
        const sibling = this.stmt(
          `SELECT id FROM copies WHERE image = ? AND id <> ? AND medium = ?
           AND state IN ('writing', 'written-pending-sync', 'committed')`,
        ).get(copy.image, copyId, medium);
        if (sibling !== undefined) {
          throw new CatalogError(
            'SAME_MEDIUM',
            `another copy of image ${copy.image} is on medium ${medium}`,
            {
              entity: 'copy',
              id: copyId,
              details: { medium, image: copy.image },
            },
          );
        }
        this.stmt(
          `UPDATE copies SET state = 'writing', drive = ?, medium = ?, batch = NULL, file_number = NULL,
             block_address = NULL, written_bytes = NULL, sha256 = NULL, updated_at = ?
           WHERE id = ? AND state = ?`,
        ).run(driveId, medium, this.now(), copyId, copy.state);
        this.event('copy', String(copyId), copy.state, 'writing', { drive: driveId, medium });
        return toCopy(this.copyRow(copyId));
      })
      .immediate();
  }

  /**
   * The writer finished the copy's data (trailer and filemark sent, not yet synced):
   * `writing → written-pending-sync`, joined to the drive's open batch. A copy that spanned onto the batch's
   * medium moves to it here.
   */
  markWritten(copyId: number, batchId: number, written: MarkWrittenInput): CopyRecord {
    const w = check.plainObject(written, 'written');
    const pos = check.position(w, 'written');
    const bytes = check.integer(w.bytes, 'written.bytes', 0);
    const sha = w.sha256 === undefined ? null : check.sha256(w.sha256, 'written.sha256');
    return this.db
      .transaction(() => {
        const copy = this.copyRow(copyId);
        assertTransition(copyId, copy.state, 'written-pending-sync');
        const batch = this.openBatchRow(batchId);
        if (copy.drive !== batch.drive) {
          throw new CatalogError(
            'DRIVE_MISMATCH',
            `copy ${copyId} is on drive ${copy.drive}, batch ${batchId} on ${batch.drive}`,
            {
              entity: 'copy',
              id: copyId,
              details: { copyDrive: copy.drive, batchDrive: batch.drive },
            },
          );
        }
        this.stmt(
          `UPDATE copies SET state = 'written-pending-sync', batch = ?, medium = ?, file_number = ?,
             block_address = ?, written_bytes = ?, sha256 = ?, updated_at = ?
           WHERE id = ? AND state = 'writing'`,
        ).run(batchId, batch.medium, pos.fileNumber, pos.blockAddress, bytes, sha, this.now(), copyId);
        this.stmt('UPDATE batches SET bytes = bytes + ?, image_count = image_count + 1 WHERE id = ?').run(
          bytes,
          batchId,
        );
        this.event('copy', String(copyId), 'writing', 'written-pending-sync', {
          batch: batchId,
          ...pos,
          bytes,
        });
        return toCopy(this.copyRow(copyId));
      })
      .immediate();
  }

  /**
   * A single copy failed on its own (e.g. its stream stopped mid-image in an MPX group) while the rest of the
   * batch goes on: `writing | written-pending-sync → failed → retrying | abandoned | cancelled`.
   */
  failCopy(copyId: number, failure: CopyFailure): FailOutcome {
    const f = check.failure(failure, 'failure');
    return this.db
      .transaction(() => {
        const copy = this.copyRow(copyId);
        const outcome = this.failCopyRow(copy, f);
        this.finishRequestIfDone(copy.request);
        return outcome;
      })
      .immediate();
  }

  getCopy(copyId: number): CopyRecord {
    return toCopy(this.copyRow(copyId));
  }

  listCopies(
    filter: {
      requestId?: string;
      imageId?: number;
      state?: CopyState;
      medium?: string;
      batch?: number;
    } & Page = {},
  ): CopyRecord[] {
    const { limit, offset } = this.page(filter);
    const { where, params } = whereClause([
      ['request = ?', filter.requestId],
      ['image = ?', filter.imageId],
      ['state = ?', filter.state],
      ['medium = ?', filter.medium],
      ['batch = ?', filter.batch],
    ]);
    const sql = `SELECT * FROM copies_v ${where}
                 ORDER BY id LIMIT ? OFFSET ?`;
    return this.stmt<CopyRow>(sql)
      .all(...params, limit, offset)
      .map(toCopy);
  }

  getImage(imageId: number): ImageRecord {
    const row = this.stmt<ImageRow>('SELECT * FROM images_v WHERE id = ?').get(imageId);
    if (row === undefined) throw notFound('image', imageId);
    return toImage(row);
  }

  listImages(filter: { requestId?: string; kind?: ImageKind } & Page = {}): ImageRecord[] {
    const { limit, offset } = this.page(filter);
    const { where, params } = whereClause([
      ['request = ?', filter.requestId],
      ['kind = ?', filter.kind],
    ]);
    const sql = `SELECT * FROM images_v ${where}
                 ORDER BY id LIMIT ? OFFSET ?`;
    return this.stmt<ImageRow>(sql)
      .all(...params, limit, offset)
      .map(toImage);
  }

  /** Fragments of one copy (in order), or every fragment on one medium (in tape order). */
  listFragments(filter: { copyId: number } | { medium: string }): FragmentRecord[] {
    const rows =
      'copyId' in filter
        ? this.stmt<FragmentRow>('SELECT * FROM fragments WHERE copy = ? ORDER BY sequence').all(
            filter.copyId,
          )
        : this.stmt<FragmentRow>(
            'SELECT * FROM fragments WHERE medium = ? ORDER BY file_number, block_address, copy, sequence',
          ).all(filter.medium);
    return rows.map(toFragment);
  }

  // ─── batches: the copies written since a drive's last good sync ──────────────────────────────────────

  /** Opens the drive's batch on an active medium. A drive has at most one open batch. */
  openBatch(driveId: string, medium: string): BatchRecord {
    return this.db
      .transaction(() => {
        this.driveRow(driveId);
        const m = this.mediumRow(medium);
        if (m.state !== 'active') {
          throw new CatalogError('MEDIUM_UNAVAILABLE', `medium ${medium} is ${m.state}`, {
            entity: 'medium',
            id: medium,
            details: { state: m.state },
          });
        }
        const open = this.stmt<{ id: number }>(
          "SELECT id FROM batches WHERE drive = ? AND state = 'open'",
        ).get(driveId);
        if (open !== undefined) {
          throw new CatalogError('DUPLICATE', `drive ${driveId} already has open batch ${open.id}`, {
            entity: 'batch',
            id: open.id,
            details: { drive: driveId },
          });
        }
        const id = Number(
          this.stmt("INSERT INTO batches (drive, medium, state, opened_at) VALUES (?, ?, 'open', ?)").run(
            driveId,
            medium,
            this.now(),
          ).lastInsertRowid,
        );
        this.event('batch', String(id), null, 'open', { drive: driveId, medium });
        return toBatch(this.batchRow(id));
      })
      .immediate();
  }

  getBatch(batchId: number): BatchRecord {
    return toBatch(this.batchRow(batchId));
  }

  openBatchOf(driveId: string): BatchRecord | null {
    const row = this.stmt<BatchRow>("SELECT * FROM batches WHERE drive = ? AND state = 'open'").get(driveId);
    return row === undefined ? null : toBatch(row);
  }

  listBatches(filter: { drive?: string; state?: BatchState } & Page = {}): BatchRecord[] {
    const { limit, offset } = this.page(filter);
    const { where, params } = whereClause([
      ['drive = ?', filter.drive],
      ['state = ?', filter.state],
    ]);
    const sql = `SELECT * FROM batches ${where}
                 ORDER BY id LIMIT ? OFFSET ?`;
    return this.stmt<BatchRow>(sql)
      .all(...params, limit, offset)
      .map(toBatch);
  }

  /**
   * Records a good sync, in ONE transaction: the batch becomes `synced`, exactly the listed copies become
   * `committed` with their positions, checksums and fragments, the medium's last committed position moves to
   * `positionAfterSync`, and the drive's sync cost is updated. The list must name every copy
   * written-pending-sync in the batch and nothing else, and every position must be consistent with the
   * medium's committed data; otherwise nothing at all changes.
   */
  commitBatch(batchId: number, input: CommitBatchInput): BatchRecord {
    const body = check.plainObject(input, 'commit');
    const after = check.position(body.positionAfterSync, 'commit.positionAfterSync');
    const syncDurationMs = check.finiteNumber(body.syncDurationMs, 'commit.syncDurationMs', 0);
    if (!Array.isArray(body.committed)) {
      throw new CatalogError('INVALID_ARGUMENT', 'commit.committed must be an array', {
        field: 'commit.committed',
      });
    }
    const entries = (input.committed as readonly unknown[]).map((value, index) => {
      const field = `commit.committed[${index}]`;
      const e = check.plainObject(value, field);
      return {
        copyId: check.integer(e.copyId, `${field}.copyId`, 1),
        medium: check.nonEmptyString(e.medium, `${field}.medium`, 64),
        fileNumber: check.integer(e.fileNumber, `${field}.fileNumber`, 0),
        blockAddress: check.integer(e.blockAddress, `${field}.blockAddress`, 0),
        sha256: check.sha256(e.sha256, `${field}.sha256`),
        fragments:
          e.fragments === undefined
            ? undefined
            : (() => {
                if (!Array.isArray(e.fragments)) {
                  throw new CatalogError('INVALID_ARGUMENT', `${field}.fragments must be an array`, {
                    field: `${field}.fragments`,
                  });
                }
                return (e.fragments as readonly unknown[]).map((f, i) =>
                  check.fragment(f, `${field}.fragments[${i}]`),
                );
              })(),
      };
    });
    return this.db
      .transaction(() => {
        const batch = this.openBatchRow(batchId);
        const medium = this.mediumRow(batch.medium);
        const last = { fileNumber: medium.last_file_number, blockAddress: medium.last_block_address };
        if (after.fileNumber < last.fileNumber || after.blockAddress < last.blockAddress) {
          throw new CatalogError(
            'BAD_POSITION',
            `position after sync is before the committed end of ${medium.barcode}`,
            {
              entity: 'batch',
              id: batchId,
              details: { after, lastCommitted: last },
            },
          );
        }
        const pending = new Map(
          this.stmt<CopyRow>("SELECT * FROM copies_v WHERE batch = ? AND state = 'written-pending-sync'")
            .all(batchId)
            .map((row) => [row.id, row]),
        );
        const named = new Set<number>();
        for (const entry of entries) {
          if (named.has(entry.copyId)) {
            throw new CatalogError('DUPLICATE', `copy ${entry.copyId} is listed twice`, {
              entity: 'copy',
              id: entry.copyId,
            });
          }
          named.add(entry.copyId);
          if (!pending.has(entry.copyId)) {
            const state = this.stmt<{ state: string; batch: number | null }>(
              'SELECT state, batch FROM copies WHERE id = ?',
            ).get(entry.copyId);
            throw new CatalogError(
              'NOT_IN_BATCH',
              `copy ${entry.copyId} is not written-pending-sync in batch ${batchId}`,
              {
                entity: 'copy',
                id: entry.copyId,
                details: { batch: batchId, state: state?.state ?? null, copyBatch: state?.batch ?? null },
              },
            );
          }
        }
        const missing = [...pending.keys()].filter((id) => !named.has(id));
        if (missing.length > 0) {
          throw new CatalogError(
            'INCOMPLETE_COMMIT',
            `batch ${batchId} commit leaves copies ${missing.join(', ')} pending`,
            {
              entity: 'batch',
              id: batchId,
              details: { missing },
            },
          );
        }
        const now = this.now();
        const insertFragment = this.stmt(
          `INSERT INTO fragments (copy, sequence, medium, file_number, block_address, offset, length)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        );
        let committedBytes = 0;
        for (const entry of entries) {
          const copy = pending.get(entry.copyId)!;
          const fragments = this.checkFragments(copy, entry, batch, last, after);
          if (copy.sha256 !== null && copy.sha256 !== entry.sha256) {
            throw new CatalogError(
              'CHECKSUM_MISMATCH',
              `copy ${copy.id} reported two different SHA-256 values`,
              {
                entity: 'copy',
                id: copy.id,
                details: { written: copy.sha256, committed: entry.sha256 },
              },
            );
          }
          const total = fragments.reduce((sum, f) => sum + f.length, 0);
          this.stmt('DELETE FROM fragments WHERE copy = ?').run(copy.id);
          for (const [sequence, f] of fragments.entries()) {
            insertFragment.run(copy.id, sequence, f.medium, f.fileNumber, f.blockAddress, f.offset, f.length);
          }
          committedBytes += fragments
            .filter((f) => f.medium === batch.medium)
            .reduce((s, f) => s + f.length, 0);
          assertTransition(copy.id, copy.state, 'committed');
          this.stmt(
            `UPDATE copies SET state = 'committed', medium = ?, file_number = ?, block_address = ?, sha256 = ?,
               written_bytes = ?, committed_at = ?, updated_at = ?
             WHERE id = ? AND state = 'written-pending-sync' AND batch = ?`,
          ).run(
            entry.medium,
            entry.fileNumber,
            entry.blockAddress,
            entry.sha256,
            total,
            now,
            now,
            copy.id,
            batchId,
          );
          this.event('copy', String(copy.id), 'written-pending-sync', 'committed', {
            batch: batchId,
            medium: entry.medium,
            fileNumber: entry.fileNumber,
            blockAddress: entry.blockAddress,
            fragments: fragments.length,
          });
        }
        this.stmt(
          "UPDATE batches SET state = 'synced', synced_at = ?, sync_duration_ms = ? WHERE id = ? AND state = 'open'",
        ).run(now, syncDurationMs, batchId);
        this.stmt(
          `UPDATE media SET last_file_number = ?, last_block_address = ?, committed_bytes = committed_bytes + ?,
             bytes_written = bytes_written + ?, updated_at = ? WHERE barcode = ?`,
        ).run(after.fileNumber, after.blockAddress, committedBytes, batch.bytes, now, batch.medium);
        this.recordSyncRow(batch.drive, syncDurationMs / 1000, batch.bytes);
        this.event('batch', String(batchId), 'open', 'synced', {
          committed: entries.length,
          positionAfterSync: after,
          syncDurationMs,
        });
        for (const request of new Set([...pending.values()].map((c) => c.request)))
          this.finishRequestIfDone(request);
        return toBatch(this.batchRow(batchId));
      })
      .immediate();
  }

  /**
   * Records a failed batch (failed write, deferred error, failed sync, position mismatch), in one transaction:
   * every copy in flight on the batch's drive (written-pending-sync in the batch, or still being written)
   * fails, its attempt is counted, and it is requeued as `retrying`, or `abandoned` once it has used its
   * attempts, or `cancelled` when its request was. The error is recorded against the drive and the medium,
   * and the medium is frozen when asked.
   */
  failBatch(batchId: number, failure: CopyFailure, options: FailOptions = {}): FailBatchResult {
    const f = check.failure(failure, 'failure');
    return this.db
      .transaction(() => {
        const batch = this.openBatchRow(batchId);
        return this.failBatchRow(batch, f, options);
      })
      .immediate();
  }

  /**
   * A writer died (or its drive vanished): its open batch fails and every copy in flight on the drive is
   * failed and requeued, since none of it was proven on tape.
   */
  failUncommittedOnDrive(
    driveId: string,
    failure: CopyFailure,
    options: FailOptions = {},
  ): FailBatchResult | null {
    const f = check.failure(failure, 'failure');
    return this.db
      .transaction(() => {
        this.driveRow(driveId);
        const batch = this.stmt<BatchRow>("SELECT * FROM batches WHERE drive = ? AND state = 'open'").get(
          driveId,
        );
        if (batch !== undefined) return this.failBatchRow(batch, f, options);
        const copies = this.failInFlightOnDrive(driveId, f);
        return copies.length === 0 ? null : { batchId: null, copies, mediumFrozen: false };
      })
      .immediate();
  }

  /**
   * For a duplicator restart: nothing in flight survived, so every open batch fails and every copy in
   * `writing` or `written-pending-sync` goes back to the queue (it was never proven on tape). Restart
   * failures count towards a copy's attempts but not against the drive's or medium's error history.
   */
  recoverInFlight(reason = 'duplicator restarted'): RecoveryResult {
    const failure: CopyFailure = { code: 'DUPLICATOR_RESTART', reason };
    const result = this.db
      .transaction(() => {
        const failedBatches: number[] = [];
        const copies: FailOutcome[] = [];
        for (const batch of this.stmt<BatchRow>(
          "SELECT * FROM batches WHERE state = 'open' ORDER BY id",
        ).all()) {
          failedBatches.push(batch.id);
          copies.push(...this.failBatchRow(batch, failure, { countAsDeviceError: false }).copies);
        }
        const drives = this.stmt<{ drive: string | null }>(
          "SELECT DISTINCT drive FROM copies WHERE state IN ('writing', 'written-pending-sync')",
        ).all();
        for (const { drive } of drives) {
          if (drive !== null) copies.push(...this.failInFlightOnDrive(drive, failure));
        }
        const activeRequests = this.stmt<{ id: string }>(
          "SELECT id FROM requests WHERE state = 'active' ORDER BY submitted_at",
        )
          .all()
          .map((r) => r.id);
        return { failedBatches, copies, activeRequests };
      })
      .immediate();
    this.options.logger?.info(
      {
        batches: result.failedBatches.length,
        copies: result.copies.length,
        requests: result.activeRequests.length,
      },
      'catalog recovered in-flight work',
    );
    return result;
  }

  // ─── media ───────────────────────────────────────────────────────────────────────────────────────────

  addMedium(barcode: string, pool: string, state: MediumState = 'scratch'): MediumRecord {
    const b = check.nonEmptyString(barcode, 'barcode', 64);
    const p = check.nonEmptyString(pool, 'pool', 256);
    if (!MEDIUM_STATES.includes(state)) {
      throw new CatalogError('INVALID_ARGUMENT', 'state must be a medium state', { field: 'state' });
    }
    return this.db
      .transaction(() => {
        if (this.stmt('SELECT 1 FROM media WHERE barcode = ?').get(b) !== undefined) {
          throw new CatalogError('DUPLICATE', `medium ${b} already exists`, { entity: 'medium', id: b });
        }
        this.stmt('INSERT INTO media (barcode, pool, state, updated_at) VALUES (?, ?, ?, ?)').run(
          b,
          p,
          state,
          this.now(),
        );
        this.event('medium', b, null, state, { pool: p });
        return toMedium(this.mediumRow(b));
      })
      .immediate();
  }

  /** Takes the first scratch medium of the pool (by barcode) not in `exclude` and makes it active. */
  allocateScratch(pool: string, exclude: readonly string[] = []): MediumRecord {
    const p = check.nonEmptyString(pool, 'pool', 256);
    const skip = new Set(exclude);
    return this.db
      .transaction(() => {
        const candidates = this.stmt<{ barcode: string }>(
          "SELECT barcode FROM media WHERE pool = ? AND state = 'scratch' ORDER BY barcode",
        ).all(p);
        for (const { barcode } of candidates) {
          if (skip.has(barcode)) continue;
          return this.setMediumStateRow(barcode, 'active', 'allocated from scratch');
        }
        throw new CatalogError('NO_SCRATCH', `no scratch medium left in pool ${p}`, {
          entity: 'medium',
          details: { pool: p, excluded: [...skip] },
        });
      })
      .immediate();
  }

  setMediumState(barcode: string, state: MediumState, reason: string): MediumRecord {
    return this.db.transaction(() => this.setMediumStateRow(barcode, state, reason)).immediate();
  }

  /** Where writing resumes on this medium after a failure: the end of its last committed data. */
  lastCommittedPosition(barcode: string): TapePosition {
    return toMedium(this.mediumRow(barcode)).lastCommitted;
  }

  getMedium(barcode: string): MediumRecord {
    return toMedium(this.mediumRow(barcode));
  }

  listMedia(filter: { pool?: string; state?: MediumState } & Page = {}): MediumRecord[] {
    const { limit, offset } = this.page(filter);
    const { where, params } = whereClause([
      ['pool = ?', filter.pool],
      ['state = ?', filter.state],
    ]);
    const sql = `SELECT * FROM media ${where}
                 ORDER BY barcode LIMIT ? OFFSET ?`;
    return this.stmt<MediumRow>(sql)
      .all(...params, limit, offset)
      .map(toMedium);
  }

  // ─── drives ──────────────────────────────────────────────────────────────────────────────────────────

  /** Registers a drive, or updates its spec when it is already known (its history is kept). */
  registerDrive(driveId: string, spec: string): DriveRecord {
    const id = check.nonEmptyString(driveId, 'driveId', 256);
    const s = check.nonEmptyString(spec, 'spec', 4096);
    this.stmt(
      `INSERT INTO drives (id, spec, registered_at) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET spec = excluded.spec`,
    ).run(id, s, this.now());
    return toDrive(this.driveRow(id));
  }

  heartbeat(driveId: string): void {
    if (
      this.stmt('UPDATE drives SET last_heartbeat = ? WHERE id = ?').run(this.now(), driveId).changes === 0
    ) {
      throw notFound('drive', driveId);
    }
  }

  /** Folds one synchronous filemark's duration into the drive's sync cost and counts the bytes it covered. */
  recordSync(driveId: string, seconds: number, bytes: number): DriveRecord {
    const s = check.finiteNumber(seconds, 'seconds', 0);
    const b = check.integer(bytes, 'bytes', 0);
    return this.db
      .transaction(() => {
        this.recordSyncRow(driveId, s, b);
        return toDrive(this.driveRow(driveId));
      })
      .immediate();
  }

  /** Counts one write error against the drive (and the medium, when given). */
  recordError(driveId: string, medium: string | null, bytesSinceLastError: number): DriveRecord {
    const b = check.integer(bytesSinceLastError, 'bytesSinceLastError', 0);
    return this.db
      .transaction(() => {
        this.recordErrorRow(driveId, medium, b, null);
        return toDrive(this.driveRow(driveId));
      })
      .immediate();
  }

  getDrive(driveId: string): DriveRecord {
    return toDrive(this.driveRow(driveId));
  }

  listDrives(): DriveRecord[] {
    return this.stmt<DriveRow>('SELECT * FROM drives ORDER BY id').all().map(toDrive);
  }

  /** The audit trail of one record (or of all), oldest first. */
  listEvents(filter: { entity?: string; subject?: string | number } & Page = {}): CatalogEvent[] {
    const { limit, offset } = this.page(filter);
    const { where, params } = whereClause([
      ['entity = ?', filter.entity],
      ['subject = ?', filter.subject === undefined ? undefined : String(filter.subject)],
    ]);
    const sql = `SELECT * FROM events ${where}
                 ORDER BY id LIMIT ? OFFSET ?`;
    return this.stmt<EventRow>(sql)
      .all(...params, limit, offset)
      .map(toEvent);
  }

  // ─── internals (called inside transactions) ──────────────────────────────────────────────────────────

  private now(): number {
    return Math.round(this.options.clock());
  }

  private stmt<R = unknown>(sql: string): Database.Statement<unknown[], R> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(sql, statement);
    }
    return statement as Database.Statement<unknown[], R>;
  }

  private page(page: Page): { limit: number; offset: number } {
    return {
      limit: page.limit === undefined ? DEFAULT_PAGE : check.integer(page.limit, 'limit', 1, 1_000_000),
      offset: page.offset === undefined ? 0 : check.integer(page.offset, 'offset', 0),
    };
  }

  private event(
    entity: string,
    subject: string,
    from: string | null,
    to: string | null,
    detail: unknown,
  ): void {
    this.stmt(
      'INSERT INTO events (at, entity, subject, from_state, to_state, detail) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(this.now(), entity, subject, from, to, detail === undefined ? null : JSON.stringify(detail));
  }

  private requestRow(id: string): RequestRow {
    const row = this.stmt<RequestRow>('SELECT * FROM requests WHERE id = ?').get(id);
    if (row === undefined) throw notFound('request', id);
    return row;
  }

  private copyRow(id: number): CopyRow {
    const row = this.stmt<CopyRow>('SELECT * FROM copies_v WHERE id = ?').get(id);
    if (row === undefined) throw notFound('copy', id);
    return row;
  }

  private batchRow(id: number): BatchRow {
    const row = this.stmt<BatchRow>('SELECT * FROM batches WHERE id = ?').get(id);
    if (row === undefined) throw notFound('batch', id);
    return row;
  }

  private openBatchRow(id: number): BatchRow {
    const row = this.batchRow(id);
    if (row.state !== 'open') {
      throw new CatalogError('BATCH_NOT_OPEN', `batch ${id} is ${row.state}`, {
        entity: 'batch',
        id,
        details: { state: row.state },
      });
    }
    return row;
  }

  private mediumRow(barcode: string): MediumRow {
    const row = this.stmt<MediumRow>('SELECT * FROM media WHERE barcode = ?').get(barcode);
    if (row === undefined) throw notFound('medium', barcode);
    return row;
  }

  private driveRow(id: string): DriveRow {
    const row = this.stmt<DriveRow>('SELECT * FROM drives WHERE id = ?').get(id);
    if (row === undefined) throw notFound('drive', id);
    return row;
  }

  private inFlightCount(requestId: string): number {
    return (
      this.stmt<{ n: number | null }>(
        "SELECT SUM(copies) AS n FROM copy_counts WHERE request = ? AND state IN ('writing', 'written-pending-sync')",
      ).get(this.requestRow(requestId).seq)?.n ?? 0
    );
  }

  /** Closes a request once none of its copies can change any more. */
  private finishRequestIfDone(requestId: string): void {
    const counts = new Map(
      this.stmt<{ state: CopyState; copies: number }>(
        'SELECT state, copies FROM copy_counts WHERE request = ?',
      )
        .all(this.requestRow(requestId).seq)
        .map((r) => [r.state, r.copies]),
    );
    const open = COPY_STATES.filter((s) => !TERMINAL_COPY_STATES.includes(s)).some(
      (s) => (counts.get(s) ?? 0) > 0,
    );
    if (open) return;
    const request = this.requestRow(requestId);
    if (request.finished_at !== null) return;
    const state: RequestState =
      request.state === 'cancelled'
        ? 'cancelled'
        : (counts.get('abandoned') ?? 0) > 0
          ? 'failed'
          : 'completed';
    this.stmt('UPDATE requests SET state = ?, finished_at = ? WHERE id = ?').run(
      state,
      this.now(),
      requestId,
    );
    this.event('request', requestId, request.state, state, {
      committed: counts.get('committed') ?? 0,
      abandoned: counts.get('abandoned') ?? 0,
      cancelled: counts.get('cancelled') ?? 0,
    });
  }

  /**
   * Checks a committed copy's fragments against the batch and the media, and returns them (the implied single
   * fragment when none were given). Throws `BAD_FRAGMENTS` or `BAD_POSITION`.
   */
  private checkFragments(
    copy: CopyRow,
    entry: {
      copyId: number;
      medium: string;
      fileNumber: number;
      blockAddress: number;
      fragments: FragmentInput[] | undefined;
    },
    batch: BatchRow,
    last: TapePosition,
    after: TapePosition,
  ): FragmentInput[] {
    const fragments = entry.fragments ?? [
      {
        medium: entry.medium,
        fileNumber: entry.fileNumber,
        blockAddress: entry.blockAddress,
        offset: 0,
        length: copy.written_bytes ?? copy.size,
      },
    ];
    const fail = (
      code: 'BAD_FRAGMENTS' | 'BAD_POSITION',
      message: string,
      details: Record<string, unknown> = {},
    ) => new CatalogError(code, `copy ${copy.id}: ${message}`, { entity: 'copy', id: copy.id, details });
    const first = fragments[0];
    const final = fragments[fragments.length - 1];
    if (first === undefined || final === undefined) throw fail('BAD_FRAGMENTS', 'has no fragments');
    if (
      first.medium !== entry.medium ||
      first.fileNumber !== entry.fileNumber ||
      first.blockAddress !== entry.blockAddress
    ) {
      throw fail('BAD_FRAGMENTS', 'its position is not that of its first fragment', { first, entry });
    }
    if (final.medium !== batch.medium) {
      throw fail('BAD_FRAGMENTS', `its last fragment is not on the batch medium ${batch.medium}`, {
        last: final,
      });
    }
    let expectedOffset = 0;
    for (const [index, f] of fragments.entries()) {
      if (f.offset !== expectedOffset) {
        throw fail(
          'BAD_FRAGMENTS',
          `fragment ${index} starts at byte ${f.offset}, expected ${expectedOffset}`,
        );
      }
      expectedOffset += f.length;
      if (f.medium === batch.medium) {
        // Data of this batch lies after the medium's committed end and before the position the sync confirmed.
        if (f.fileNumber < last.fileNumber || f.blockAddress < last.blockAddress) {
          throw fail('BAD_POSITION', `fragment ${index} lies inside committed data`, {
            fragment: f,
            lastCommitted: last,
          });
        }
        if (f.fileNumber > after.fileNumber || f.blockAddress >= after.blockAddress) {
          throw fail('BAD_POSITION', `fragment ${index} lies beyond the position after the sync`, {
            fragment: f,
            after,
          });
        }
      } else {
        // A fragment on an earlier medium of a spanned copy must already be covered by a sync on that medium.
        const other = this.stmt<MediumRow>('SELECT * FROM media WHERE barcode = ?').get(f.medium);
        if (other === undefined)
          throw fail('BAD_FRAGMENTS', `fragment ${index} names unknown medium ${f.medium}`);
        if (f.blockAddress >= other.last_block_address || f.fileNumber > other.last_file_number) {
          throw fail('BAD_POSITION', `fragment ${index} on ${f.medium} is not covered by a sync`, {
            fragment: f,
            lastCommitted: { fileNumber: other.last_file_number, blockAddress: other.last_block_address },
          });
        }
      }
    }
    const image = this.stmt<{ kind: ImageKind }>('SELECT kind FROM images WHERE id = ?').get(copy.image);
    if (image?.kind === 'disk' && expectedOffset !== copy.size) {
      throw fail('BAD_FRAGMENTS', `fragments hold ${expectedOffset} bytes of a ${copy.size}-byte image`, {
        bytes: expectedOffset,
        size: copy.size,
      });
    }
    return fragments;
  }

  private failBatchRow(batch: BatchRow, failure: CopyFailure, options: FailOptions): FailBatchResult {
    const now = this.now();
    const copies = this.failInFlightOnDrive(batch.drive, failure, batch.id);
    this.stmt(
      "UPDATE batches SET state = 'failed', failed_at = ?, failure = ? WHERE id = ? AND state = 'open'",
    ).run(now, JSON.stringify(failure), batch.id);
    this.event('batch', String(batch.id), 'open', 'failed', { ...failure, copies: copies.length });
    // Bytes of a failed batch were still written: they count towards the drive's and medium's wear and λ.
    this.stmt(
      'UPDATE drives SET bytes_written = bytes_written + ?, bytes_since_error = bytes_since_error + ? WHERE id = ?',
    ).run(batch.bytes, batch.bytes, batch.drive);
    this.stmt('UPDATE media SET bytes_written = bytes_written + ?, updated_at = ? WHERE barcode = ?').run(
      batch.bytes,
      now,
      batch.medium,
    );
    if (options.countAsDeviceError ?? true) {
      const drive = this.driveRow(batch.drive);
      this.recordErrorRow(batch.drive, batch.medium, drive.bytes_since_error, failure);
    }
    let mediumFrozen = false;
    if (options.freezeMedium === true && this.mediumRow(batch.medium).state !== 'frozen') {
      this.setMediumStateRow(batch.medium, 'frozen', `${failure.code}: ${failure.reason}`);
      mediumFrozen = true;
    }
    for (const request of new Set(copies.map((c) => this.copyRow(c.copyId).request)))
      this.finishRequestIfDone(request);
    return { batchId: batch.id, copies, mediumFrozen };
  }

  private failInFlightOnDrive(driveId: string, failure: CopyFailure, batchId?: number): FailOutcome[] {
    const rows = this.stmt<CopyRow>(
      "SELECT * FROM copies_v WHERE drive = ? AND state IN ('writing', 'written-pending-sync') ORDER BY id",
    ).all(driveId);
    const outcomes = rows.map((row) => this.failCopyRow(row, failure, batchId));
    if (batchId === undefined) {
      for (const request of new Set(rows.map((r) => r.request))) this.finishRequestIfDone(request);
    }
    return outcomes;
  }

  /** `writing | written-pending-sync → failed → retrying | abandoned | cancelled`, with the attempt recorded. */
  private failCopyRow(copy: CopyRow, failure: CopyFailure, batchId?: number): FailOutcome {
    assertTransition(copy.id, copy.state, 'failed');
    const now = this.now();
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
    this.stmt(
      `UPDATE copies SET state = 'failed', attempts = ?, last_error = ?, errors = ?, updated_at = ?
       WHERE id = ? AND state = ?`,
    ).run(attempts, JSON.stringify(entry), JSON.stringify(errors), now, copy.id, copy.state);
    this.event('copy', String(copy.id), copy.state, 'failed', entry);
    const request = this.requestRow(copy.request);
    const maxAttempts = request.max_attempts ?? this.options.maxAttempts;
    const to: FailOutcome['to'] =
      request.state === 'cancelled' ? 'cancelled' : attempts >= maxAttempts ? 'abandoned' : 'retrying';
    assertTransition(copy.id, 'failed', to);
    // Positions of an unproven attempt are dropped: only committed copies carry tape positions.
    this.stmt(
      `UPDATE copies SET state = ?, drive = NULL, medium = NULL, batch = NULL, file_number = NULL,
         block_address = NULL, written_bytes = NULL, sha256 = NULL, updated_at = ?
       WHERE id = ? AND state = 'failed'`,
    ).run(to, now, copy.id);
    this.event('copy', String(copy.id), 'failed', to, { attempts, maxAttempts });
    return { copyId: copy.id, from: copy.state, to, attempts };
  }

  private setMediumStateRow(barcode: string, state: MediumState, reason: string): MediumRecord {
    const medium = this.mediumRow(barcode);
    if (medium.state === state) return toMedium(medium);
    if (!MEDIUM_TRANSITIONS[medium.state].includes(state)) {
      throw new CatalogError(
        'BAD_TRANSITION',
        `medium ${barcode} cannot go from ${medium.state} to ${state}`,
        {
          entity: 'medium',
          id: barcode,
          from: medium.state,
          to: state,
        },
      );
    }
    this.stmt('UPDATE media SET state = ?, updated_at = ? WHERE barcode = ?').run(state, this.now(), barcode);
    this.event('medium', barcode, medium.state, state, { reason });
    return toMedium(this.mediumRow(barcode));
  }

  private recordSyncRow(driveId: string, seconds: number, bytes: number): void {
    const drive = this.driveRow(driveId);
    const alpha = this.options.syncCostAlpha;
    const cost = drive.sync_cost_s === null ? seconds : alpha * seconds + (1 - alpha) * drive.sync_cost_s;
    this.stmt(
      `UPDATE drives SET sync_cost_s = ?, sync_count = sync_count + 1, bytes_written = bytes_written + ?,
         bytes_since_error = bytes_since_error + ? WHERE id = ?`,
    ).run(cost, bytes, bytes, driveId);
  }

  private recordErrorRow(
    driveId: string,
    medium: string | null,
    bytesSinceLastError: number,
    failure: CopyFailure | null,
  ): void {
    const drive = this.driveRow(driveId);
    const alpha = this.options.errorIntervalAlpha;
    const mean =
      drive.mean_bytes_between_errors === null
        ? bytesSinceLastError
        : alpha * bytesSinceLastError + (1 - alpha) * drive.mean_bytes_between_errors;
    const now = this.now();
    this.stmt(
      `UPDATE drives SET error_count = error_count + 1, mean_bytes_between_errors = ?, bytes_since_error = 0,
         last_error_at = ? WHERE id = ?`,
    ).run(mean, now, driveId);
    if (medium !== null) {
      const changed = this.stmt(
        'UPDATE media SET error_count = error_count + 1, last_error = ?, updated_at = ? WHERE barcode = ?',
      ).run(failure === null ? null : JSON.stringify(failure), now, medium).changes;
      if (changed === 0) throw notFound('medium', medium);
    }
  }
}

/** `WHERE a = ? AND b = ?` over the filters that were given. */
function whereClause(filters: readonly (readonly [string, unknown])[]): { where: string; params: unknown[] } {
  const given = filters.filter(([, value]) => value !== undefined);
  return {
    where: given.length === 0 ? '' : `WHERE ${given.map(([clause]) => clause).join(' AND ')}`,
    params: given.map(([, value]) => value),
  };
}

function notFound(entity: string, id: string | number): CatalogError {
  return new CatalogError('NOT_FOUND', `${entity} ${id} not found`, { entity, id });
}
