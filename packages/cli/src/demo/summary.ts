/**
 * The demo's summary: what was duplicated, how the filemarks split between immediate and synchronous,
 * retries, wall and model time, the sync-every comparison, and the read-back verification. Built from
 * the catalog's own records and the verification result; rendered as text or JSON (stable shape,
 * documented in packages/cli/README.md).
 */
import type { DriveActivity } from '../catalog/reader';
import { formatBytes, formatDuration, formatTable } from '../output/format';
import type { Mismatch } from '../tape/compare';
import { type DriveModel, type DriveWork, estimateModelTime, type ModelEstimate } from './model';

export interface DemoSummary {
  ok: boolean;
  requestId: string;
  outcome: string;
  policy: string;
  images: number;
  copies: number;
  bytes: number;
  committed: number;
  abandoned: number;
  retries: number;
  filemarks: { immediate: number; synchronous: number; failedSyncs: number };
  drives: (DriveWork & { failedSyncs: number })[];
  clockScale: number;
  wallMs: { total: number; prepare: number; duplicate: number; verify: number };
  modelMs: {
    /** Wall time of the duplication × clock scale: the model time that passed (host work included). */
    elapsed: number;
    /** Tape time of this run on the drive model. */
    tape: number;
    /** The same images synced one by one, on the same model. */
    syncEvery: number;
    speedup: number;
  };
  verification: { checked: number; verified: number; bytesVerified: number; mismatches: Mismatch[] };
  dir: string;
}

export interface SummaryInput {
  requestId: string;
  outcome: string;
  policy: string;
  images: number;
  copies: number;
  bytes: number;
  committed: number;
  abandoned: number;
  retries: number;
  activity: readonly DriveActivity[];
  model: DriveModel;
  clockScale: number;
  wallMs: DemoSummary['wallMs'];
  verification: DemoSummary['verification'];
  dir: string;
}

/**
 * Every synced batch ends with exactly one synchronous WRITE FILEMARKS; the other copies of the batch
 * ended with immediate filemarks. A failed batch cost a synchronous filemark that failed.
 */
export function driveWork(activity: readonly DriveActivity[]): (DriveWork & { failedSyncs: number })[] {
  return activity.map((a) => ({
    id: a.drive,
    images: a.committed,
    bytes: a.bytes,
    syncs: a.syncedBatches + a.failedBatches,
    immediateFilemarks: Math.max(0, a.syncedImages - a.syncedBatches),
    failedSyncs: a.failedBatches,
  }));
}

export function buildSummary(input: SummaryInput): DemoSummary {
  const drives = driveWork(input.activity);
  const estimate: ModelEstimate = estimateModelTime(drives, input.model);
  const sum = (f: (d: (typeof drives)[number]) => number) => drives.reduce((s, d) => s + f(d), 0);
  const expected = input.images * input.copies;
  const v = input.verification;
  return {
    ok:
      input.outcome === 'done' &&
      input.committed === expected &&
      input.abandoned === 0 &&
      v.mismatches.length === 0 &&
      v.checked === expected &&
      v.verified === expected,
    requestId: input.requestId,
    outcome: input.outcome,
    policy: input.policy,
    images: input.images,
    copies: input.copies,
    bytes: input.bytes,
    committed: input.committed,
    abandoned: input.abandoned,
    retries: input.retries,
    filemarks: {
      immediate: sum((d) => d.immediateFilemarks),
      synchronous: sum((d) => d.syncs),
      failedSyncs: sum((d) => d.failedSyncs),
    },
    drives,
    clockScale: input.clockScale,
    wallMs: input.wallMs,
    modelMs: {
      elapsed: Math.round(input.wallMs.duplicate * input.clockScale),
      tape: Math.round(estimate.deferredMs),
      syncEvery: Math.round(estimate.syncEveryMs),
      speedup: Math.round(estimate.speedup * 10) / 10,
    },
    verification: v,
    dir: input.dir,
  };
}

export function renderSummary(s: DemoSummary): string {
  const lines = [
    `tapedup demo — ${s.ok ? 'OK' : 'FAILED'} (${s.requestId}: ${s.outcome}, policy ${s.policy})`,
    '',
    `images            ${s.images} × ${s.copies} cop${s.copies === 1 ? 'y' : 'ies'}, ${formatBytes(s.bytes)} per copy set`,
    `committed         ${s.committed} copies, ${s.abandoned} abandoned, ${s.retries} retries`,
    `filemarks         ${s.filemarks.immediate} immediate, ${s.filemarks.synchronous} synchronous (${s.filemarks.failedSyncs} failed)`,
    `wall time         ${formatDuration(s.wallMs.total)} (prepare ${formatDuration(s.wallMs.prepare)}, duplicate ${formatDuration(s.wallMs.duplicate)}, verify ${formatDuration(s.wallMs.verify)})`,
    `tape time         ${formatDuration(s.modelMs.tape)} on the drive model (data at the native rate + filemarks + syncs, slowest drive)`,
    `sync-every        ${formatDuration(s.modelMs.syncEvery)} on the same model (${s.modelMs.speedup}× longer)`,
    `drive clock       ${formatDuration(s.modelMs.elapsed)} passed on the drives' clock (duplicate wall time × clock scale ${s.clockScale}, host work included)`,
    `verification      ${s.verification.verified}/${s.verification.checked} copies read back, ${formatBytes(s.verification.bytesVerified)}, ${s.verification.mismatches.length} mismatches`,
    '',
    formatTable(
      ['drive', 'images', 'bytes', 'immediate', 'syncs', 'failed syncs'],
      s.drives.map((d) => [
        d.id,
        d.images,
        formatBytes(d.bytes),
        d.immediateFilemarks,
        d.syncs,
        d.failedSyncs,
      ]),
    ),
  ];
  for (const m of s.verification.mismatches.slice(0, 20))
    lines.push(`mismatch: ${m.backupId} copy ${m.copy}: ${m.reason} ${m.detail}`);
  lines.push('', `state, catalog and cartridges: ${s.dir}`);
  return lines.join('\n');
}
