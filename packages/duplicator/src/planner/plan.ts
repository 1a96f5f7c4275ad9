/**
 * The batch planner: which queued copy goes to which drive, next. Pure and deterministic.
 */
import { cmp, compareCopies } from './order';
import type { PlannerSettings } from './settings';
import type { Assignment, Plan, QueuedCopy, WaitReason, WriterInfo } from './types';

export interface PlanInput {
  readonly queue: readonly QueuedCopy[];
  /** Connected writers only. */
  readonly writers: readonly WriterInfo[];
  /** Media that must receive nothing (errors froze them). */
  readonly frozenMedia?: readonly string[] | undefined;
  readonly settings: PlannerSettings;
}

interface Load {
  readonly writer: WriterInfo;
  images: number;
  bytes: number;
  planned: number;
  readonly inFlight: Set<string>;
}

/**
 * Plans assignments:
 * - copies are served highest priority first, then in submit order;
 * - each copy goes to the writer with the least queued bytes among those that can take it, preferring
 *   a writer whose loaded medium can receive it (no mount), and for a retry, a drive it did not fail on;
 * - copies of one image go to distinct drives, assigned together and flagged as one sync group; if
 *   enough drives exist but some have no room yet, the group waits rather than split, so the copies
 *   still sync together; with fewer drives than copies, the rest follow once a drive is free of the
 *   image;
 * - a copy never targets a frozen medium or one it is excluded from: the assignment asks for another;
 * - no writer is handed more than the look-ahead window (`windowImages`, `windowBytes`) of unwritten
 *   copies, so the queues behind the drives stay bounded;
 * - each drive gets one ordered list that extends its single open batch; where a batch ends is the
 *   sync policy's call, not the planner's.
 */
export function planAssignments(input: PlanInput): Plan {
  const { settings } = input;
  const frozen = new Set(input.frozenMedia ?? []);
  const loads: Load[] = [...input.writers]
    .sort((a, b) => cmp(a.driveId, b.driveId))
    .map((writer) => ({
      writer,
      images: writer.queuedImages,
      bytes: writer.queuedBytes,
      planned: 0,
      inFlight: new Set(writer.imagesInFlight ?? []),
    }));
  const assignments: Assignment[] = [];
  const waiting: { copyId: string; reason: WaitReason }[] = [];

  const hasRoom = (l: Load, size: number): boolean =>
    l.images < settings.windowImages && (l.images === 0 || l.bytes + size <= settings.windowBytes);

  for (const group of groupByImage([...input.queue].sort(compareCopies))) {
    const first = group[0];
    if (first === undefined) continue;
    if (loads.length === 0) {
      for (const c of group) waiting.push({ copyId: c.copyId, reason: 'no-writer' });
      continue;
    }
    const capable = loads.filter((l) => !l.inFlight.has(first.imageId));
    if (capable.length === 0) {
      for (const c of group) waiting.push({ copyId: c.copyId, reason: 'sibling-on-every-drive' });
      continue;
    }
    const roomy = capable.filter((l) => hasRoom(l, first.sizeBytes));
    // Enough distinct drives exist for the whole group but not all have room: hold it whole.
    const holdWhole = group.length > 1 && capable.length >= group.length && roomy.length < group.length;
    if (holdWhole || roomy.length === 0) {
      const reason: WaitReason = holdWhole && roomy.length > 0 ? 'awaiting-group' : 'window-full';
      for (const c of group) waiting.push({ copyId: c.copyId, reason });
      continue;
    }
    const used = new Set<Load>();
    const picked: { copy: QueuedCopy; load: Load; mediumChange: boolean; excluded: string[] }[] = [];
    for (const copy of group) {
      const excluded = [...new Set([...(copy.excludedMedia ?? []), ...frozen])].sort(cmp);
      const best = roomy
        .filter((l) => !used.has(l))
        .map((load) => ({ load, mediumChange: !mediumUsable(load.writer, copy, excluded) }))
        .sort((a, b) => rank(a, copy) - rank(b, copy) || compareLoad(a.load, b.load))[0];
      if (best === undefined) {
        waiting.push({ copyId: copy.copyId, reason: 'sibling-on-every-drive' });
        continue;
      }
      used.add(best.load);
      picked.push({ copy, load: best.load, mediumChange: best.mediumChange, excluded });
    }
    const syncGroup =
      picked.length > 1 ? { id: `${first.requestId}/${first.imageId}`, size: picked.length } : undefined;
    for (const p of picked) {
      assignments.push({
        copyId: p.copy.copyId,
        driveId: p.load.writer.driveId,
        order: p.load.planned,
        mediumChange: p.mediumChange,
        excludedMedia: p.excluded,
        ...(syncGroup ? { syncGroup } : {}),
      });
      p.load.planned += 1;
      p.load.images += 1;
      p.load.bytes += p.copy.sizeBytes;
      p.load.inFlight.add(p.copy.imageId);
    }
  }
  return { assignments, waiting };
}

/** Lower is better: a usable loaded medium first, then (for a retry) a drive it did not fail on, then an empty open batch for copies that will be synced alone. */
function rank(c: { load: Load; mediumChange: boolean }, copy: QueuedCopy): number {
  let r = 0;
  if (c.mediumChange) r += 4;
  if (copy.failedOnDrives?.includes(c.load.writer.driveId)) r += 2;
  // A retry or a stream is synced alone: on a drive with an open batch it would force an early flush.
  if ((copy.attempt > 1 || copy.kind === 'stream') && (c.load.writer.openBatch?.images ?? 0) > 0) r += 1;
  return r;
}

/** Least queued bytes, then fewest queued copies, then idle before busy, then drive id. */
function compareLoad(a: Load, b: Load): number {
  return (
    a.bytes - b.bytes ||
    a.images - b.images ||
    Number(a.writer.state === 'busy') - Number(b.writer.state === 'busy') ||
    cmp(a.writer.driveId, b.writer.driveId)
  );
}

function mediumUsable(writer: WriterInfo, copy: QueuedCopy, excluded: readonly string[]): boolean {
  if (writer.mediumId === undefined || excluded.includes(writer.mediumId)) return false;
  return copy.pool === undefined || writer.pool === copy.pool;
}

/**
 * Groups the sorted copies by image, in order of each image's first copy. Copies of one image in the
 * queue together (same request, same priority) are planned together so they land on distinct drives.
 */
function groupByImage(sorted: readonly QueuedCopy[]): QueuedCopy[][] {
  const groups = new Map<string, QueuedCopy[]>();
  for (const c of sorted) {
    const key = `${c.requestId}\u0000${c.imageId}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [c]);
    else g.push(c);
  }
  return [...groups.values()];
}
