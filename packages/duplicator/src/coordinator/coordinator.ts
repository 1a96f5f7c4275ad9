/**
 * The coordinator core, the bpduplicate logic without sockets: scheduler requests and writer
 * reports come in, replies, events and writer commands go out (as {@link Output}s). Time comes from
 * the injected clock, logs go to the injected pino logger, and the catalog is the one record.
 *
 * The central rules it keeps:
 * - a copy is reported committed only after the writer reported a good sync covering it and the
 *   catalog recorded that sync (`Catalog.commitBatch`);
 * - any failure since a drive's last good sync fails and requeues every copy in flight on it;
 * - a retry is always synced on its own (the policy sees `attempt > 1`);
 * - copies of one image go to distinct drives and, when the batch ends with them, those drives get
 *   their `sync-now` together so they flush in parallel.
 */
import type { DuplicatorEvent, MessageOf, Sense, WriterToDuplicator } from '@tapedup/protocol';
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import type { Logger } from 'pino';
import {
  type Catalog,
  type QueuedCopy as CatalogQueuedCopy,
  type CopyFailure,
  type FailBatchResult,
  type FailOutcome,
  isCatalogError,
  type JsonObject,
  type RequestRecord,
} from '../catalog';
import { type Assignment, type QueuedCopy as PlanCopy, planAssignments, type WriterInfo } from '../planner';
import {
  createSyncPolicy,
  type DriveContext,
  DriveStats,
  emptyBatch,
  type ImageFacts,
  resolveSyncSettings,
  type SyncPolicy,
  type SyncSettings,
  withDeferredImage,
} from '../policy';
import {
  type CopyInFlight,
  type CopySource,
  clearInFlight,
  type DriveState,
  newDriveState,
  openBatchOf,
} from './drive-state';
import type { Output } from './outputs';
import { requestStatus, summarize } from './reports';
import { checkSubmit, type SourceInspector } from './submit-check';
import { parseWireCopyId, wireCopyId } from './wire-ids';

export interface CoordinatorSettings {
  readonly drives: readonly { readonly id: string; readonly spec: string }[];
  readonly pools: readonly string[];
  readonly dsu: Readonly<Record<string, string>>;
  /** Installation-wide sync settings (the `policy` config section). */
  readonly policy: Readonly<Record<string, unknown>>;
  readonly poolPolicy: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly maxAttempts: number;
  readonly retryBackoffMs: number;
  readonly retryMaxBackoffMs: number;
  readonly windowImages: number;
  readonly windowBytes: number;
  readonly freezeAfterMediumErrors: number;
  readonly defaultRateBytesPerSec: number;
  /**
   * After start, planning waits until every configured writer said hello or this long has passed,
   * so the first writer up does not take a whole window of work the others could share.
   */
  readonly startupSettleMs?: number;
  /**
   * Directory of the ipc:// PULL endpoints of `stream` copies (`i<imageId>c<copy>.sock`); the
   * writer a copy is assigned to binds it. Undefined: `stream` images are refused.
   */
  readonly streamDir?: string | undefined;
}

export interface CoordinatorDeps {
  readonly catalog: Catalog;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly settings: CoordinatorSettings;
  /** Checks disk sources at submit; omitted = not checked (the writer refuses what it cannot read). */
  readonly inspectSource?: SourceInspector | undefined;
}

/** Where a copy in a sync group stands. */
interface SyncGroup {
  readonly members: { driveId: string; wire: string }[];
  readonly written: Set<string>;
}

/** Longest path an ipc:// endpoint may have (sockaddr_un.sun_path is 108 bytes, NUL included). */
const MAX_IPC_PATH = 107;
/** The longest endpoint file name under `streamDir`: `/i<15 digits>c<copy>.sock`. */
const LONGEST_STREAM_FILE = '/i999999999999999c8.sock';

/** Most copies read from the queue per planning round, per drive. */
const QUEUE_PAGE_PER_DRIVE = 4;
const MAX_ITEMS_PER_ASSIGN = 1000;

export class Coordinator {
  readonly #catalog: Catalog;
  readonly #clock: () => number;
  readonly #log: Logger;
  readonly #s: CoordinatorSettings;
  readonly #inspect: SourceInspector | undefined;
  readonly #drives = new Map<string, DriveState>();
  readonly #stats = new DriveStats();
  readonly #policies = new Map<string, SyncPolicy>();
  readonly #groups = new Map<string, SyncGroup>();
  /** Retries held back until then (catalog copy id → epoch ms). */
  readonly #notBefore = new Map<number, number>();
  /** Requests not yet announced done. */
  readonly #active = new Set<string>();
  #seq = 0;
  /** Planning waits until this time unless every writer is up (see `startupSettleMs`). */
  #settleUntil: number | undefined;
  #stopping = false;

  constructor(deps: CoordinatorDeps) {
    this.#catalog = deps.catalog;
    this.#clock = deps.clock;
    this.#log = deps.logger;
    this.#s = deps.settings;
    this.#inspect = deps.inspectSource;
    const now = this.#clock();
    for (const d of this.#s.drives) this.#drives.set(d.id, newDriveState(d.id, now));
    const dir = this.#s.streamDir;
    if (dir !== undefined && Buffer.byteLength(dir + LONGEST_STREAM_FILE) > MAX_IPC_PATH) {
      throw new RangeError(
        `coordinator setting "streamDir" is too long for ipc endpoints (at most ${MAX_IPC_PATH - LONGEST_STREAM_FILE.length} bytes): ${dir}`,
      );
    }
  }

  /**
   * The PULL endpoint of one copy of a `stream` image. It depends only on the catalog's image id
   * and the copy number, so it is announced at submit, before any writer is chosen, and stays the
   * same whichever writer the copy lands on (the one it is assigned to binds it).
   */
  streamEndpoint(imageId: number, copy: number): string {
    if (this.#s.streamDir === undefined) throw new RangeError('no streamDir: stream images are refused');
    return `ipc://${this.#s.streamDir}/i${imageId}c${copy}.sock`;
  }

  /**
   * Start-up: registers the drives, requeues whatever was in flight when the process last stopped
   * (never proven on tape), and resumes every unfinished request.
   */
  start(): Output[] {
    this.#settleUntil = this.#clock() + (this.#s.startupSettleMs ?? 0);
    for (const d of this.#s.drives) {
      const rec = this.#catalog.registerDrive(d.id, d.spec);
      this.#stats.restoreDrive(d.id, {
        errors: rec.errorCount,
        bytes: rec.bytesWritten,
        ...(rec.syncCostSeconds === null ? {} : { syncCostSeconds: rec.syncCostSeconds }),
      });
    }
    const recovered = this.#catalog.recoverInFlight();
    const out: Output[] = [];
    for (const c of recovered.copies)
      out.push(...this.#failureEvents(c, { code: 'DUPLICATOR_RESTART', reason: 'duplicator restarted' }));
    for (const id of recovered.activeRequests) this.#active.add(id);
    this.#log.info(
      {
        requeued: recovered.copies.length,
        batches: recovered.failedBatches.length,
        requests: recovered.activeRequests.length,
      },
      'recovered in-flight work from the catalog',
    );
    out.push(...this.#finishedRequests());
    return out;
  }

  /** Drives whose writer said hello and has not been lost since. */
  connectedDrives(): string[] {
    return [...this.#drives.values()].filter((d) => d.connected).map((d) => d.id);
  }

  isKnownDrive(driveId: string): boolean {
    return this.#drives.has(driveId);
  }

  isConnected(driveId: string): boolean {
    return this.#drives.get(driveId)?.connected === true;
  }

  /** Epoch ms of the last message from the drive's writer. */
  lastSeen(driveId: string): number | undefined {
    return this.#drives.get(driveId)?.lastSeen;
  }

  // ---------------------------------------------------------------- scheduler requests

  submit(m: MessageOf<'submit'>): Output[] {
    if (this.#stopping) return [this.#reject(m.id, 'SHUTTING_DOWN', 'the duplicator is stopping')];
    const checked = checkSubmit(m, {
      pools: new Set(this.#s.pools),
      dsu: this.#s.dsu,
      drives: this.#s.drives.length,
      streams: this.#s.streamDir !== undefined,
      policyLayers: (pool) => this.#poolLayers(pool),
      inspect: this.#inspect,
    });
    if (!checked.ok) {
      this.#log.info({ re: m.id, ...checked.refusal }, 'submit rejected');
      return [this.#reject(m.id, checked.refusal.code, checked.refusal.message, checked.refusal.field)];
    }
    let requestId: string;
    try {
      const result = this.#catalog.submitRequest({
        pool: m.pool,
        priority: m.priority,
        copies: m.copies,
        ...(m.deadline === undefined ? {} : { deadline: m.deadline }),
        ...(m.policy === undefined ? {} : { policy: m.policy as JsonObject }),
        maxAttempts: this.#s.maxAttempts,
        images: m.images.map((i) => ({
          backupId: i.backupId,
          size: i.sizeBytes,
          kind: i.source.kind,
          source: i.source as JsonObject,
          ...(i.priority === undefined ? {} : { priority: i.priority }),
        })),
      });
      requestId = result.requestId;
    } catch (error) {
      if (isCatalogError(error)) {
        return [this.#reject(m.id, error.code, error.message, error.field?.replace(/^request\./, ''))];
      }
      throw error;
    }
    this.#policies.set(requestId, createSyncPolicy(checked.settings));
    this.#active.add(requestId);
    this.#log.info(
      { requestId, images: m.images.length, copies: m.copies, pool: m.pool, policy: checked.settings.policy },
      'request accepted',
    );
    const out: Output[] = [
      {
        kind: 'reply',
        message: {
          v: PROTOCOL_VERSION,
          type: 'accepted',
          id: this.#id('a'),
          re: m.id,
          requestId,
          streams: this.#streamEndpoints(requestId, m),
        },
      },
    ];
    out.push(...this.plan());
    return out;
  }

  /**
   * One endpoint per (stream image, copy). The writers bind ipc or loopback endpoints only, which
   * need no CURVE key, so `serverKey` is never set.
   */
  #streamEndpoints(requestId: string, m: MessageOf<'submit'>): MessageOf<'accepted'>['streams'] {
    if (!m.images.some((i) => i.source.kind === 'stream')) return [];
    const streams: MessageOf<'accepted'>['streams'] = [];
    for (const image of this.#catalog.listImages({ requestId, kind: 'stream', limit: 10_000 })) {
      for (let copy = 1; copy <= m.copies; copy++) {
        streams.push({ backupId: image.backupId, copy, endpoint: this.streamEndpoint(image.id, copy) });
      }
    }
    return streams;
  }

  cancel(m: MessageOf<'cancel'>): Output[] {
    const unknown = (): Output[] => [
      this.#error(m.id, 'UNKNOWN_REQUEST', `no request ${m.requestId}`, 'requestId'),
    ];
    if (m.backupIds !== undefined) {
      return [this.#error(m.id, 'UNSUPPORTED', 'cancelling part of a request is not supported', 'backupIds')];
    }
    let result: { cancelled: number; inFlight: number };
    try {
      result = this.#catalog.cancelRequest(m.requestId);
    } catch (error) {
      if (isCatalogError(error, 'NOT_FOUND')) return unknown();
      if (isCatalogError(error, 'BAD_TRANSITION')) {
        result = { cancelled: 0, inFlight: 0 };
      } else throw error;
    }
    const committed = this.#catalog.status(m.requestId).byState.committed.copies;
    this.#log.info({ requestId: m.requestId, ...result }, 'request cancelled');
    const out: Output[] = [
      {
        kind: 'reply',
        message: {
          v: PROTOCOL_VERSION,
          type: 'cancelled',
          id: this.#id('x'),
          re: m.id,
          requestId: m.requestId,
          cancelled: result.cancelled,
          alreadyCommitted: committed,
        },
      },
    ];
    out.push(...this.#finishedRequests());
    return out;
  }

  status(m: MessageOf<'status'>): Output[] {
    let records: RequestRecord[];
    try {
      records =
        m.requestId === undefined
          ? this.#catalog.listRequests({ limit: 1000 })
          : [this.#catalog.getRequest(m.requestId)];
    } catch (error) {
      if (isCatalogError(error, 'NOT_FOUND')) {
        return [this.#error(m.id, 'UNKNOWN_REQUEST', `no request ${m.requestId}`, 'requestId')];
      }
      throw error;
    }
    const requests = records.map((r) => requestStatus(r, this.#catalog.status(r.id)));
    return [
      {
        kind: 'reply',
        message: { v: PROTOCOL_VERSION, type: 'status-reply', id: this.#id('s'), re: m.id, requests },
      },
    ];
  }

  // ---------------------------------------------------------------- writer reports

  /** A message from the writer of `driveId` (the edge checked that the drive is configured). */
  writerMessage(driveId: string, m: WriterToDuplicator): Output[] {
    const d = this.#drive(driveId);
    d.lastSeen = this.#clock();
    if (m.type !== 'hello' && !d.connected) {
      return [this.#writerError(driveId, m.id, 'HELLO_REQUIRED', 'a writer says hello first')];
    }
    switch (m.type) {
      case 'hello':
        return this.#hello(d, m);
      case 'heartbeat':
        d.state = m.state;
        d.loadedMedium = m.medium ?? d.loadedMedium;
        if (m.stats.rateBytesPerSec > 0) d.rateBytesPerSec = m.stats.rateBytesPerSec;
        if (m.stats.lastSyncMs !== undefined) d.lastSyncMs = m.stats.lastSyncMs;
        this.#catalog.heartbeat(driveId);
        return [];
      case 'copy-written':
        return this.#copyWritten(d, m);
      case 'batch-synced':
        return this.#batchSynced(d, m);
      case 'sync-failed':
        return this.#syncFailed(d, m);
      case 'copy-failed':
        return this.#copyFailed(d, m);
      case 'medium-full':
        return this.#mediumFull(d, m);
      case 'mounted':
        return this.#mounted(d, m);
      case 'drive-error':
        return this.#driveError(d, m);
      case 'shutdown-ack':
        return this.#shutdownAck(d, m);
      case 'error':
        this.#log.warn(
          { driveId, code: m.code, field: m.field, re: m.re },
          `writer refused a message: ${m.message}`,
        );
        return [];
    }
  }

  /**
   * The writer of `driveId` is gone (process exit, missed heartbeats): every copy not committed on
   * that drive is failed and requeued; nothing it had not reported synced is ever committed.
   */
  writerLost(driveId: string, code: string, reason: string): Output[] {
    const d = this.#drive(driveId);
    const wasConnected = d.connected;
    d.connected = false;
    d.mounting = undefined;
    d.loadedMedium = undefined;
    d.state = 'failed';
    const out = this.#failDrive(d, { code, reason }, { countAsDeviceError: false });
    if (wasConnected) this.#log.warn({ driveId, code, reason }, 'writer lost');
    out.push(...this.plan());
    return out;
  }

  /** Periodic: retries whose backoff ended, batches open too long, idle writers with a pending batch. */
  tick(): Output[] {
    return this.plan();
  }

  /** A graceful stop: no more work is handed out, every connected writer is told to stop. */
  shutdown(reason: string): Output[] {
    this.#stopping = true;
    const out: Output[] = [];
    for (const d of this.#drives.values()) {
      if (!d.connected) continue;
      out.push({
        kind: 'writer',
        driveId: d.id,
        message: {
          v: PROTOCOL_VERSION,
          type: 'shutdown',
          id: this.#id('q'),
          graceful: true,
          reason: reason.slice(0, 256),
        },
      });
    }
    return out;
  }

  /** Drives that were told to stop and have not acknowledged yet. */
  awaitingShutdownAck(): string[] {
    return [...this.#drives.values()].filter((d) => d.connected && !d.shutdownAcked).map((d) => d.id);
  }

  #hello(d: DriveState, m: MessageOf<'hello'>): Output[] {
    const out: Output[] = [];
    // A second hello means a new writer process: whatever the old one held is unproven.
    if (d.connected || d.outstanding.size > 0 || d.pending.size > 0) {
      out.push(
        ...this.#failDrive(
          d,
          { code: 'WRITER_RESTARTED', reason: 'writer said hello again' },
          { countAsDeviceError: false },
        ),
      );
    }
    d.connected = true;
    d.pid = m.pid;
    d.state = 'idle';
    d.loadedMedium = m.medium;
    d.mounting = undefined;
    d.shutdownAcked = false;
    d.needsResume = true;
    d.lastSyncAt = this.#clock();
    // Keep writing the loaded cartridge when the catalog still has it active.
    if (
      m.medium !== undefined &&
      this.#mediumState(m.medium) === 'active' &&
      !this.#mediumInUseElsewhere(m.medium, d.id)
    ) {
      d.medium = m.medium;
    } else if (d.medium !== undefined && this.#mediumState(d.medium) !== 'active') {
      d.medium = undefined;
    }
    this.#log.info({ driveId: d.id, pid: m.pid, medium: m.medium, drive: m.drive.name }, 'writer connected');
    if (this.#stopping) {
      out.push({
        kind: 'writer',
        driveId: d.id,
        message: {
          v: PROTOCOL_VERSION,
          type: 'shutdown',
          id: this.#id('q'),
          graceful: true,
          reason: 'stopping',
        },
      });
      return out;
    }
    out.push(...this.plan());
    return out;
  }

  #copyWritten(d: DriveState, m: MessageOf<'copy-written'>): Output[] {
    const c = d.outstanding.get(m.copyId);
    if (c === undefined) {
      // A report about an attempt already failed and requeued: never let it near the catalog.
      this.#log.warn({ driveId: d.id, copyId: m.copyId }, 'stale or unknown copy-written ignored');
      return [];
    }
    const now = this.#clock();
    try {
      // A spanned copy reports its first fragment's (full) medium; its batch is on the one it ends on.
      const batch = this.#catalog.openBatchOf(d.id) ?? this.#catalog.openBatch(d.id, c.medium);
      this.#catalog.markWritten(c.copyId, batch.id, {
        fileNumber: m.fileNumber,
        blockAddress: m.blockAddress,
        bytes: m.bytes,
        sha256: m.sha256,
      });
    } catch (error) {
      if (!isCatalogError(error)) throw error;
      this.#log.error(
        { driveId: d.id, copyId: m.copyId, code: error.code, err: error.message },
        'copy-written refused by the catalog',
      );
      return this.#failDrive(
        d,
        { code: 'REPORT_REFUSED', reason: `copy-written: ${error.code}` },
        { countAsDeviceError: false },
      );
    }
    d.outstanding.delete(m.copyId);
    c.written = {
      medium: m.medium,
      fileNumber: m.fileNumber,
      blockAddress: m.blockAddress,
      bytes: m.bytes,
      sha256: m.sha256,
    };
    d.pending.set(m.copyId, c);
    this.#stats.observeWrite(d.id, m.medium, m.bytes);
    const out: Output[] = [
      this.#event({
        v: PROTOCOL_VERSION,
        type: 'image-written',
        id: this.#id('e'),
        at: now,
        requestId: c.requestId,
        backupId: c.backupId,
        copy: c.copy,
        driveId: d.id,
        medium: m.medium,
        fileNumber: m.fileNumber,
        blockAddress: m.blockAddress,
        bytes: m.bytes,
      }),
    ];
    if (c.group !== undefined) out.push(...this.#groupWritten(c.group, m.copyId));
    out.push(...this.plan());
    return out;
  }

  #batchSynced(d: DriveState, m: MessageOf<'batch-synced'>): Output[] {
    const now = this.#clock();
    let syncMs = d.lastSyncMs ?? 0;
    if (
      d.syncInFlight !== undefined &&
      (m.re === d.syncInFlight.msgId || m.batchId === d.syncInFlight.batchId)
    ) {
      syncMs = Math.max(0, now - d.syncInFlight.sentAt);
      d.syncInFlight = undefined;
    }
    // Copies of attempts already failed and requeued are not ours to commit (their reports are
    // ignored, as for copy-written); the sync says nothing about the copies in flight now.
    const stale = m.committed.filter((e) => !d.pending.has(e.copyId) && !d.outstanding.has(e.copyId));
    const committed = m.committed.filter((e) => !stale.includes(e));
    if (stale.length > 0) {
      this.#log.warn(
        { driveId: d.id, batchId: m.batchId, stale: stale.map((e) => e.copyId) },
        'batch-synced names copies no longer in flight: ignored',
      );
    }
    const batch = this.#catalog.openBatchOf(d.id);
    if (committed.length === 0 && stale.length > 0) return this.plan();
    if (batch === null) {
      if (committed.length === 0) {
        this.#recordEmptySync(d, m.position, syncMs);
        return this.plan();
      }
      return this.#failDrive(
        d,
        { code: 'COMMIT_REFUSED', reason: 'batch-synced names copies with no open batch' },
        { countAsDeviceError: false },
      );
    }
    const entries: {
      wire: string;
      copyId: number;
      medium: string;
      fileNumber: number;
      blockAddress: number;
      sha256: string;
      fragments?: {
        medium: string;
        fileNumber: number;
        blockAddress: number;
        offset: number;
        length: number;
      }[];
    }[] = [];
    for (const e of committed) {
      const parsed = parseWireCopyId(e.copyId);
      const known = d.pending.get(e.copyId);
      if (parsed === undefined || known === undefined) {
        return this.#failDrive(
          d,
          { code: 'COMMIT_REFUSED', reason: `batch-synced names ${e.copyId}, not pending on this drive` },
          { countAsDeviceError: false },
        );
      }
      entries.push({
        wire: e.copyId,
        copyId: parsed.copyId,
        medium: e.medium,
        fileNumber: e.fileNumber,
        blockAddress: e.blockAddress,
        sha256: e.sha256,
        // MPX splits and continuations on another medium: every fragment goes to the catalog.
        ...(e.fragments === undefined ? {} : { fragments: e.fragments.map((f) => ({ ...f })) }),
      });
    }
    if (m.position.medium !== batch.medium) {
      return this.#failDrive(
        d,
        { code: 'COMMIT_REFUSED', reason: `sync position on ${m.position.medium}, batch on ${batch.medium}` },
        { countAsDeviceError: false },
      );
    }
    try {
      this.#catalog.commitBatch(batch.id, {
        committed: entries.map(({ wire: _w, ...rest }) => rest),
        positionAfterSync: { fileNumber: m.position.fileNumber, blockAddress: m.position.blockAddress },
        syncDurationMs: syncMs,
      });
    } catch (error) {
      if (!isCatalogError(error)) throw error;
      this.#log.error(
        { driveId: d.id, batch: batch.id, code: error.code, err: error.message },
        'sync report refused by the catalog; batch failed',
      );
      return this.#failDrive(
        d,
        { code: 'COMMIT_REFUSED', reason: `${error.code}: ${error.message}`.slice(0, 1000) },
        { countAsDeviceError: false },
      );
    }
    this.#stats.observeSync(d.id, { seconds: syncMs / 1000 });
    this.#log.info(
      { driveId: d.id, batch: batch.id, copies: entries.length, syncMs, position: m.position },
      'batch committed',
    );
    const out: Output[] = [];
    for (const e of entries) {
      const c = d.pending.get(e.wire)!;
      d.pending.delete(e.wire);
      out.push(
        this.#event({
          v: PROTOCOL_VERSION,
          type: 'image-committed',
          id: this.#id('e'),
          at: now,
          requestId: c.requestId,
          backupId: c.backupId,
          copy: c.copy,
          driveId: d.id,
          medium: e.medium,
          fileNumber: e.fileNumber,
          blockAddress: e.blockAddress,
          bytes: c.written?.bytes ?? c.sizeBytes,
          sha256: e.sha256,
        }),
      );
    }
    d.lastSyncAt = now;
    out.push(...this.#finishedRequests());
    out.push(...this.plan());
    return out;
  }

  #syncFailed(d: DriveState, m: MessageOf<'sync-failed'>): Output[] {
    const medium = this.#catalog.openBatchOf(d.id)?.medium ?? d.medium;
    const freeze = medium !== undefined && this.#shouldFreeze(medium, m.sense);
    if (medium !== undefined) this.#stats.observeError(d.id, medium);
    this.#log.warn(
      {
        driveId: d.id,
        batchId: m.batchId,
        failed: m.failed.length,
        sense: m.sense.code,
        category: m.sense.category,
        freeze,
      },
      'sync failed: every copy of the batch is failed and requeued',
    );
    // The writer names every copy the failure touched (those written since the last good sync and any
    // it was writing). Copies it was handed but never started were dropped from its queue: they go back
    // to waiting without an attempt charged or a failure reported.
    const named = new Set(m.failed);
    const unstarted = [...d.outstanding.entries()].filter(([wire]) => !named.has(wire));
    if (unstarted.length > 0) {
      const moved = new Set(
        this.#catalog.returnUnwritten(
          unstarted.map(([, c]) => c.copyId),
          `batch ${m.batchId} failed before the writer started it`,
        ),
      );
      for (const [wire, c] of unstarted) {
        if (!moved.has(c.copyId)) continue;
        d.outstanding.delete(wire);
        this.#groupBroken(c.group);
      }
      this.#log.info({ driveId: d.id, returned: moved.size }, 'unstarted copies returned to the queue');
    }
    const out = this.#failDrive(d, senseFailure(m.sense), { freezeMedium: freeze }, m.sense);
    out.push(...this.plan());
    return out;
  }

  #copyFailed(d: DriveState, m: MessageOf<'copy-failed'>): Output[] {
    const c = d.outstanding.get(m.copyId) ?? d.pending.get(m.copyId);
    if (c === undefined) {
      this.#log.warn({ driveId: d.id, copyId: m.copyId }, 'stale or unknown copy-failed ignored');
      return [];
    }
    d.outstanding.delete(m.copyId);
    d.pending.delete(m.copyId);
    const failure: CopyFailure = {
      code: m.reason,
      reason: m.message,
      ...(m.sense ? { sense: m.sense as unknown as JsonObject } : {}),
    };
    const outcome = this.#catalog.failCopy(c.copyId, failure);
    this.#groupBroken(c.group);
    const out = this.#failureEvents(outcome, failure, {
      driveId: d.id,
      medium: c.medium,
      sense: m.sense,
      known: c,
    });
    out.push(...this.#finishedRequests());
    out.push(...this.plan());
    return out;
  }

  /**
   * Early warning: the writer ended the fragment, synced (its `batch-synced` came first) and lists
   * in `inFlight` the copies it was writing (it keeps their sources open) and the queued ones it
   * dropped. The medium is marked full, the next medium of the pool is chosen, and those same copy
   * ids are assigned on it: the writer continues the kept ones from where they stopped (the
   * fragments on both media commit together) and starts the others from their beginning.
   */
  #mediumFull(d: DriveState, m: MessageOf<'medium-full'>): Output[] {
    const out: Output[] = [];
    const pool = this.#mediumPool(m.medium);
    try {
      this.#catalog.setMediumState(m.medium, 'full', 'early warning');
      out.push({ kind: 'medium-state', barcode: m.medium, state: 'full', reason: 'early warning' });
    } catch (error) {
      if (!isCatalogError(error)) throw error;
      this.#log.warn(
        { medium: m.medium, code: error.code },
        'medium-full for a medium the catalog cannot mark full',
      );
    }
    if (d.medium === m.medium) d.medium = undefined;
    const failure: CopyFailure = { code: 'MEDIUM_FULL', reason: `medium ${m.medium} reached early warning` };
    if (d.pending.size > 0) {
      // Written copies the writer's sync did not cover are unproven: fail them all, as after any error.
      out.push(...this.#failDrive(d, failure, { countAsDeviceError: false }));
      out.push(...this.plan());
      return out;
    }
    const named = new Set(m.inFlight);
    const continuing: CopyInFlight[] = [];
    for (const c of [...d.outstanding.values()]) {
      if (named.has(c.wire)) {
        continuing.push(c);
        continue;
      }
      // Assigned for another medium, or not mentioned: it cannot be vouched for; requeue it.
      d.outstanding.delete(c.wire);
      out.push(...this.#failOne(d, c, failure));
    }
    const next =
      continuing.length === 0 || pool === undefined ? undefined : this.#chooseMedium(pool, [m.medium], d.id);
    if (next === undefined) {
      if (continuing.length > 0) this.#log.warn({ driveId: d.id, pool }, 'no medium left to continue on');
      for (const c of continuing) {
        d.outstanding.delete(c.wire);
        out.push(
          ...this.#failOne(d, c, { code: 'NO_MEDIUM', reason: `no medium of pool ${pool} to continue on` }),
        );
      }
      out.push(...this.#finishedRequests());
      out.push(...this.plan());
      return out;
    }
    for (const c of continuing) {
      d.outstanding.delete(c.wire);
      c.medium = next;
      this.#groupBroken(c.group);
      c.group = undefined;
    }
    d.medium = next;
    // The writer mounts the cartridge an assign names; the continuation starts at its data area.
    d.loadedMedium = next;
    d.needsResume = true;
    this.#log.info(
      { driveId: d.id, full: m.medium, next, copies: continuing.map((c) => c.wire), position: m.position },
      'medium full: continuing on the next medium',
    );
    out.push(...this.#sendAssign(d, next, continuing));
    out.push(...this.plan());
    return out;
  }

  /** Fails one copy on its own in the catalog and reports it (a stream copy is never requeued). */
  #failOne(d: DriveState, c: CopyInFlight, failure: CopyFailure, sense?: Sense): Output[] {
    const outcome = this.#catalog.failCopy(c.copyId, failure);
    this.#groupBroken(c.group);
    return this.#failureEvents(outcome, failure, { driveId: d.id, medium: c.medium, sense, known: c });
  }

  /**
   * A sync that committed no copy still proves what is on the medium up to its position: at early
   * warning, the first fragment of an image that continues on the next cartridge. The medium's
   * committed end moves there, so that fragment counts as synced when the copy commits.
   */
  #recordEmptySync(d: DriveState, position: MessageOf<'batch-synced'>['position'], syncMs: number): void {
    d.lastSyncAt = this.#clock();
    try {
      if (this.#mediumState(position.medium) !== 'active') return;
      const last = this.#catalog.lastCommittedPosition(position.medium);
      if (position.blockAddress <= last.blockAddress) return;
      const batch = this.#catalog.openBatch(d.id, position.medium);
      this.#catalog.commitBatch(batch.id, {
        committed: [],
        positionAfterSync: { fileNumber: position.fileNumber, blockAddress: position.blockAddress },
        syncDurationMs: syncMs,
      });
      this.#log.info({ driveId: d.id, position }, 'sync without copies: committed end of the medium moved');
    } catch (error) {
      if (!isCatalogError(error)) throw error;
      this.#log.warn({ driveId: d.id, position, code: error.code }, 'sync position not recorded');
    }
  }

  #mounted(d: DriveState, m: MessageOf<'mounted'>): Output[] {
    d.loadedMedium = m.medium;
    if (d.mounting !== undefined && (m.re === d.mounting.msgId || m.medium === d.mounting.barcode))
      d.mounting = undefined;
    d.needsResume = true;
    this.#log.info(
      { driveId: d.id, medium: m.medium, position: m.position, appendOnly: m.appendOnly },
      'medium mounted',
    );
    return this.plan();
  }

  #driveError(d: DriveState, m: MessageOf<'drive-error'>): Output[] {
    const medium = this.#catalog.openBatchOf(d.id)?.medium ?? d.mounting?.barcode ?? d.medium;
    const freeze = medium !== undefined && this.#shouldFreeze(medium, m.sense);
    if (medium !== undefined) this.#stats.observeError(d.id, medium);
    this.#log.warn(
      { driveId: d.id, fatal: m.fatal, sense: m.sense.code, affected: m.affected.length, freeze },
      'drive error',
    );
    const out = this.#failDrive(d, senseFailure(m.sense), { freezeMedium: freeze }, m.sense);
    if (d.mounting !== undefined) {
      if (freeze) out.push(...this.#freezeMedium(d.mounting.barcode, m.sense));
      d.mounting = undefined;
      d.medium = undefined;
    }
    if (m.fatal) d.state = 'failed';
    out.push(...this.plan());
    return out;
  }

  #shutdownAck(d: DriveState, m: MessageOf<'shutdown-ack'>): Output[] {
    d.shutdownAcked = true;
    this.#log.info({ driveId: d.id, uncommitted: m.uncommitted.length }, 'writer acknowledged shutdown');
    return this.#failDrive(
      d,
      { code: 'SHUTDOWN', reason: 'writer stopped before a sync covered the copy' },
      { countAsDeviceError: false },
    );
  }

  // ---------------------------------------------------------------- planning

  /**
   * One planning round: queued copies to idle room on connected writers (planner), a medium per
   * drive, a policy decision per copy, and `sync-now` where a batch must end.
   */
  plan(): Output[] {
    if (this.#stopping) return [];
    const now = this.#clock();
    if (this.#settleUntil !== undefined) {
      const allUp = this.#s.drives.every((d) => this.#drives.get(d.id)?.connected === true);
      if (!allUp && now < this.#settleUntil) return [];
      this.#settleUntil = undefined;
    }
    const out: Output[] = [];
    // Drives still mounting take part in the plan, so copies of one image stay grouped over the
    // drives; what lands on a drive that cannot write yet simply stays queued this round.
    const writers = [...this.#drives.values()].filter((d) => d.connected && d.state !== 'failed');
    if (writers.length > 0) {
      const limit = Math.min(100_000, this.#s.windowImages * QUEUE_PAGE_PER_DRIVE * writers.length);
      const page = this.#catalog.nextQueued(limit);
      const queue = page.filter((q) => (this.#notBefore.get(q.copyId) ?? 0) <= now);
      const truncated = page.length >= limit;
      const byId = new Map(queue.map((q) => [String(q.copyId), q]));
      const plan = planAssignments({
        queue: queue.map(toPlanCopy),
        writers: writers.map((d) => this.#writerInfo(d)),
        frozenMedia: this.#catalog.listMedia({ state: 'frozen', limit: 100_000 }).map((m) => m.barcode),
        settings: { windowImages: this.#s.windowImages, windowBytes: this.#s.windowBytes },
      });
      const perDrive = new Map<string, Assignment[]>();
      for (const a of plan.assignments) perDrive.set(a.driveId, [...(perDrive.get(a.driveId) ?? []), a]);
      const media = new Map<string, string>();
      for (const [driveId, list] of perDrive) {
        const medium = this.#prepareMedium(this.#drive(driveId), list, byId, out);
        if (medium !== undefined) media.set(driveId, medium);
      }
      // A sync group is started whole or not at all.
      const blockedGroups = new Set(
        plan.assignments
          .filter((a) => a.syncGroup !== undefined && !media.has(a.driveId))
          .map((a) => a.syncGroup!.id),
      );
      const startable = plan.assignments.filter(
        (a) => media.has(a.driveId) && (a.syncGroup === undefined || !blockedGroups.has(a.syncGroup.id)),
      );
      const unassigned = queue.length - startable.length;
      const built = new Map<string, { medium: string; items: CopyInFlight[] }>();
      for (const [driveId, medium] of media) {
        const list = startable.filter((a) => a.driveId === driveId);
        if (list.length === 0) continue;
        const items = this.#buildItems(
          this.#drive(driveId),
          medium,
          list,
          byId,
          {
            unassigned,
            truncated,
            drives: writers.length,
          },
          out,
        );
        if (items.length > 0) built.set(driveId, { medium, items });
      }
      this.#formSyncGroups(built);
      for (const [driveId, { medium, items }] of built)
        out.push(...this.#sendAssign(this.#drive(driveId), medium, items));
    }
    out.push(...this.#batchChecks(now));
    return out;
  }

  #writerInfo(d: DriveState): WriterInfo {
    let bytes = 0;
    for (const c of d.outstanding.values()) bytes += c.sizeBytes;
    const pool = d.medium === undefined ? undefined : this.#mediumPool(d.medium);
    const images = new Set<string>();
    for (const c of [...d.outstanding.values(), ...d.pending.values()]) images.add(String(c.imageId));
    return {
      driveId: d.id,
      state: d.outstanding.size > 0 ? 'busy' : 'idle',
      mediumId: d.medium,
      pool,
      queuedImages: d.outstanding.size,
      queuedBytes: bytes,
      openBatch: {
        images: d.pending.size,
        bytes: [...d.pending.values()].reduce((s, c) => s + c.sizeBytes, 0),
      },
      imagesInFlight: [...images],
    };
  }

  /**
   * The medium the drive writes its planned copies on: the loaded one when it can take them, else
   * another (an active one of the pool or a scratch one) — mounted first, so nothing is assigned
   * this round. Undefined when the drive cannot write now.
   */
  #prepareMedium(
    d: DriveState,
    list: readonly Assignment[],
    byId: ReadonlyMap<string, CatalogQueuedCopy>,
    out: Output[],
  ): string | undefined {
    if (d.mounting !== undefined) return undefined;
    const first = [...list].sort((a, b) => a.order - b.order)[0];
    const firstCopy = first === undefined ? undefined : byId.get(first.copyId);
    if (first === undefined || firstCopy === undefined) return undefined;
    let medium = d.medium;
    if (first.mediumChange || medium === undefined || this.#mediumState(medium) !== 'active') {
      // A new medium only on a drive with nothing unproven on the old one.
      if (d.outstanding.size > 0 || d.pending.size > 0) return undefined;
      const chosen = this.#chooseMedium(firstCopy.pool, first.excludedMedia, d.id);
      if (chosen === undefined) {
        this.#log.warn({ driveId: d.id, pool: firstCopy.pool }, 'no usable medium left in the pool');
        return undefined;
      }
      medium = chosen;
      d.medium = chosen;
      d.needsResume = true;
    }
    if (d.loadedMedium !== medium) {
      const msgId = this.#id('m');
      d.mounting = { barcode: medium, msgId };
      this.#log.info({ driveId: d.id, medium }, 'mounting medium');
      out.push({
        kind: 'writer',
        driveId: d.id,
        message: { v: PROTOCOL_VERSION, type: 'mount', id: msgId, barcode: medium },
      });
      return undefined;
    }
    return medium;
  }

  /**
   * Turns one drive's planned assignments into assign items: asks the policy per copy (logging
   * each decision with its reason) and moves each copy to `writing` in the catalog.
   */
  #buildItems(
    d: DriveState,
    medium: string,
    list: readonly Assignment[],
    byId: ReadonlyMap<string, CatalogQueuedCopy>,
    rest: { unassigned: number; truncated: boolean; drives: number },
    out: Output[],
  ): CopyInFlight[] {
    const sorted = [...list].sort((a, b) => a.order - b.order);
    const pool = this.#mediumPool(medium);
    const usable = sorted.filter((a) => {
      const q = byId.get(a.copyId);
      return q !== undefined && q.pool === pool && !a.excludedMedia.includes(medium);
    });
    const items: CopyInFlight[] = [];
    const now = this.#clock();
    const ctx = this.#driveContext(d, medium);
    const sharedRest = Math.ceil(rest.unassigned / Math.max(1, rest.drives));
    let batch = openBatchOf(d);
    for (const [index, a] of usable.slice(0, MAX_ITEMS_PER_ASSIGN).entries()) {
      const q = byId.get(a.copyId)!;
      const policy = this.#policyFor(q.requestId, q.pool);
      const facts: ImageFacts = {
        sizeBytes: q.size,
        priority: q.priority,
        kind: q.kind,
        attempt: q.attempts + 1,
        deadline: q.deadline ?? undefined,
      };
      if (index === 0 && batch.deferredImages > 0 && d.syncInFlight === undefined) {
        // The next copy must not join the open batch (a retry, a stream, higher priority, a deadline).
        const verdict = policy.shouldSyncNow({ batch, drive: ctx, next: facts, moreWork: true }, now);
        if (verdict.action === 'sync-now') {
          out.push(this.#syncNow(d, verdict.reason));
          batch = emptyBatch(now);
        }
      }
      const after = usable.slice(index + 1);
      const afterBytes = after.reduce((s, x) => s + (byId.get(x.copyId)?.size ?? 0), 0);
      const isLast = after.length === 0 && rest.unassigned === 0 && !rest.truncated;
      const decision = policy.decide(
        {
          image: facts,
          drive: ctx,
          batch,
          remaining: {
            images: after.length + sharedRest,
            bytes: afterBytes + sharedRest * q.size,
            isLast,
          },
        },
        now,
      );
      try {
        this.#catalog.startWriting(q.copyId, d.id, medium);
      } catch (error) {
        if (!isCatalogError(error)) throw error;
        this.#log.warn({ copyId: q.copyId, driveId: d.id, medium, code: error.code }, 'copy not started');
        continue;
      }
      this.#log.info(
        {
          driveId: d.id,
          medium,
          copyId: q.copyId,
          backupId: q.backupId,
          copy: q.copyNumber,
          attempt: facts.attempt,
          decision: decision.decision,
          reason: decision.reason,
          triggers: decision.triggers,
          policy: decision.policy,
          explain: decision.explain,
        },
        `sync decision: ${decision.decision} (${decision.reason})`,
      );
      const source = toCopySource(q.kind, q.source);
      items.push({
        wire: wireCopyId(q.copyId, facts.attempt),
        copyId: q.copyId,
        imageId: q.imageId,
        attempt: facts.attempt,
        requestId: q.requestId,
        backupId: q.backupId,
        copy: q.copyNumber,
        sizeBytes: q.size,
        priority: q.priority,
        kind: q.kind,
        deadline: facts.deadline,
        source,
        streamEndpoint: q.kind === 'stream' ? this.streamEndpoint(q.imageId, q.copyNumber) : undefined,
        medium,
        assignedAt: now,
        decision: decision.decision,
        reason: decision.reason,
        group: a.syncGroup === undefined ? undefined : `${a.syncGroup.id}#${a.syncGroup.size}`,
      });
      batch = decision.decision === 'sync' ? emptyBatch(now) : withDeferredImage(batch, facts, now);
    }
    return items;
  }

  /**
   * Copies of one image assigned together to several drives: when the policy ends the batch with
   * any of them, all are written with immediate filemarks and the drives get `sync-now` together
   * once every copy is written, so the flushes overlap.
   */
  #formSyncGroups(built: Map<string, { medium: string; items: CopyInFlight[] }>): void {
    const groups = new Map<string, CopyInFlight[]>();
    for (const { items } of built.values()) {
      for (const c of items)
        if (c.group !== undefined) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
    }
    for (const [key, members] of groups) {
      const syncing = members.some((c) => c.decision === 'sync');
      const deferrable = members.every((c) => c.attempt === 1 && c.kind === 'disk');
      if (members.length < 2 || !syncing || !deferrable) {
        for (const c of members) c.group = undefined;
        continue;
      }
      const groupId = `${key}@${this.#id('g')}`;
      const g: SyncGroup = { members: [], written: new Set() };
      for (const c of members) {
        c.reason = `group-sync(${c.reason})`;
        c.decision = 'defer';
        c.group = groupId;
      }
      for (const [driveId, { items }] of built) {
        for (const c of items) if (c.group === groupId) g.members.push({ driveId, wire: c.wire });
      }
      this.#groups.set(groupId, g);
      this.#log.info(
        { group: groupId, drives: g.members.map((x) => x.driveId) },
        'copies of one image sync together',
      );
    }
  }

  #sendAssign(d: DriveState, medium: string, items: CopyInFlight[]): Output[] {
    const resumeAt = d.needsResume ? this.#catalog.lastCommittedPosition(medium) : undefined;
    d.needsResume = false;
    for (const c of items) d.outstanding.set(c.wire, c);
    return [
      {
        kind: 'writer',
        driveId: d.id,
        message: {
          v: PROTOCOL_VERSION,
          type: 'assign',
          id: this.#id('w'),
          medium,
          ...(resumeAt === undefined ? {} : { resumeAt }),
          items: items.map((c) => ({
            copyId: c.wire,
            requestId: c.requestId,
            backupId: c.backupId,
            copy: c.copy,
            sizeBytes: c.sizeBytes,
            source:
              c.source.kind === 'disk'
                ? { kind: 'disk' as const, dsu: c.source.dsu, path: c.source.path }
                : { kind: 'stream' as const },
            ...(c.streamEndpoint === undefined ? {} : { streamEndpoint: c.streamEndpoint }),
            priority: clampPriority(c.priority),
            attempt: c.attempt,
            decision: c.decision,
            reason: c.reason.slice(0, 256),
          })),
        },
      },
    ];
  }

  /**
   * Between images and on ticks: ends a drive's batch with `sync-now` when the policy says so — the
   * batch is too old, or the writer went idle with nothing more to do (end of work).
   */
  #batchChecks(now: number): Output[] {
    const out: Output[] = [];
    for (const d of this.#drives.values()) {
      if (!d.connected || d.syncInFlight !== undefined || d.pending.size === 0) continue;
      if (d.mounting !== undefined) continue;
      const medium = d.medium ?? [...d.pending.values()][0]?.written?.medium;
      if (medium === undefined) continue;
      // Pending copies waiting for their sync group's other drives are flushed by the group.
      if ([...d.pending.values()].some((c) => c.group !== undefined && this.#groups.has(c.group))) continue;
      const idle = d.outstanding.size === 0;
      const batch = openBatchOf(d);
      const first = [...d.pending.values()][0]!;
      const policy = this.#policyFor(first.requestId, this.#mediumPool(medium) ?? '');
      const verdict = policy.shouldSyncNow(
        { batch, drive: this.#driveContext(d, medium), moreWork: !idle },
        now,
      );
      if (verdict.action === 'sync-now') {
        this.#log.info(
          { driveId: d.id, reason: verdict.reason, triggers: verdict.triggers, explain: verdict.explain },
          `batch check: sync-now (${verdict.reason})`,
        );
        out.push(this.#syncNow(d, verdict.reason));
      }
    }
    return out;
  }

  #syncNow(d: DriveState, reason: string): Output {
    const msgId = this.#id('y');
    const batchId = `${d.id}.${msgId}`;
    d.syncInFlight = { batchId, msgId, sentAt: this.#clock() };
    this.#log.debug({ driveId: d.id, batchId, reason }, 'sync-now');
    return {
      kind: 'writer',
      driveId: d.id,
      message: { v: PROTOCOL_VERSION, type: 'sync-now', id: msgId, batchId },
    };
  }

  #groupWritten(groupId: string, wire: string): Output[] {
    const g = this.#groups.get(groupId);
    if (g === undefined) return [];
    g.written.add(wire);
    if (g.written.size < g.members.length) return [];
    this.#groups.delete(groupId);
    const out: Output[] = [];
    for (const member of g.members) {
      const d = this.#drive(member.driveId);
      if (d.connected) out.push(this.#syncNow(d, 'sync-group'));
    }
    this.#log.info(
      { group: groupId, drives: g.members.map((m) => m.driveId) },
      'sync group written: flushing its drives together',
    );
    return out;
  }

  #groupBroken(groupId: string | undefined): void {
    if (groupId !== undefined) this.#groups.delete(groupId);
  }

  // ---------------------------------------------------------------- failures

  /** Fails everything in flight on the drive in the catalog and reports it; clears the drive's state. */
  #failDrive(
    d: DriveState,
    failure: CopyFailure,
    options: { freezeMedium?: boolean; countAsDeviceError?: boolean },
    sense?: Sense,
  ): Output[] {
    const known = new Map<number, CopyInFlight>();
    for (const c of [...d.pending.values(), ...d.outstanding.values()]) {
      known.set(c.copyId, c);
      this.#groupBroken(c.group);
    }
    const medium = this.#catalog.openBatchOf(d.id)?.medium ?? d.medium;
    let result: FailBatchResult | null;
    result = this.#catalog.failUncommittedOnDrive(d.id, failure, options);
    clearInFlight(d, this.#clock());
    const out: Output[] = [];
    if (result === null) return out;
    for (const c of result.copies) {
      out.push(
        ...this.#failureEvents(c, failure, { driveId: d.id, medium, sense, known: known.get(c.copyId) }),
      );
    }
    if (result.mediumFrozen && medium !== undefined) {
      out.push({
        kind: 'medium-state',
        barcode: medium,
        state: 'frozen',
        reason: `${failure.code}: ${failure.reason}`.slice(0, 256),
      });
      this.#log.warn({ medium, driveId: d.id }, 'medium frozen after repeated errors');
      if (d.medium === medium) d.medium = undefined;
    }
    out.push(...this.#finishedRequests());
    return out;
  }

  #freezeMedium(barcode: string, sense: Sense): Output[] {
    try {
      this.#catalog.setMediumState(barcode, 'frozen', `${sense.code}: ${sense.message}`.slice(0, 256));
    } catch (error) {
      if (!isCatalogError(error)) throw error;
      return [];
    }
    return [{ kind: 'medium-state', barcode, state: 'frozen', reason: sense.code }];
  }

  /** Medium errors that repeat on one cartridge freeze it (its next attempts go elsewhere). */
  #shouldFreeze(medium: string, sense: Sense): boolean {
    if (sense.category !== 'medium') return false;
    try {
      return this.#catalog.getMedium(medium).errorCount + 1 >= this.#s.freezeAfterMediumErrors;
    } catch {
      return false;
    }
  }

  #failureEvents(
    outcome: FailOutcome,
    failure: CopyFailure,
    ctx: {
      driveId?: string | undefined;
      medium?: string | undefined;
      sense?: Sense | undefined;
      known?: CopyInFlight | undefined;
    } = {},
  ): Output[] {
    const now = this.#clock();
    const ident = ctx.known ?? this.#identify(outcome.copyId);
    if (ident === undefined) return [];
    const retryable = outcome.to === 'retrying';
    const events: Output[] = [
      this.#event({
        v: PROTOCOL_VERSION,
        type: 'image-failed',
        id: this.#id('e'),
        at: now,
        requestId: ident.requestId,
        backupId: ident.backupId,
        copy: ident.copy,
        reason: toCode(failure.code),
        message: failure.reason.slice(0, 1024),
        retryable,
        attempt: Math.min(1000, Math.max(1, outcome.attempts)),
        ...(ctx.sense === undefined ? {} : { sense: ctx.sense }),
        ...(ctx.driveId === undefined ? {} : { driveId: ctx.driveId }),
        ...(ctx.medium === undefined ? {} : { medium: ctx.medium }),
      }),
    ];
    if (retryable) {
      const attempt = outcome.attempts + 1;
      let notBefore: number | undefined;
      if (this.#s.retryBackoffMs > 0) {
        notBefore =
          now + Math.min(this.#s.retryMaxBackoffMs, this.#s.retryBackoffMs * 2 ** (outcome.attempts - 1));
        this.#notBefore.set(outcome.copyId, notBefore);
      }
      events.push(
        this.#event({
          v: PROTOCOL_VERSION,
          type: 'image-retrying',
          id: this.#id('e'),
          at: now,
          requestId: ident.requestId,
          backupId: ident.backupId,
          copy: ident.copy,
          attempt: Math.min(1000, attempt),
          reason: toCode(failure.code),
          ...(notBefore === undefined ? {} : { notBefore }),
        }),
      );
    } else {
      this.#notBefore.delete(outcome.copyId);
    }
    return events;
  }

  /** `request-done` for every request that reached a final state since the last look. */
  #finishedRequests(): Output[] {
    const out: Output[] = [];
    for (const id of [...this.#active]) {
      const request = this.#catalog.getRequest(id);
      if (request.state === 'active') continue;
      this.#active.delete(id);
      this.#policies.delete(id);
      const summary = summarize(request, this.#catalog.status(id));
      this.#log.info({ requestId: id, ...summary }, 'request done');
      out.push(
        this.#event({
          v: PROTOCOL_VERSION,
          type: 'request-done',
          id: this.#id('e'),
          at: this.#clock(),
          requestId: id,
          ...summary,
        }),
      );
    }
    return out;
  }

  // ---------------------------------------------------------------- helpers

  #drive(driveId: string): DriveState {
    const d = this.#drives.get(driveId);
    if (d === undefined) throw new RangeError(`unknown drive ${driveId}`);
    return d;
  }

  #identify(copyId: number): { requestId: string; backupId: string; copy: number } | undefined {
    try {
      const copy = this.#catalog.getCopy(copyId);
      const image = this.#catalog.getImage(copy.imageId);
      return { requestId: copy.requestId, backupId: image.backupId, copy: copy.copyNumber };
    } catch (error) {
      if (isCatalogError(error)) return undefined;
      throw error;
    }
  }

  #mediumState(barcode: string): string | undefined {
    try {
      return this.#catalog.getMedium(barcode).state;
    } catch {
      return undefined;
    }
  }

  #mediumPool(barcode: string): string | undefined {
    try {
      return this.#catalog.getMedium(barcode).pool;
    } catch {
      return undefined;
    }
  }

  #mediumInUseElsewhere(barcode: string, driveId: string): boolean {
    for (const d of this.#drives.values()) {
      if (
        d.id !== driveId &&
        (d.medium === barcode || d.loadedMedium === barcode || d.mounting?.barcode === barcode)
      )
        return true;
    }
    return false;
  }

  /**
   * A medium for the pool: an active one no other drive uses (resuming at its committed end), else
   * a fresh scratch one. Never a frozen or full one, never an excluded one.
   */
  #chooseMedium(pool: string, excluded: readonly string[], driveId: string): string | undefined {
    const skip = new Set(excluded);
    for (const d of this.#drives.values()) {
      if (d.id === driveId) continue;
      for (const b of [d.medium, d.loadedMedium, d.mounting?.barcode]) if (b !== undefined) skip.add(b);
    }
    const active = this.#catalog
      .listMedia({ pool, state: 'active', limit: 100_000 })
      .find((m) => !skip.has(m.barcode));
    if (active !== undefined) return active.barcode;
    try {
      const m = this.#catalog.allocateScratch(pool, [...skip]);
      this.#log.info({ pool, medium: m.barcode, driveId }, 'scratch medium allocated');
      return m.barcode;
    } catch (error) {
      if (isCatalogError(error, 'NO_SCRATCH')) return undefined;
      throw error;
    }
  }

  #driveContext(d: DriveState, medium: string): DriveContext {
    return this.#stats.context(d.id, medium, d.rateBytesPerSec ?? this.#s.defaultRateBytesPerSec);
  }

  #poolLayers(pool: string): { source: string; values: unknown }[] {
    const layers: { source: string; values: unknown }[] = [{ source: 'policy', values: this.#s.policy }];
    const p = this.#s.poolPolicy[pool];
    if (p !== undefined) layers.push({ source: `poolPolicy.${pool}`, values: p });
    return layers;
  }

  #policyFor(requestId: string, pool: string): SyncPolicy {
    let policy = this.#policies.get(requestId);
    if (policy !== undefined) return policy;
    let settings: SyncSettings;
    const layers = this.#poolLayers(pool);
    try {
      const stored = this.#catalog.getRequest(requestId).policy;
      settings = resolveSyncSettings(
        stored === null ? layers : [...layers, { source: 'request', values: stored }],
      );
    } catch (error) {
      this.#log.warn(
        { requestId, err: (error as Error).message },
        'stored request policy unusable; pool policy applies',
      );
      settings = resolveSyncSettings(layers);
    }
    policy = createSyncPolicy(settings);
    this.#policies.set(requestId, policy);
    return policy;
  }

  #id(prefix: string): string {
    this.#seq += 1;
    return `d${prefix}${this.#seq}`;
  }

  #event(message: DuplicatorEvent): Output {
    return { kind: 'event', message };
  }

  #reject(re: string, code: string, message: string, field?: string): Output {
    return {
      kind: 'reply',
      message: {
        v: PROTOCOL_VERSION,
        type: 'rejected',
        id: this.#id('r'),
        re,
        code: toCode(code),
        message: message.slice(0, 1024),
        ...(field === undefined ? {} : { field: field.slice(0, 256) }),
      },
    };
  }

  #error(re: string, code: string, message: string, field?: string): Output {
    return {
      kind: 'reply',
      message: {
        v: PROTOCOL_VERSION,
        type: 'error',
        id: this.#id('r'),
        re,
        code: toCode(code),
        message: message.slice(0, 1024),
        ...(field === undefined ? {} : { field }),
      },
    };
  }

  #writerError(driveId: string, re: string, code: string, message: string): Output {
    return {
      kind: 'writer',
      driveId,
      message: { v: PROTOCOL_VERSION, type: 'error', id: this.#id('r'), re, code: toCode(code), message },
    };
  }
}

function toPlanCopy(q: CatalogQueuedCopy): PlanCopy {
  return {
    copyId: String(q.copyId),
    imageId: String(q.imageId),
    requestId: q.requestId,
    copyNumber: q.copyNumber,
    priority: clampPriority(q.priority),
    sizeBytes: q.size,
    kind: q.kind,
    attempt: q.attempts + 1,
    submitSeq: q.copyId,
    pool: q.pool,
    // Media an attempt failed on stay usable until errors freeze them (frozen media are excluded
    // for every copy); a hardware or writer failure says nothing against the cartridge.
    excludedMedia: q.siblingMedia,
    failedOnDrives: q.failedDrives,
  };
}

function toCopySource(kind: 'disk' | 'stream', stored: unknown): CopySource {
  if (kind === 'stream') return { kind: 'stream' };
  const s = stored as { dsu: string; path: string };
  return { kind: 'disk', dsu: s.dsu, path: s.path };
}

function clampPriority(p: number): number {
  return Math.max(0, Math.min(100, Math.round(p)));
}

/** A wire `Code` from any failure code. */
function toCode(code: string): string {
  const c = code.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return /^[A-Z]/.test(c) ? c.slice(0, 64) : `E_${c}`.slice(0, 64);
}

function senseFailure(sense: Sense): CopyFailure {
  const { raw: _raw, ...rest } = sense;
  return { code: sense.code, reason: sense.message, sense: rest as unknown as JsonObject };
}
