import Database from 'better-sqlite3';
import * as batches from './batches';
import * as copies from './copies';
import type { CopyState } from './copy-state';
import * as drives from './drives';
import * as events from './events';
import type { FailOptions } from './failures';
import * as failures from './failures';
import * as media from './media';
import { migrate } from './migrations';
import { type CatalogOptions, type ResolvedCatalogOptions, resolveCatalogOptions } from './options';
import * as requests from './requests';
import { Store } from './store';
import type {
  BatchRecord,
  BatchState,
  CatalogEvent,
  CommitBatchInput,
  CopyFailure,
  CopyRecord,
  DriveRecord,
  FailBatchResult,
  FailOutcome,
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
  StatusReport,
  SubmitResult,
  TapePosition,
} from './types';

export interface PragmaReport {
  readonly journalMode: string;
  /** 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
  readonly synchronous: number;
  readonly foreignKeys: boolean;
  readonly busyTimeoutMs: number;
  readonly userVersion: number;
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
  private readonly store: Store;

  constructor(options: CatalogOptions) {
    this.options = resolveCatalogOptions(options);
    this.db = new Database(this.options.path, { timeout: this.options.busyTimeoutMs });
    this.store = new Store(this.db, this.options);
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

  /** Records a request, its images and `copies` queued copies of each, in one transaction. */
  submitRequest(input: RequestInput): SubmitResult {
    return requests.submitRequest(this.store, input);
  }

  /**
   * Cancels a request: its waiting copies end `cancelled` at once; copies in flight finish their attempt
   * (a good sync still commits them, a failure cancels them instead of retrying).
   */
  cancelRequest(requestId: string, reason = 'cancelled by request'): { cancelled: number; inFlight: number } {
    return requests.cancelRequest(this.store, requestId, reason);
  }

  getRequest(requestId: string): RequestRecord {
    return requests.getRequest(this.store, requestId);
  }

  listRequests(filter: { state?: RequestState } & Page = {}): RequestRecord[] {
    return requests.listRequests(this.store, filter);
  }

  /**
   * Copies and image bytes per copy state, for one request or the whole catalog. Reads the trigger-kept
   * `copy_counts` table, so its cost does not grow with the number of copies.
   */
  status(requestId?: string): StatusReport {
    return requests.status(this.store, requestId);
  }

  /** Waiting copies (queued or retrying), highest priority first, then in submission order. */
  nextQueued(limit: number, filter: QueueFilter = {}): QueuedCopy[] {
    return copies.nextQueued(this.store, limit, filter);
  }

  /** A waiting copy goes to a drive: `queued | retrying → writing`. The medium must be active. */
  startWriting(copyId: number, driveId: string, medium: string): CopyRecord {
    return copies.startWriting(this.store, copyId, driveId, medium);
  }

  /**
   * The writer finished the copy's data (trailer and filemark sent, not yet synced):
   * `writing → written-pending-sync`, joined to the drive's open batch. A copy that spanned onto the batch's
   * medium moves to it here.
   */
  markWritten(copyId: number, batchId: number, written: MarkWrittenInput): CopyRecord {
    return copies.markWritten(this.store, copyId, batchId, written);
  }

  /**
   * A single copy failed on its own (e.g. its stream stopped mid-image in an MPX group) while the rest of the
   * batch goes on: `writing | written-pending-sync → failed → retrying | abandoned | cancelled`.
   */
  failCopy(copyId: number, failure: CopyFailure): FailOutcome {
    return failures.failCopy(this.store, copyId, failure);
  }

  getCopy(copyId: number): CopyRecord {
    return copies.getCopy(this.store, copyId);
  }

  listCopies(
    filter: {
      requestId?: string;
      imageId?: number;
      state?: CopyState;
      medium?: string;
      batch?: number;
      drive?: string;
    } & Page = {},
  ): CopyRecord[] {
    return copies.listCopies(this.store, filter);
  }

  getImage(imageId: number): ImageRecord {
    return copies.getImage(this.store, imageId);
  }

  listImages(filter: { requestId?: string; kind?: ImageKind } & Page = {}): ImageRecord[] {
    return copies.listImages(this.store, filter);
  }

  /** Fragments of one copy (in order), or every fragment on one medium (in tape order). */
  listFragments(filter: { copyId: number } | { medium: string }): FragmentRecord[] {
    return copies.listFragments(this.store, filter);
  }

  /** Opens the drive's batch on an active medium. A drive has at most one open batch. */
  openBatch(driveId: string, medium: string): BatchRecord {
    return batches.openBatch(this.store, driveId, medium);
  }

  getBatch(batchId: number): BatchRecord {
    return batches.getBatch(this.store, batchId);
  }

  openBatchOf(driveId: string): BatchRecord | null {
    return batches.openBatchOf(this.store, driveId);
  }

  listBatches(filter: { drive?: string; state?: BatchState } & Page = {}): BatchRecord[] {
    return batches.listBatches(this.store, filter);
  }

  /**
   * Records a good sync, in ONE transaction: the batch becomes `synced`, exactly the listed copies become
   * `committed` with their positions, checksums and fragments, the medium's last committed position moves to
   * `positionAfterSync`, and the drive's sync cost is updated. The list must name every copy
   * written-pending-sync in the batch and nothing else, and every position must be consistent with the
   * medium's committed data; otherwise nothing at all changes.
   */
  commitBatch(batchId: number, input: CommitBatchInput): BatchRecord {
    return batches.commitBatch(this.store, batchId, input);
  }

  /**
   * Records a failed batch (failed write, deferred error, failed sync, position mismatch), in one transaction:
   * every copy in flight on the batch's drive (written-pending-sync in the batch, or still being written)
   * fails, its attempt is counted, and it is requeued as `retrying`, or `abandoned` once it has used its
   * attempts, or `cancelled` when its request was. The error is recorded against the drive and the medium,
   * and the medium is frozen when asked.
   */
  failBatch(batchId: number, failure: CopyFailure, options: FailOptions = {}): FailBatchResult {
    return failures.failBatch(this.store, batchId, failure, options);
  }

  /**
   * Copies handed to a writer that it never started go back to waiting with no attempt charged
   * (see failures.returnUnwritten). Returns the ids it moved.
   */
  returnUnwritten(copyIds: readonly number[], reason: string): number[] {
    return failures.returnUnwritten(this.store, copyIds, reason);
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
    return failures.failUncommittedOnDrive(this.store, driveId, failure, options);
  }

  /**
   * For a duplicator restart: nothing in flight survived, so every open batch fails and every copy in
   * `writing` or `written-pending-sync` goes back to the queue (it was never proven on tape). Restart
   * failures count towards a copy's attempts but not against the drive's or medium's error history.
   */
  recoverInFlight(reason = 'duplicator restarted'): RecoveryResult {
    return failures.recoverInFlight(this.store, reason);
  }

  addMedium(barcode: string, pool: string, state: MediumState = 'scratch'): MediumRecord {
    return media.addMedium(this.store, barcode, pool, state);
  }

  /** Takes the first scratch medium of the pool (by barcode) not in `exclude` and makes it active. */
  allocateScratch(pool: string, exclude: readonly string[] = []): MediumRecord {
    return media.allocateScratch(this.store, pool, exclude);
  }

  setMediumState(barcode: string, state: MediumState, reason: string): MediumRecord {
    return media.setMediumState(this.store, barcode, state, reason);
  }

  /** Where writing resumes on this medium after a failure: the end of its last committed data. */
  lastCommittedPosition(barcode: string): TapePosition {
    return media.lastCommittedPosition(this.store, barcode);
  }

  getMedium(barcode: string): MediumRecord {
    return media.getMedium(this.store, barcode);
  }

  listMedia(filter: { pool?: string; state?: MediumState } & Page = {}): MediumRecord[] {
    return media.listMedia(this.store, filter);
  }

  /** Registers a drive, or updates its spec when it is already known (its history is kept). */
  registerDrive(driveId: string, spec: string): DriveRecord {
    return drives.registerDrive(this.store, driveId, spec);
  }

  heartbeat(driveId: string): void {
    drives.heartbeat(this.store, driveId);
  }

  /** Folds one synchronous filemark's duration into the drive's sync cost and counts the bytes it covered. */
  recordSync(driveId: string, seconds: number, bytes: number): DriveRecord {
    return drives.recordSync(this.store, driveId, seconds, bytes);
  }

  /** Counts one write error against the drive (and the medium, when given). */
  recordError(driveId: string, medium: string | null, bytesSinceLastError: number): DriveRecord {
    return drives.recordError(this.store, driveId, medium, bytesSinceLastError);
  }

  getDrive(driveId: string): DriveRecord {
    return drives.getDrive(this.store, driveId);
  }

  listDrives(): DriveRecord[] {
    return drives.listDrives(this.store);
  }

  /** The audit trail of one record (or of all), oldest first. */
  listEvents(filter: { entity?: string; subject?: string | number } & Page = {}): CatalogEvent[] {
    return events.listEvents(this.store, filter);
  }
}
