/**
 * Sync groups: copies of one image assigned together to several drives, written with immediate
 * filemarks and flushed by `sync-now` to all their drives at once, so the flushes overlap. A group
 * lives from its assign until every member is written, or until any member fails.
 */
import type { CopyInFlight } from './drive-state';
import type { Output } from './outputs';
import { type CoordinatorState, driveOf } from './state';
import { syncNow } from './sync-now';

/** Where a copy in a sync group stands. */
export interface SyncGroup {
  readonly members: { driveId: string; wire: string }[];
  readonly written: Set<string>;
}

/**
 * Copies of one image assigned together to several drives: when the policy ends the batch with
 * any of them, all are written with immediate filemarks and the drives get `sync-now` together
 * once every copy is written, so the flushes overlap.
 */
export function formSyncGroups(
  core: CoordinatorState,
  built: Map<string, { medium: string; items: CopyInFlight[] }>,
): void {
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
    const groupId = `${key}@${core.ids.next('g')}`;
    const g: SyncGroup = { members: [], written: new Set() };
    for (const c of members) {
      c.reason = `group-sync(${c.reason})`;
      c.decision = 'defer';
      c.group = groupId;
    }
    for (const [driveId, { items }] of built) {
      for (const c of items) if (c.group === groupId) g.members.push({ driveId, wire: c.wire });
    }
    core.groups.set(groupId, g);
    core.log.info(
      { group: groupId, drives: g.members.map((x) => x.driveId) },
      'copies of one image sync together',
    );
  }
}

/** A member was written; the last one sends `sync-now` to every connected drive of the group. */
export function groupWritten(core: CoordinatorState, groupId: string, wire: string): Output[] {
  const g = core.groups.get(groupId);
  if (g === undefined) return [];
  g.written.add(wire);
  if (g.written.size < g.members.length) return [];
  core.groups.delete(groupId);
  const out: Output[] = [];
  for (const member of g.members) {
    const d = driveOf(core, member.driveId);
    if (d.connected) out.push(syncNow(core, d, 'sync-group'));
  }
  core.log.info(
    { group: groupId, drives: g.members.map((m) => m.driveId) },
    'sync group written: flushing its drives together',
  );
  return out;
}

/** A member failed: the group is dissolved and each drive's own batch checks take over. */
export function groupBroken(core: CoordinatorState, groupId: string | undefined): void {
  if (groupId !== undefined) core.groups.delete(groupId);
}
