/**
 * `medium-full`: the writer reached early warning. Copies it was writing continue on the next
 * medium of the pool (spanning); everything else it held is failed and requeued.
 */
import type { MessageOf } from '@tapedup/protocol';
import { type CopyFailure, isCatalogError } from '../catalog';
import { sendAssign } from './assignment';
import type { CopyInFlight, DriveState } from './drive-state';
import { failDrive, failOne } from './failures';
import { chooseMedium, mediumPool } from './media';
import type { Output } from './outputs';
import { plan } from './planning';
import { finishedRequests } from './request-done';
import type { CoordinatorState } from './state';
import { groupBroken } from './sync-groups';

/**
 * Early warning: the writer ended the fragment, synced (its `batch-synced` came first) and lists
 * in `inFlight` the copies it was writing (it keeps their sources open) and the queued ones it
 * dropped. The medium is marked full, the next medium of the pool is chosen, and those same copy
 * ids are assigned on it: the writer continues the kept ones from where they stopped (the
 * fragments on both media commit together) and starts the others from their beginning.
 */
export function mediumFull(core: CoordinatorState, d: DriveState, m: MessageOf<'medium-full'>): Output[] {
  const out: Output[] = [];
  const pool = mediumPool(core, m.medium);
  try {
    core.catalog.setMediumState(m.medium, 'full', 'early warning');
    out.push({ kind: 'medium-state', barcode: m.medium, state: 'full', reason: 'early warning' });
  } catch (error) {
    if (!isCatalogError(error)) throw error;
    core.log.warn(
      { medium: m.medium, code: error.code },
      'medium-full for a medium the catalog cannot mark full',
    );
  }
  if (d.medium === m.medium) d.medium = undefined;
  const failure: CopyFailure = { code: 'MEDIUM_FULL', reason: `medium ${m.medium} reached early warning` };
  if (d.pending.size > 0) {
    // Written copies the writer's sync did not cover are unproven: fail them all, as after any error.
    out.push(...failDrive(core, d, failure, { countAsDeviceError: false }));
    out.push(...plan(core));
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
    out.push(...failOne(core, d, c, failure));
  }
  const next =
    continuing.length === 0 || pool === undefined ? undefined : chooseMedium(core, pool, [m.medium], d.id);
  if (next === undefined) {
    if (continuing.length > 0) core.log.warn({ driveId: d.id, pool }, 'no medium left to continue on');
    for (const c of continuing) {
      d.outstanding.delete(c.wire);
      out.push(
        ...failOne(core, d, c, { code: 'NO_MEDIUM', reason: `no medium of pool ${pool} to continue on` }),
      );
    }
    out.push(...finishedRequests(core));
    out.push(...plan(core));
    return out;
  }
  for (const c of continuing) {
    d.outstanding.delete(c.wire);
    c.medium = next;
    groupBroken(core, c.group);
    c.group = undefined;
  }
  d.medium = next;
  // The writer mounts the cartridge an assign names; the continuation starts at its data area.
  d.loadedMedium = next;
  d.needsResume = true;
  core.log.info(
    { driveId: d.id, full: m.medium, next, copies: continuing.map((c) => c.wire), position: m.position },
    'medium full: continuing on the next medium',
  );
  out.push(...sendAssign(core, d, next, continuing));
  out.push(...plan(core));
  return out;
}
