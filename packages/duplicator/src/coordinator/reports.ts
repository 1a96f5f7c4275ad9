/**
 * Scheduler-facing views built from the catalog: `request-done` summaries and `status-reply`
 * entries. Pure functions of catalog records.
 */
import type { RequestOutcome, RequestStatus, RequestState as WireRequestState } from '@tapedup/protocol';
import type { RequestRecord, StatusReport } from '../catalog';

export interface RequestSummary {
  readonly outcome: RequestOutcome;
  readonly images: number;
  readonly committed: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly bytesCommitted: number;
  readonly elapsedMs: number;
}

/** The summary of a finished request (`request-done`). */
export function summarize(request: RequestRecord, status: StatusReport): RequestSummary {
  const committed = status.byState.committed.copies;
  const total = status.total.copies;
  const outcome: RequestOutcome =
    request.state === 'cancelled'
      ? 'cancelled'
      : committed === total
        ? 'done'
        : committed === 0
          ? 'failed'
          : 'partial';
  return {
    outcome,
    images: Math.round(total / Math.max(1, request.copies)),
    committed,
    failed: status.byState.abandoned.copies + status.byState.failed.copies,
    cancelled: status.byState.cancelled.copies,
    bytesCommitted: status.byState.committed.bytes,
    elapsedMs: Math.max(0, (request.finishedAt ?? request.submittedAt) - request.submittedAt),
  };
}

/** One entry of a `status-reply`. */
export function requestStatus(request: RequestRecord, status: StatusReport): RequestStatus {
  const s = status.byState;
  let state: WireRequestState;
  if (request.state === 'active') {
    const started =
      s.writing.copies + s['written-pending-sync'].copies + s.committed.copies + s.retrying.copies;
    state = started === 0 ? 'queued' : 'running';
  } else {
    const o = summarize(request, status).outcome;
    state = o;
  }
  return {
    requestId: request.id,
    state,
    pool: request.pool,
    submittedAt: request.submittedAt,
    images: Math.round(status.total.copies / Math.max(1, request.copies)),
    copies: {
      queued: s.queued.copies,
      writing: s.writing.copies,
      written: s['written-pending-sync'].copies,
      committed: s.committed.copies,
      retrying: s.retrying.copies,
      failed: s.failed.copies + s.abandoned.copies,
      cancelled: s.cancelled.copies,
    },
    bytesTotal: status.total.bytes,
    bytesCommitted: s.committed.bytes,
  };
}
