/**
 * One discrete-event simulation: the duplicator's planner, sync policy and drive statistics drive a
 * writer per virtual drive on a virtual clock, with synthetic payloads, until every copy is committed.
 * Failed batches are requeued as retries and go through the policy again (a retry is synced alone).
 */
import {
  type BufferSample,
  type DriveProfile,
  makeProfile,
  type ProfileName,
  VirtualClock,
  VirtualDrive,
} from '@tapedup/virtual-drive';
import {
  type BatchState,
  compareCopies,
  DEFAULT_PLANNER_SETTINGS,
  type DriveContext,
  DriveStats,
  emptyBatch,
  type ImageFacts,
  type PlannerSettings,
  planAssignments,
  type QueuedCopy,
  type ReasonCode,
  type WriterInfo,
  withDeferredImage,
} from './duplicator';
import { type EngineWriterOptions, engineWriter, engineWriterFactory } from './engine-writer';
import { invalidOption, SimulatorError } from './errors';
import { driveHistory } from './history';
import { measureSyncs } from './measure-syncs';
import { buildPolicy, type PolicyVariant } from './policies';
import { SimulationMedium } from './simulation-medium';
import { generateImages, type SimImage, type Workload } from './workload';
import type { WriteJob, WriterFactory, WriterReport, WriterUnderTest } from './writer-seam';

/** Most copies in one hand-over to a writer that queues ahead (the planner's window bounds it too). */
const MAX_JOBS_PER_HAND_OVER = 256;

export interface SimulationOptions {
  readonly workload: Workload;
  readonly policy: PolicyVariant;
  /** Seed of the image sizes and of the drives' random faults. */
  readonly seed: number;
  /** The writer behind the seam (default: the tape-writer engine). */
  readonly writer?: WriterFactory | undefined;
  /**
   * Options of the tape-writer engine (e.g. `packImages`), for the default writer only. A packing
   * engine is handed each drive's assigned copies together (see `WriterFactory.queuesAhead`).
   */
  readonly writerOptions?: EngineWriterOptions | undefined;
  /** Overrides the workload's drive profile. */
  readonly profile?: ProfileName | DriveProfile | undefined;
  /** Overrides the workload's media-error rate (errors per byte written). */
  readonly faultRatePerByte?: number | undefined;
  readonly planner?: PlannerSettings | undefined;
  /**
   * `cold` (default): every drive starts with no history, as a new installation. `workload`: each
   * drive's history from the workload (`Workload.history`) is restored into the drive statistics
   * before the first image, as the duplicator restores the catalog's at start-up.
   */
  readonly history?: HistoryMode | undefined;
  /** Every drive-buffer level change, for timelines. */
  readonly onBufferSample?: ((driveId: string, sample: BufferSample) => void) | undefined;
  /** Every committed or failed batch, for timelines. */
  readonly onBatchEnd?: ((driveId: string, event: BatchEvent) => void) | undefined;
}

export type HistoryMode = 'cold' | 'workload';

export const HISTORY_MODES: readonly HistoryMode[] = ['cold', 'workload'];

export interface BatchEvent {
  readonly time: number;
  readonly outcome: 'synced' | 'failed';
  readonly images: number;
}

/** The figures of one run. Times are model seconds. */
export interface SimulationResult {
  readonly workload: string;
  readonly policy: string;
  /** The oracle's batch size, bytes. */
  readonly batchBytes?: number | undefined;
  readonly seed: number;
  readonly profile: string;
  readonly drives: number;
  readonly writer: string;
  /** Whether the drives started cold or with the workload's history. */
  readonly history: HistoryMode;
  /** Errors in the restored histories, all drives (0 when cold). */
  readonly historyErrors: number;
  readonly elapsedSeconds: number;
  /** Payload bytes of every copy (each counted once). */
  readonly bytes: number;
  readonly images: number;
  readonly copies: number;
  /** Bytes the drives accepted, rewrites included. */
  readonly bytesWritten: number;
  readonly immediateFilemarks: number;
  readonly synchronousFilemarks: number;
  /** Synchronous WRITE FILEMARKS commands, flush-only ones (count 0) included. */
  readonly syncs: number;
  readonly backhitches: number;
  readonly failedBatches: number;
  /** Copies failed with their batch (each is written again). */
  readonly failedCopies: number;
  readonly bytesRewritten: number;
  /**
   * Per-copy commit latency: first handed to its writer (for a writer fed one copy at a time, the
   * start of its write) → committed by a good sync.
   */
  readonly commitLatencySeconds: { readonly p50: number; readonly p95: number; readonly p99: number };
  /** Total bytes per drive ÷ native rate + one final sync. */
  readonly limitSeconds: number;
  readonly limitRatio: number;
  /** How many decisions each reason made (flush-only syncs prefixed `flush:`). */
  readonly reasons: Readonly<Record<string, number>>;
}

interface CopyRecord {
  copy: QueuedCopy;
  firstStartedAt?: number | undefined;
  committedAt?: number | undefined;
}

interface DriveState {
  readonly id: string;
  readonly mediumId: string;
  readonly device: VirtualDrive;
  writer: WriterUnderTest;
  /** Assigned by the planner, not yet written, in write order. */
  readonly local: QueuedCopy[];
  localBytes: number;
  /** Copies written since the last good sync, and how each ended. */
  open: { copyId: string; facts: ImageFacts; startedAt: number; ending: 'defer' | 'sync' }[];
  batch: BatchState;
  running: boolean;
  /** The jobs handed to the writer and not yet reported written, in write order. */
  handed: HandedJob[];
}

interface HandedJob {
  readonly copyId: string;
  readonly facts: ImageFacts;
  readonly startedAt: number;
  readonly ending: 'defer' | 'sync';
}

/** Runs one simulation to the end (every copy committed) and returns its figures. */
export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const { workload, seed } = options;
  const profile = makeProfile(options.profile ?? workload.profile);
  const rate = profile.mediaRateBytesPerSec;
  const faultRate = options.faultRatePerByte ?? workload.faultRatePerByte;
  const plannerSettings = options.planner ?? DEFAULT_PLANNER_SETTINGS;
  if (options.writer !== undefined && options.writerOptions !== undefined) {
    throw invalidOption('writerOptions', 'apply to the tape-writer engine only, not to a given writer');
  }
  const writerFactory =
    options.writer ?? (options.writerOptions ? engineWriter(options.writerOptions) : engineWriterFactory);
  const policy = buildPolicy(options.policy);
  const historyMode = options.history ?? 'cold';
  if (!HISTORY_MODES.includes(historyMode)) {
    throw invalidOption('history', `must be ${HISTORY_MODES.join(' or ')}`, historyMode);
  }
  const clock = new VirtualClock();
  const stats = new DriveStats();
  const images = generateImages(workload, seed);
  const copies = makeCopies(images, workload.copies);
  const records = new Map<string, CopyRecord>(copies.map((c) => [c.copyId, { copy: c }]));
  const queue: QueuedCopy[] = [...copies].sort(compareCopies);
  let queueBytes = copies.reduce((a, c) => a + c.sizeBytes, 0);
  const totalBytes = queueBytes;
  const reasons: Record<string, number> = {};
  const latencies: number[] = [];
  let committed = 0;
  let failedBatches = 0;
  let failedCopies = 0;
  let bytesRewritten = 0;
  let finishedAt = 0;
  let failure: unknown;

  const drives: DriveState[] = [];
  for (let i = 0; i < workload.drives; i++) {
    const id = `drive${i}`;
    const mediumId = `SIM${String(i).padStart(3, '0')}L9`;
    const device = new VirtualDrive({
      name: `sim:${id}`,
      clock,
      profile,
      medium: new SimulationMedium({ barcode: mediumId, capacityBytes: profile.capacityBytes }),
      commandLogLimit: 0,
      faults:
        faultRate > 0
          ? {
              random: {
                seed: (seed * 1_000_003 + i * 7919) >>> 0,
                faults: [{ kind: 'deferred-error', perByte: faultRate }],
              },
            }
          : {},
      ...(options.onBufferSample ? { onBufferSample: (s) => options.onBufferSample?.(id, s) } : {}),
    });
    await device.open();
    const state: DriveState = {
      id,
      mediumId,
      device,
      writer: undefined as unknown as WriterUnderTest,
      local: [],
      localBytes: 0,
      open: [],
      batch: emptyBatch(clock.now()),
      running: false,
      handed: [],
    };
    state.writer = await writerFactory.create({
      driveId: id,
      mediumId,
      // Every synchronous filemark feeds the drive's sync-cost estimate, as writer reports do.
      device: measureSyncs(device, clock, (obs) =>
        stats.observeSync(id, { ...obs, rateBytesPerSecond: rate }),
      ),
      clock,
      report: (r) => onReport(state, r),
    });
    drives.push(state);
  }

  // The catalog's record of each drive, restored through the coordinator's start-up path.
  let historyErrors = 0;
  if (historyMode === 'workload' && workload.history !== undefined) {
    for (const [i, d] of drives.entries()) {
      const restored = driveHistory(workload.history, faultRate, seed, i);
      stats.restoreDrive(d.id, restored);
      historyErrors += restored.errors;
    }
  }

  // Figures start once every drive is ready (the writers mounted and labelled their cartridges).
  const startedAt = clock.now();
  const baseline = drives.map((d) => ({ ...d.device.stats }));
  const count = (reason: ReasonCode | string) => {
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  };

  function onReport(d: DriveState, r: WriterReport): void {
    const now = clock.now();
    switch (r.type) {
      case 'image-written': {
        const cur = d.handed.shift();
        if (cur === undefined || cur.copyId !== r.copyId) {
          throw new SimulatorError('SIMULATION_STALLED', `unexpected image-written for ${r.copyId}`);
        }
        stats.observeWrite(d.id, d.mediumId, r.bytes);
        d.open.push(cur);
        if (cur.ending === 'defer') d.batch = withDeferredImage(d.batch, cur.facts, cur.startedAt);
        return;
      }
      case 'batch-synced': {
        for (const copyId of r.copyIds) {
          const rec = records.get(copyId);
          if (rec === undefined || rec.committedAt !== undefined) {
            throw new SimulatorError('SIMULATION_STALLED', `batch-synced names ${copyId} twice or unknown`);
          }
          rec.committedAt = now;
          latencies.push((now - (rec.firstStartedAt ?? now)) / 1000);
          committed++;
        }
        options.onBatchEnd?.(d.id, { time: now, outcome: 'synced', images: r.copyIds.length });
        d.open = [];
        d.batch = emptyBatch(now);
        if (committed === copies.length) finishedAt = now;
        return;
      }
      case 'sync-failed': {
        stats.observeError(d.id, d.mediumId);
        failedBatches++;
        for (const copyId of r.copyIds) {
          unhand(d, copyId);
          requeue(d, copyId);
        }
        options.onBatchEnd?.(d.id, { time: now, outcome: 'failed', images: r.copyIds.length });
        d.open = [];
        d.batch = emptyBatch(now);
        return;
      }
      case 'copy-failed':
        // One copy failed alone (its source); it never joined the batch.
        unhand(d, r.copyId);
        requeue(d, r.copyId);
        return;
    }
  }

  function unhand(d: DriveState, copyId: string): void {
    const i = d.handed.findIndex((j) => j.copyId === copyId);
    if (i >= 0) d.handed.splice(i, 1);
  }

  /**
   * Copies handed over but never started when a batch failed: the writer dropped them, and, as the
   * duplicator does, they go back to the queue with no attempt charged.
   */
  function takeBackUnstarted(d: DriveState): void {
    for (const job of d.handed.splice(0)) enqueue(records.get(job.copyId)!.copy);
  }

  /** A failed copy goes back to the queue as a retry: the policy syncs it on its own. */
  function requeue(d: DriveState, copyId: string): void {
    const rec = records.get(copyId);
    if (rec === undefined || rec.committedAt !== undefined) {
      throw new SimulatorError('SIMULATION_STALLED', `a failure names ${copyId}, unknown or committed`);
    }
    failedCopies++;
    bytesRewritten += rec.copy.sizeBytes;
    rec.copy = {
      ...rec.copy,
      attempt: rec.copy.attempt + 1,
      failedOnDrives: [...new Set([...(rec.copy.failedOnDrives ?? []), d.id])],
    };
    enqueue(rec.copy);
  }

  function enqueue(copy: QueuedCopy): void {
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareCopies(queue[mid]!, copy) <= 0) lo = mid + 1;
      else hi = mid;
    }
    queue.splice(lo, 0, copy);
    queueBytes += copy.sizeBytes;
  }

  function writerInfo(d: DriveState): WriterInfo {
    const inFlight = new Set<string>();
    for (const c of d.local) inFlight.add(c.imageId);
    for (const o of d.open) inFlight.add(records.get(o.copyId)!.copy.imageId);
    for (const h of d.handed) inFlight.add(records.get(h.copyId)!.copy.imageId);
    return {
      driveId: d.id,
      state: d.running ? 'busy' : 'idle',
      mediumId: d.mediumId,
      queuedImages: d.local.length,
      queuedBytes: d.localBytes,
      openBatch: { images: d.open.length, bytes: d.open.reduce((a, o) => a + o.facts.sizeBytes, 0) },
      imagesInFlight: [...inFlight],
    };
  }

  /** Hands the head of the queue to the planner; only a bounded head is planned per call. */
  function replan(): void {
    if (queue.length === 0) return;
    const headSize = plannerSettings.windowImages * drives.length * 2;
    const head = queue.slice(0, headSize);
    const plan = planAssignments({ queue: head, writers: drives.map(writerInfo), settings: plannerSettings });
    if (plan.assignments.length === 0) return;
    const byId = new Map(head.map((c) => [c.copyId, c]));
    const assigned = new Set<string>();
    for (const a of [...plan.assignments].sort((x, y) => x.order - y.order)) {
      const d = drives.find((x) => x.id === a.driveId)!;
      const copy = byId.get(a.copyId)!;
      d.local.push(copy);
      d.localBytes += copy.sizeBytes;
      queueBytes -= copy.sizeBytes;
      assigned.add(a.copyId);
    }
    queue.splice(0, head.length, ...head.filter((c) => !assigned.has(c.copyId)));
  }

  function factsOf(copy: QueuedCopy): ImageFacts {
    return { sizeBytes: copy.sizeBytes, priority: copy.priority, kind: copy.kind, attempt: copy.attempt };
  }

  /**
   * Decides `first` (and, for a writer that queues ahead, the drive's next assigned copies, each
   * against the batch as it will be once those before it are written) and returns the jobs to hand
   * over: up to and including the first synchronous ending, or until the batch must end between
   * images.
   */
  function takeJobs(d: DriveState, first: QueuedCopy, context: DriveContext): WriteJob[] {
    const jobs: WriteJob[] = [];
    let batch = d.batch;
    let next: QueuedCopy | undefined = first;
    const limit = writerFactory.queuesAhead ? MAX_JOBS_PER_HAND_OVER : 1;
    while (next !== undefined) {
      const now = clock.now();
      const facts = factsOf(next);
      if (jobs.length > 0) {
        const verdict = policy.shouldSyncNow({ batch, drive: context, next: facts, moreWork: true }, now);
        // Asked again, against the real batch, once these jobs are written.
        if (verdict.action === 'sync-now') break;
      }
      d.local.shift();
      d.localBytes -= next.sizeBytes;
      const othersQueued = Math.ceil(queue.length / drives.length);
      const remaining = {
        images: d.local.length + othersQueued,
        bytes: d.localBytes + queueBytes / drives.length,
        isLast: d.local.length === 0 && queue.length === 0,
      };
      const decision = policy.decide({ image: facts, drive: context, batch, remaining }, now);
      count(decision.reason);
      const rec = records.get(next.copyId)!;
      rec.firstStartedAt ??= now;
      d.handed.push({ copyId: next.copyId, facts, startedAt: now, ending: decision.decision });
      jobs.push({
        copyId: next.copyId,
        imageId: next.imageId,
        copyNumber: next.copyNumber,
        sizeBytes: next.sizeBytes,
        priority: next.priority,
        attempt: next.attempt,
        reason: decision.reason,
        ending: decision.decision,
      });
      if (decision.decision === 'sync' || jobs.length >= limit) break;
      batch = withDeferredImage(batch, facts, now);
      next = d.local[0];
    }
    return jobs;
  }

  async function runDrive(d: DriveState): Promise<void> {
    d.running = true;
    try {
      for (;;) {
        if (d.local.length <= plannerSettings.windowImages / 2) replan();
        const next = d.local[0];
        const context = stats.context(d.id, d.mediumId, rate);
        if (next === undefined) {
          if (d.batch.deferredImages > 0 || d.open.length > 0) {
            const verdict = policy.shouldSyncNow(
              { batch: d.batch, drive: context, moreWork: false },
              clock.now(),
            );
            count(`flush:${verdict.reason}`);
            await d.writer.flush();
            continue;
          }
          return;
        }
        const facts = factsOf(next);
        const verdict = policy.shouldSyncNow(
          { batch: d.batch, drive: context, next: facts, moreWork: true },
          clock.now(),
        );
        if (verdict.action === 'sync-now') {
          count(`flush:${verdict.reason}`);
          await d.writer.flush();
          continue;
        }
        await d.writer.write(takeJobs(d, next, context));
        // A failed batch leaves the copies handed after it unwritten.
        takeBackUnstarted(d);
      }
    } finally {
      d.running = false;
    }
  }

  // Drive loops end when they have nothing left; a failure elsewhere may requeue work, so loops are
  // restarted until every copy is committed or nothing can make progress.
  const loops = new Set<Promise<void>>();
  const kick = () => {
    for (const d of drives) {
      if (d.running) continue;
      const p = runDrive(d).catch((error: unknown) => {
        failure ??= error;
      });
      loops.add(p);
      void p.finally(() => loops.delete(p));
    }
  };
  while (committed < copies.length && failure === undefined) {
    kick();
    await Promise.all([...loops]);
    if (committed < copies.length && queue.length === 0 && drives.every((d) => d.local.length === 0)) {
      failure ??= new SimulatorError(
        'SIMULATION_STALLED',
        `${copies.length - committed} copies neither queued nor committed`,
      );
    }
  }
  if (failure !== undefined) throw failure;
  for (const d of drives) await d.writer.close();

  const sum = (f: (s: VirtualDrive['stats']) => number) =>
    drives.reduce((a, d, i) => a + f(d.device.stats) - f(baseline[i]!), 0);
  const syncCost = profile.syncOverheadMs / 1000;
  const limitSeconds = totalBytes / drives.length / rate + syncCost;
  const elapsedSeconds = (finishedAt - startedAt) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    workload: workload.name,
    policy: options.policy.label,
    batchBytes: options.policy.batchBytes,
    seed,
    profile: profile.name,
    drives: drives.length,
    writer: writerFactory.name,
    history: historyMode,
    historyErrors,
    elapsedSeconds,
    bytes: totalBytes,
    images: images.length,
    copies: copies.length,
    bytesWritten: sum((s) => s.bytesWritten),
    immediateFilemarks: sum((s) => s.immediateFilemarks),
    synchronousFilemarks: sum((s) => s.synchronousFilemarks),
    syncs: sum((s) => s.syncs),
    backhitches: sum((s) => s.backhitches),
    failedBatches,
    failedCopies,
    bytesRewritten,
    commitLatencySeconds: {
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      p99: percentile(latencies, 0.99),
    },
    limitSeconds,
    limitRatio: elapsedSeconds / limitSeconds,
    reasons,
  };
}

function makeCopies(images: readonly SimImage[], copies: number): QueuedCopy[] {
  const out: QueuedCopy[] = [];
  images.forEach((img, seq) => {
    for (let n = 1; n <= copies; n++) {
      out.push({
        copyId: `${img.imageId}.c${n}`,
        imageId: img.imageId,
        requestId: 'sim',
        copyNumber: n,
        priority: img.priority,
        sizeBytes: img.sizeBytes,
        kind: 'disk',
        attempt: 1,
        submitSeq: seq,
      });
    }
  });
  return out;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}
