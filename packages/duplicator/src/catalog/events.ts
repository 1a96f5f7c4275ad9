/**
 * The audit log of state transitions.
 * These functions are the internals of `Catalog`; they take its `Store`.
 */
import { type EventRow, toEvent } from './rows';
import { type Store, whereClause } from './store';
import type { CatalogEvent, Page } from './types';

export function listEvents(
  s: Store,
  filter: { entity?: string; subject?: string | number } & Page = {},
): CatalogEvent[] {
  const { limit, offset } = s.page(filter);
  const { where, params } = whereClause([
    ['entity = ?', filter.entity],
    ['subject = ?', filter.subject === undefined ? undefined : String(filter.subject)],
  ]);
  const sql = `SELECT * FROM events ${where}
               ORDER BY id LIMIT ? OFFSET ?`;
  return s
    .stmt<EventRow>(sql)
    .all(...params, limit, offset)
    .map(toEvent);
}
