/**
 * Requests: submit (one transaction for up to the configured number of images), cancel, status from the
 * trigger-kept counters, and closing a request once none of its copies can change.
 * These functions are the internals of `Catalog`; they take its `Store`.
 */
import { randomUUID } from 'node:crypto';
import {
  assertTransition,
  COPY_STATES,
  type CopyState,
  TERMINAL_COPY_STATES,
  WAITING_COPY_STATES,
} from './copy-state';
import { CatalogError } from './errors';
import { type RequestRow, toRequest } from './rows';
import type { Store } from './store';
import type {
  Page,
  RequestInput,
  RequestRecord,
  RequestState,
  StateTotals,
  StatusReport,
  SubmitResult,
} from './types';
import { MAX_COPIES } from './types';
import * as check from './validate';

const REQUEST_STATES: readonly RequestState[] = ['active', 'completed', 'failed', 'cancelled'];

export function submitRequest(s: Store, input: RequestInput): SubmitResult {
  const req = check.plainObject(input, 'request');
  const id = req.id === undefined ? randomUUID() : check.nonEmptyString(req.id, 'request.id', 256);
  const pool = check.nonEmptyString(req.pool, 'request.pool', 256);
  const priority =
    req.priority === undefined ? 0 : check.integer(req.priority, 'request.priority', -1e6, 1e6);
  const deadline =
    req.deadline === undefined || req.deadline === null
      ? null
      : check.integer(req.deadline, 'request.deadline', 0);
  const copies = req.copies === undefined ? 1 : check.integer(req.copies, 'request.copies', 1, MAX_COPIES);
  const policy =
    req.policy === undefined
      ? null
      : check.json(check.plainObject(req.policy, 'request.policy'), 'request.policy');
  const maxAttempts =
    req.maxAttempts === undefined ? null : check.integer(req.maxAttempts, 'request.maxAttempts', 1, 1000);
  const images = input.images;
  if (!Array.isArray(images) || images.length === 0 || images.length > s.options.maxImagesPerRequest) {
    throw new CatalogError(
      'INVALID_ARGUMENT',
      `request.images must hold 1 to ${s.options.maxImagesPerRequest} images`,
      { field: 'request.images' },
    );
  }
  // Validate everything before the transaction so a bad image never half-inserts a request.
  const rows = images.map((value, index) => {
    const field = `request.images[${index}]`;
    const image = check.plainObject(value, field);
    return {
      backupId: check.nonEmptyString(image.backupId, `${field}.backupId`, 1024),
      size: check.integer(image.size, `${field}.size`, 0),
      kind: image.kind === undefined ? 'disk' : check.imageKind(image.kind, `${field}.kind`),
      source: image.source === undefined ? null : check.json(image.source, `${field}.source`),
      priority:
        image.priority === undefined
          ? priority
          : check.integer(image.priority, `${field}.priority`, -1e6, 1e6),
    };
  });
  const seen = new Set<string>();
  for (const [index, row] of rows.entries()) {
    if (seen.has(row.backupId)) {
      throw new CatalogError('DUPLICATE', `backup id ${row.backupId} appears twice in the request`, {
        entity: 'image',
        id: row.backupId,
        field: `request.images[${index}].backupId`,
      });
    }
    seen.add(row.backupId);
  }
  const now = s.now();
  const insertImage = s.stmt(
    'INSERT INTO images (request, backup_id, size, kind, source, priority) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insertCopy = s.stmt(
    `INSERT INTO copies (image, request, copy_number, state, priority, size, queued_at, updated_at)
     VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)`,
  );
  s.db
    .transaction(() => {
      if (s.stmt('SELECT 1 FROM requests WHERE id = ?').get(id) !== undefined) {
        throw new CatalogError('DUPLICATE', `request ${id} already exists`, { entity: 'request', id });
      }
      const seq = s
        .stmt(
          `INSERT INTO requests (id, state, pool, priority, deadline, copies, policy, max_attempts, submitted_at)
         VALUES (?, 'active', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, pool, priority, deadline, copies, policy, maxAttempts, now).lastInsertRowid;
      let bytes = 0;
      for (const row of rows) {
        bytes += row.size * copies;
        const imageId = insertImage.run(
          seq,
          row.backupId,
          row.size,
          row.kind,
          row.source,
          row.priority,
        ).lastInsertRowid;
        for (let n = 1; n <= copies; n++) insertCopy.run(imageId, seq, n, row.priority, row.size, now, now);
      }
      // The one place copies are inserted, so the one place their insert is counted (see the schema).
      s.stmt("INSERT INTO copy_counts (request, state, copies, bytes) VALUES (?, 'queued', ?, ?)").run(
        seq,
        rows.length * copies,
        bytes,
      );
      s.event('request', id, null, 'active', { images: rows.length, copies });
    })
    .immediate();
  return { requestId: id, images: rows.length, copies: rows.length * copies };
}

export function cancelRequest(
  s: Store,
  requestId: string,
  reason = 'cancelled by request',
): { cancelled: number; inFlight: number } {
  return s.db
    .transaction(() => {
      const request = s.requestRow(requestId);
      if (request.state === 'cancelled') return { cancelled: 0, inFlight: inFlightCount(s, requestId) };
      if (request.state !== 'active') {
        throw new CatalogError('BAD_TRANSITION', `request ${requestId} is already ${request.state}`, {
          entity: 'request',
          id: requestId,
          from: request.state,
          to: 'cancelled',
        });
      }
      for (const from of WAITING_COPY_STATES) assertTransition(0, from, 'cancelled');
      s.stmt("UPDATE requests SET state = 'cancelled' WHERE id = ?").run(requestId);
      const cancelled = s
        .stmt(
          `UPDATE copies SET state = 'cancelled', updated_at = ?
         WHERE request = ? AND state IN ('queued', 'retrying')`,
        )
        .run(s.now(), request.seq).changes;
      const inFlight = inFlightCount(s, requestId);
      s.event('request', requestId, 'active', 'cancelled', { reason, cancelled, inFlight });
      finishRequestIfDone(s, requestId);
      return { cancelled, inFlight };
    })
    .immediate();
}

export function getRequest(s: Store, requestId: string): RequestRecord {
  return toRequest(s.requestRow(requestId));
}

export function listRequests(s: Store, filter: { state?: RequestState } & Page = {}): RequestRecord[] {
  const { limit, offset } = s.page(filter);
  const rows =
    filter.state === undefined
      ? s
          .stmt<RequestRow>('SELECT * FROM requests ORDER BY submitted_at, id LIMIT ? OFFSET ?')
          .all(limit, offset)
      : s
          .stmt<RequestRow>(
            'SELECT * FROM requests WHERE state = ? ORDER BY submitted_at, id LIMIT ? OFFSET ?',
          )
          .all(filter.state, limit, offset);
  return rows.map(toRequest);
}

export function status(s: Store, requestId?: string): StatusReport {
  const byState = Object.fromEntries(COPY_STATES.map((s) => [s, { copies: 0, bytes: 0 }])) as Record<
    CopyState,
    { copies: number; bytes: number }
  >;
  const requests = Object.fromEntries(REQUEST_STATES.map((s) => [s, 0])) as Record<RequestState, number>;
  let request: RequestRecord | null = null;
  const read = s.db.transaction(() => {
    let counts: { state: CopyState; copies: number; bytes: number }[];
    if (requestId === undefined) {
      counts = s
        .stmt<{ state: CopyState; copies: number; bytes: number }>(
          'SELECT state, SUM(copies) AS copies, SUM(bytes) AS bytes FROM copy_counts GROUP BY state',
        )
        .all();
      for (const row of s
        .stmt<{ state: RequestState; n: number }>('SELECT state, COUNT(*) AS n FROM requests GROUP BY state')
        .all()) {
        requests[row.state] = row.n;
      }
    } else {
      request = toRequest(s.requestRow(requestId));
      requests[request.state] = 1;
      counts = s
        .stmt<{ state: CopyState; copies: number; bytes: number }>(
          'SELECT state, copies, bytes FROM copy_counts WHERE request = ?',
        )
        .all(s.requestRow(requestId).seq);
    }
    for (const row of counts) byState[row.state] = { copies: row.copies, bytes: row.bytes };
  });
  read.deferred();
  const total: StateTotals = Object.values(byState).reduce(
    (sum, s) => ({ copies: sum.copies + s.copies, bytes: sum.bytes + s.bytes }),
    { copies: 0, bytes: 0 },
  );
  return { request, byState, total, requests };
}

export function inFlightCount(s: Store, requestId: string): number {
  return (
    s
      .stmt<{ n: number | null }>(
        "SELECT SUM(copies) AS n FROM copy_counts WHERE request = ? AND state IN ('writing', 'written-pending-sync')",
      )
      .get(s.requestRow(requestId).seq)?.n ?? 0
  );
}

/** Closes a request once none of its copies can change any more. */
export function finishRequestIfDone(s: Store, requestId: string): void {
  const counts = new Map(
    s
      .stmt<{ state: CopyState; copies: number }>('SELECT state, copies FROM copy_counts WHERE request = ?')
      .all(s.requestRow(requestId).seq)
      .map((r) => [r.state, r.copies]),
  );
  const open = COPY_STATES.filter((s) => !TERMINAL_COPY_STATES.includes(s)).some(
    (s) => (counts.get(s) ?? 0) > 0,
  );
  if (open) return;
  const request = s.requestRow(requestId);
  if (request.finished_at !== null) return;
  const state: RequestState =
    request.state === 'cancelled' ? 'cancelled' : (counts.get('abandoned') ?? 0) > 0 ? 'failed' : 'completed';
  s.stmt('UPDATE requests SET state = ?, finished_at = ? WHERE id = ?').run(state, s.now(), requestId);
  s.event('request', requestId, request.state, state, {
    committed: counts.get('committed') ?? 0,
    abandoned: counts.get('abandoned') ?? 0,
    cancelled: counts.get('cancelled') ?? 0,
  });
}
