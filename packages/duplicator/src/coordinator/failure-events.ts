/**
 * What the scheduler hears when a copy fails: `image-failed`, and `image-retrying` when the catalog
 * requeued it. A retry is held back by exponential backoff (`retryBackoffMs` doubling per attempt,
 * capped by `retryMaxBackoffMs`); planning skips it until then.
 */
import type { Sense } from '@tapedup/protocol';
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import { type CopyFailure, type FailOutcome, isCatalogError } from '../catalog';
import type { CopyInFlight } from './drive-state';
import { eventOutput, toCode } from './messages';
import type { Output } from './outputs';
import type { CoordinatorState } from './state';

export function failureEvents(
  core: CoordinatorState,
  outcome: FailOutcome,
  failure: CopyFailure,
  ctx: {
    driveId?: string | undefined;
    medium?: string | undefined;
    sense?: Sense | undefined;
    known?: CopyInFlight | undefined;
  } = {},
): Output[] {
  const now = core.clock();
  const ident = ctx.known ?? identify(core, outcome.copyId);
  if (ident === undefined) return [];
  const retryable = outcome.to === 'retrying';
  const events: Output[] = [
    eventOutput({
      v: PROTOCOL_VERSION,
      type: 'image-failed',
      id: core.ids.next('e'),
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
    if (core.settings.retryBackoffMs > 0) {
      notBefore =
        now +
        Math.min(core.settings.retryMaxBackoffMs, core.settings.retryBackoffMs * 2 ** (outcome.attempts - 1));
      core.notBefore.set(outcome.copyId, notBefore);
    }
    events.push(
      eventOutput({
        v: PROTOCOL_VERSION,
        type: 'image-retrying',
        id: core.ids.next('e'),
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
    core.notBefore.delete(outcome.copyId);
  }
  return events;
}

/** The scheduler's names for a catalog copy not in memory (one recovered at start-up). */
function identify(
  core: CoordinatorState,
  copyId: number,
): { requestId: string; backupId: string; copy: number } | undefined {
  try {
    const copy = core.catalog.getCopy(copyId);
    const image = core.catalog.getImage(copy.imageId);
    return { requestId: copy.requestId, backupId: image.backupId, copy: copy.copyNumber };
  } catch (error) {
    if (isCatalogError(error)) return undefined;
    throw error;
  }
}
