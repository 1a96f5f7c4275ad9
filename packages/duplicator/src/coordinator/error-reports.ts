/**
 * The writer's failure reports: `sync-failed` (the batch is lost), `copy-failed` (one copy), and
 * `drive-error`. Nothing a failed sync or drive error touched is ever committed: it is failed and,
 * while attempts remain, requeued.
 */
import type { MessageOf } from '@tapedup/protocol';
import type { CopyFailure, JsonObject } from '../catalog';
import type { DriveState } from './drive-state';
import { failureEvents } from './failure-events';
import { failDrive, freezeMedium, senseFailure, shouldFreeze } from './failures';
import type { Output } from './outputs';
import { plan } from './planning';
import { finishedRequests } from './request-done';
import type { CoordinatorState } from './state';
import { groupBroken } from './sync-groups';

export function syncFailed(core: CoordinatorState, d: DriveState, m: MessageOf<'sync-failed'>): Output[] {
  const medium = core.catalog.openBatchOf(d.id)?.medium ?? d.medium;
  const freeze = medium !== undefined && shouldFreeze(core, medium, m.sense);
  if (medium !== undefined) core.stats.observeError(d.id, medium);
  core.log.warn(
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
      core.catalog.returnUnwritten(
        unstarted.map(([, c]) => c.copyId),
        `batch ${m.batchId} failed before the writer started it`,
      ),
    );
    for (const [wire, c] of unstarted) {
      if (!moved.has(c.copyId)) continue;
      d.outstanding.delete(wire);
      groupBroken(core, c.group);
    }
    core.log.info({ driveId: d.id, returned: moved.size }, 'unstarted copies returned to the queue');
  }
  const out = failDrive(core, d, senseFailure(m.sense), { freezeMedium: freeze }, m.sense);
  out.push(...plan(core));
  return out;
}

export function copyFailed(core: CoordinatorState, d: DriveState, m: MessageOf<'copy-failed'>): Output[] {
  const c = d.outstanding.get(m.copyId) ?? d.pending.get(m.copyId);
  if (c === undefined) {
    core.log.warn({ driveId: d.id, copyId: m.copyId }, 'stale or unknown copy-failed ignored');
    return [];
  }
  d.outstanding.delete(m.copyId);
  d.pending.delete(m.copyId);
  const failure: CopyFailure = {
    code: m.reason,
    reason: m.message,
    ...(m.sense ? { sense: m.sense as unknown as JsonObject } : {}),
  };
  const outcome = core.catalog.failCopy(c.copyId, failure);
  groupBroken(core, c.group);
  const out = failureEvents(core, outcome, failure, {
    driveId: d.id,
    medium: c.medium,
    sense: m.sense,
    known: c,
  });
  out.push(...finishedRequests(core));
  out.push(...plan(core));
  return out;
}

/**
 * A drive error fails the drive's batch; a medium that failed while being mounted (no batch on it)
 * is frozen directly when its errors repeat. A fatal error leaves the drive out of planning.
 */
export function driveError(core: CoordinatorState, d: DriveState, m: MessageOf<'drive-error'>): Output[] {
  const medium = core.catalog.openBatchOf(d.id)?.medium ?? d.mounting?.barcode ?? d.medium;
  const freeze = medium !== undefined && shouldFreeze(core, medium, m.sense);
  if (medium !== undefined) core.stats.observeError(d.id, medium);
  core.log.warn(
    { driveId: d.id, fatal: m.fatal, sense: m.sense.code, affected: m.affected.length, freeze },
    'drive error',
  );
  const out = failDrive(core, d, senseFailure(m.sense), { freezeMedium: freeze }, m.sense);
  if (d.mounting !== undefined) {
    if (freeze) out.push(...freezeMedium(core, d.mounting.barcode, m.sense));
    d.mounting = undefined;
    d.medium = undefined;
  }
  if (m.fatal) d.state = 'failed';
  out.push(...plan(core));
  return out;
}
