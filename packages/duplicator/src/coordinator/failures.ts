/**
 * Failing work after an error. Any failure since a drive's last good sync fails every copy in
 * flight on it (the catalog requeues what may be retried), and medium errors that repeat on one
 * cartridge freeze it.
 */
import type { Sense } from '@tapedup/protocol';
import { type CopyFailure, type FailBatchResult, isCatalogError, type JsonObject } from '../catalog';
import { type CopyInFlight, clearInFlight, type DriveState } from './drive-state';
import { failureEvents } from './failure-events';
import type { Output } from './outputs';
import { finishedRequests } from './request-done';
import type { CoordinatorState } from './state';
import { groupBroken } from './sync-groups';

/** Fails everything in flight on the drive in the catalog and reports it; clears the drive's state. */
export function failDrive(
  core: CoordinatorState,
  d: DriveState,
  failure: CopyFailure,
  options: { freezeMedium?: boolean; countAsDeviceError?: boolean },
  sense?: Sense,
): Output[] {
  const known = new Map<number, CopyInFlight>();
  for (const c of [...d.pending.values(), ...d.outstanding.values()]) {
    known.set(c.copyId, c);
    groupBroken(core, c.group);
  }
  const medium = core.catalog.openBatchOf(d.id)?.medium ?? d.medium;
  let result: FailBatchResult | null;
  result = core.catalog.failUncommittedOnDrive(d.id, failure, options);
  clearInFlight(d, core.clock());
  const out: Output[] = [];
  if (result === null) return out;
  for (const c of result.copies) {
    out.push(
      ...failureEvents(core, c, failure, { driveId: d.id, medium, sense, known: known.get(c.copyId) }),
    );
  }
  if (result.mediumFrozen && medium !== undefined) {
    out.push({
      kind: 'medium-state',
      barcode: medium,
      state: 'frozen',
      reason: `${failure.code}: ${failure.reason}`.slice(0, 256),
    });
    core.log.warn({ medium, driveId: d.id }, 'medium frozen after repeated errors');
    if (d.medium === medium) d.medium = undefined;
  }
  out.push(...finishedRequests(core));
  return out;
}

/** Fails one copy on its own in the catalog and reports it (a stream copy is never requeued). */
export function failOne(
  core: CoordinatorState,
  d: DriveState,
  c: CopyInFlight,
  failure: CopyFailure,
  sense?: Sense,
): Output[] {
  const outcome = core.catalog.failCopy(c.copyId, failure);
  groupBroken(core, c.group);
  return failureEvents(core, outcome, failure, { driveId: d.id, medium: c.medium, sense, known: c });
}

/** Freezes a medium directly (one that failed while being mounted, with no batch to fail). */
export function freezeMedium(core: CoordinatorState, barcode: string, sense: Sense): Output[] {
  try {
    core.catalog.setMediumState(barcode, 'frozen', `${sense.code}: ${sense.message}`.slice(0, 256));
  } catch (error) {
    if (!isCatalogError(error)) throw error;
    return [];
  }
  return [{ kind: 'medium-state', barcode, state: 'frozen', reason: sense.code }];
}

/** Medium errors that repeat on one cartridge freeze it (its next attempts go elsewhere). */
export function shouldFreeze(core: CoordinatorState, medium: string, sense: Sense): boolean {
  if (sense.category !== 'medium') return false;
  try {
    return core.catalog.getMedium(medium).errorCount + 1 >= core.settings.freezeAfterMediumErrors;
  } catch {
    return false;
  }
}

/** The catalog's failure record for a sense report (its raw bytes are not kept). */
export function senseFailure(sense: Sense): CopyFailure {
  const { raw: _raw, ...rest } = sense;
  return { code: sense.code, reason: sense.message, sense: rest as unknown as JsonObject };
}
