/**
 * The scheduler's requests: `submit` (checked, refused with the field at fault, or recorded and
 * planned at once), `cancel` and `status`. Each returns the reply first, then whatever follows.
 */
import type { MessageOf } from '@tapedup/protocol';
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import { isCatalogError, type JsonObject, type RequestRecord } from '../catalog';
import { createSyncPolicy } from '../policy';
import { errorReply, rejectedReply } from './messages';
import type { Output } from './outputs';
import { plan } from './planning';
import { poolLayers } from './policies';
import { requestStatus } from './reports';
import { finishedRequests } from './request-done';
import type { CoordinatorState } from './state';
import { streamEndpoints } from './stream-endpoints';
import { checkSubmit } from './submit-check';

export function submit(core: CoordinatorState, m: MessageOf<'submit'>): Output[] {
  if (core.stopping) return [rejectedReply(core.ids, m.id, 'SHUTTING_DOWN', 'the duplicator is stopping')];
  const checked = checkSubmit(m, {
    pools: new Set(core.settings.pools),
    dsu: core.settings.dsu,
    drives: core.settings.drives.length,
    streams: core.settings.streamDir !== undefined,
    policyLayers: (pool) => poolLayers(core.settings, pool),
    inspect: core.inspect,
  });
  if (!checked.ok) {
    core.log.info({ re: m.id, ...checked.refusal }, 'submit rejected');
    return [
      rejectedReply(core.ids, m.id, checked.refusal.code, checked.refusal.message, checked.refusal.field),
    ];
  }
  let requestId: string;
  try {
    const result = core.catalog.submitRequest({
      pool: m.pool,
      priority: m.priority,
      copies: m.copies,
      ...(m.deadline === undefined ? {} : { deadline: m.deadline }),
      ...(m.policy === undefined ? {} : { policy: m.policy as JsonObject }),
      maxAttempts: core.settings.maxAttempts,
      images: m.images.map((i) => ({
        backupId: i.backupId,
        size: i.sizeBytes,
        kind: i.source.kind,
        source: i.source as JsonObject,
        ...(i.priority === undefined ? {} : { priority: i.priority }),
      })),
    });
    requestId = result.requestId;
  } catch (error) {
    if (isCatalogError(error)) {
      return [
        rejectedReply(core.ids, m.id, error.code, error.message, error.field?.replace(/^request\./, '')),
      ];
    }
    throw error;
  }
  core.policies.set(requestId, createSyncPolicy(checked.settings));
  core.active.add(requestId);
  core.log.info(
    { requestId, images: m.images.length, copies: m.copies, pool: m.pool, policy: checked.settings.policy },
    'request accepted',
  );
  const out: Output[] = [
    {
      kind: 'reply',
      message: {
        v: PROTOCOL_VERSION,
        type: 'accepted',
        id: core.ids.next('a'),
        re: m.id,
        requestId,
        streams: streamEndpoints(core, requestId, m),
      },
    },
  ];
  out.push(...plan(core));
  return out;
}

export function cancel(core: CoordinatorState, m: MessageOf<'cancel'>): Output[] {
  const unknown = (): Output[] => [
    errorReply(core.ids, m.id, 'UNKNOWN_REQUEST', `no request ${m.requestId}`, 'requestId'),
  ];
  if (m.backupIds !== undefined) {
    return [
      errorReply(core.ids, m.id, 'UNSUPPORTED', 'cancelling part of a request is not supported', 'backupIds'),
    ];
  }
  let result: { cancelled: number; inFlight: number };
  try {
    result = core.catalog.cancelRequest(m.requestId);
  } catch (error) {
    if (isCatalogError(error, 'NOT_FOUND')) return unknown();
    if (isCatalogError(error, 'BAD_TRANSITION')) {
      result = { cancelled: 0, inFlight: 0 };
    } else throw error;
  }
  const committed = core.catalog.status(m.requestId).byState.committed.copies;
  core.log.info({ requestId: m.requestId, ...result }, 'request cancelled');
  const out: Output[] = [
    {
      kind: 'reply',
      message: {
        v: PROTOCOL_VERSION,
        type: 'cancelled',
        id: core.ids.next('x'),
        re: m.id,
        requestId: m.requestId,
        cancelled: result.cancelled,
        alreadyCommitted: committed,
      },
    },
  ];
  out.push(...finishedRequests(core));
  return out;
}

export function status(core: CoordinatorState, m: MessageOf<'status'>): Output[] {
  let records: RequestRecord[];
  try {
    records =
      m.requestId === undefined
        ? core.catalog.listRequests({ limit: 1000 })
        : [core.catalog.getRequest(m.requestId)];
  } catch (error) {
    if (isCatalogError(error, 'NOT_FOUND')) {
      return [errorReply(core.ids, m.id, 'UNKNOWN_REQUEST', `no request ${m.requestId}`, 'requestId')];
    }
    throw error;
  }
  const requests = records.map((r) => requestStatus(r, core.catalog.status(r.id)));
  return [
    {
      kind: 'reply',
      message: { v: PROTOCOL_VERSION, type: 'status-reply', id: core.ids.next('s'), re: m.id, requests },
    },
  ];
}
