/**
 * Planning: which queued copies go to which writer now. The planner decides who takes what; this
 * prepares a medium per drive (mounting it first when another is loaded), hands each drive its
 * copies (`assignment.ts`) and then runs the batch checks.
 */
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import type { QueuedCopy as CatalogQueuedCopy } from '../catalog';
import { type Assignment, type QueuedCopy as PlanCopy, planAssignments, type WriterInfo } from '../planner';
import { buildItems, sendAssign } from './assignment';
import type { CopyInFlight, DriveState } from './drive-state';
import { chooseMedium, mediumPool, mediumState } from './media';
import { clampPriority } from './messages';
import type { Output } from './outputs';
import { type CoordinatorState, driveOf } from './state';
import { formSyncGroups } from './sync-groups';
import { batchChecks } from './sync-now';

/** Most copies read from the queue per planning round, per drive. */
const QUEUE_PAGE_PER_DRIVE = 4;

/**
 * One planning round: queued copies to idle room on connected writers (planner), a medium per
 * drive, a policy decision per copy, and `sync-now` where a batch must end.
 */
export function plan(core: CoordinatorState): Output[] {
  if (core.stopping) return [];
  const now = core.clock();
  if (core.settleUntil !== undefined) {
    const allUp = core.settings.drives.every((d) => core.drives.get(d.id)?.connected === true);
    if (!allUp && now < core.settleUntil) return [];
    core.settleUntil = undefined;
  }
  const out: Output[] = [];
  // Drives still mounting take part in the plan, so copies of one image stay grouped over the
  // drives; what lands on a drive that cannot write yet simply stays queued this round.
  const writers = [...core.drives.values()].filter((d) => d.connected && d.state !== 'failed');
  if (writers.length > 0) {
    const limit = Math.min(100_000, core.settings.windowImages * QUEUE_PAGE_PER_DRIVE * writers.length);
    const page = core.catalog.nextQueued(limit);
    const queue = page.filter((q) => (core.notBefore.get(q.copyId) ?? 0) <= now);
    const truncated = page.length >= limit;
    const byId = new Map(queue.map((q) => [String(q.copyId), q]));
    const plan = planAssignments({
      queue: queue.map(toPlanCopy),
      writers: writers.map((d) => writerInfo(core, d)),
      frozenMedia: core.catalog.listMedia({ state: 'frozen', limit: 100_000 }).map((m) => m.barcode),
      settings: { windowImages: core.settings.windowImages, windowBytes: core.settings.windowBytes },
    });
    const perDrive = new Map<string, Assignment[]>();
    for (const a of plan.assignments) perDrive.set(a.driveId, [...(perDrive.get(a.driveId) ?? []), a]);
    const media = new Map<string, string>();
    for (const [driveId, list] of perDrive) {
      const medium = prepareMedium(core, driveOf(core, driveId), list, byId, out);
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
      const items = buildItems(
        core,
        driveOf(core, driveId),
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
    formSyncGroups(core, built);
    for (const [driveId, { medium, items }] of built)
      out.push(...sendAssign(core, driveOf(core, driveId), medium, items));
  }
  out.push(...batchChecks(core, now));
  return out;
}

/** The planner's view of one writer: its room, its medium and pool, the images it holds. */
function writerInfo(core: CoordinatorState, d: DriveState): WriterInfo {
  let bytes = 0;
  for (const c of d.outstanding.values()) bytes += c.sizeBytes;
  const pool = d.medium === undefined ? undefined : mediumPool(core, d.medium);
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
function prepareMedium(
  core: CoordinatorState,
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
  if (first.mediumChange || medium === undefined || mediumState(core, medium) !== 'active') {
    // A new medium only on a drive with nothing unproven on the old one.
    if (d.outstanding.size > 0 || d.pending.size > 0) return undefined;
    const chosen = chooseMedium(core, firstCopy.pool, first.excludedMedia, d.id);
    if (chosen === undefined) {
      core.log.warn({ driveId: d.id, pool: firstCopy.pool }, 'no usable medium left in the pool');
      return undefined;
    }
    medium = chosen;
    d.medium = chosen;
    d.needsResume = true;
  }
  if (d.loadedMedium !== medium) {
    const msgId = core.ids.next('m');
    d.mounting = { barcode: medium, msgId };
    core.log.info({ driveId: d.id, medium }, 'mounting medium');
    out.push({
      kind: 'writer',
      driveId: d.id,
      message: { v: PROTOCOL_VERSION, type: 'mount', id: msgId, barcode: medium },
    });
    return undefined;
  }
  return medium;
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
