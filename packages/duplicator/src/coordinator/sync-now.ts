/**
 * Ending a drive's batch: `sync-now`, sent when a planned copy must not join the open batch, when a
 * sync group is written, or when a batch check finds the policy wants it ended.
 */
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import { type DriveState, openBatchOf } from './drive-state';
import { mediumPool } from './media';
import type { Output } from './outputs';
import { driveContext, policyFor } from './policies';
import type { CoordinatorState } from './state';

/** A `sync-now` for the drive; its batch id and send time are kept to match the `batch-synced`. */
export function syncNow(core: CoordinatorState, d: DriveState, reason: string): Output {
  const msgId = core.ids.next('y');
  const batchId = `${d.id}.${msgId}`;
  d.syncInFlight = { batchId, msgId, sentAt: core.clock() };
  core.log.debug({ driveId: d.id, batchId, reason }, 'sync-now');
  return {
    kind: 'writer',
    driveId: d.id,
    message: { v: PROTOCOL_VERSION, type: 'sync-now', id: msgId, batchId },
  };
}

/**
 * Between images and on ticks: ends a drive's batch with `sync-now` when the policy says so — the
 * batch is too old, or the writer went idle with nothing more to do (end of work).
 */
export function batchChecks(core: CoordinatorState, now: number): Output[] {
  const out: Output[] = [];
  for (const d of core.drives.values()) {
    if (!d.connected || d.syncInFlight !== undefined || d.pending.size === 0) continue;
    if (d.mounting !== undefined) continue;
    const medium = d.medium ?? [...d.pending.values()][0]?.written?.medium;
    if (medium === undefined) continue;
    // Pending copies waiting for their sync group's other drives are flushed by the group.
    if ([...d.pending.values()].some((c) => c.group !== undefined && core.groups.has(c.group))) continue;
    const idle = d.outstanding.size === 0;
    const batch = openBatchOf(d);
    const first = [...d.pending.values()][0]!;
    const policy = policyFor(core, first.requestId, mediumPool(core, medium) ?? '');
    const verdict = policy.shouldSyncNow(
      { batch, drive: driveContext(core, d, medium), moreWork: !idle },
      now,
    );
    if (verdict.action === 'sync-now') {
      core.log.info(
        { driveId: d.id, reason: verdict.reason, triggers: verdict.triggers, explain: verdict.explain },
        `batch check: sync-now (${verdict.reason})`,
      );
      out.push(syncNow(core, d, verdict.reason));
    }
  }
  return out;
}
