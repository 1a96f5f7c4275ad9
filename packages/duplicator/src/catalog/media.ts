/**
 * Media (cartridges): registration, scratch allocation, the medium state machine and the committed end of
 * data where writing resumes.
 * These functions are the internals of `Catalog`; they take its `Store`.
 */
import { CatalogError } from './errors';
import { type MediumRow, toMedium } from './rows';
import { type Store, whereClause } from './store';
import type { MediumRecord, MediumState, Page, TapePosition } from './types';
import * as check from './validate';

const MEDIUM_TRANSITIONS: Readonly<Record<MediumState, readonly MediumState[]>> = {
  scratch: ['active', 'frozen'],
  active: ['full', 'frozen'],
  full: ['frozen'],
  // An operator thaws a frozen medium back to where it was.
  frozen: ['active', 'full'],
};

const MEDIUM_STATES: readonly MediumState[] = ['scratch', 'active', 'full', 'frozen'];

export function addMedium(
  s: Store,
  barcode: string,
  pool: string,
  state: MediumState = 'scratch',
): MediumRecord {
  const b = check.nonEmptyString(barcode, 'barcode', 64);
  const p = check.nonEmptyString(pool, 'pool', 256);
  if (!MEDIUM_STATES.includes(state)) {
    throw new CatalogError('INVALID_ARGUMENT', 'state must be a medium state', { field: 'state' });
  }
  return s.db
    .transaction(() => {
      if (s.stmt('SELECT 1 FROM media WHERE barcode = ?').get(b) !== undefined) {
        throw new CatalogError('DUPLICATE', `medium ${b} already exists`, { entity: 'medium', id: b });
      }
      s.stmt('INSERT INTO media (barcode, pool, state, updated_at) VALUES (?, ?, ?, ?)').run(
        b,
        p,
        state,
        s.now(),
      );
      s.event('medium', b, null, state, { pool: p });
      return toMedium(s.mediumRow(b));
    })
    .immediate();
}

export function allocateScratch(s: Store, pool: string, exclude: readonly string[] = []): MediumRecord {
  const p = check.nonEmptyString(pool, 'pool', 256);
  const skip = new Set(exclude);
  return s.db
    .transaction(() => {
      const candidates = s
        .stmt<{ barcode: string }>(
          "SELECT barcode FROM media WHERE pool = ? AND state = 'scratch' ORDER BY barcode",
        )
        .all(p);
      for (const { barcode } of candidates) {
        if (skip.has(barcode)) continue;
        return setMediumStateRow(s, barcode, 'active', 'allocated from scratch');
      }
      throw new CatalogError('NO_SCRATCH', `no scratch medium left in pool ${p}`, {
        entity: 'medium',
        details: { pool: p, excluded: [...skip] },
      });
    })
    .immediate();
}

export function setMediumState(s: Store, barcode: string, state: MediumState, reason: string): MediumRecord {
  return s.db.transaction(() => setMediumStateRow(s, barcode, state, reason)).immediate();
}

export function lastCommittedPosition(s: Store, barcode: string): TapePosition {
  return toMedium(s.mediumRow(barcode)).lastCommitted;
}

export function getMedium(s: Store, barcode: string): MediumRecord {
  return toMedium(s.mediumRow(barcode));
}

export function listMedia(
  s: Store,
  filter: { pool?: string; state?: MediumState } & Page = {},
): MediumRecord[] {
  const { limit, offset } = s.page(filter);
  const { where, params } = whereClause([
    ['pool = ?', filter.pool],
    ['state = ?', filter.state],
  ]);
  const sql = `SELECT * FROM media ${where}
               ORDER BY barcode LIMIT ? OFFSET ?`;
  return s
    .stmt<MediumRow>(sql)
    .all(...params, limit, offset)
    .map(toMedium);
}

export function setMediumStateRow(
  s: Store,
  barcode: string,
  state: MediumState,
  reason: string,
): MediumRecord {
  const medium = s.mediumRow(barcode);
  if (medium.state === state) return toMedium(medium);
  if (!MEDIUM_TRANSITIONS[medium.state].includes(state)) {
    throw new CatalogError('BAD_TRANSITION', `medium ${barcode} cannot go from ${medium.state} to ${state}`, {
      entity: 'medium',
      id: barcode,
      from: medium.state,
      to: state,
    });
  }
  s.stmt('UPDATE media SET state = ?, updated_at = ? WHERE barcode = ?').run(state, s.now(), barcode);
  s.event('medium', barcode, medium.state, state, { reason });
  return toMedium(s.mediumRow(barcode));
}
