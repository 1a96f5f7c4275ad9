import { CatalogError } from './errors';

/**
 * The life of one tape copy of an image.
 *
 * ```
 * queued ─▶ writing ─▶ written-pending-sync ─▶ committed
 *              │               │
 *              └──────▶ failed ◀┘
 *                        │
 *            ┌───────────┼────────────┐
 *            ▼           ▼            ▼
 *        retrying    abandoned    cancelled
 *            │
 *            └─▶ writing …
 * ```
 * `committed` is reachable only from `written-pending-sync`, and the catalog only takes that step inside the
 * transaction that records the sync covering the copy. `cancelled` ends copies of a cancelled request that
 * were not on tape yet (from `queued`, `retrying`, or after an in-flight attempt failed).
 */
export const COPY_STATES = [
  'queued',
  'writing',
  'written-pending-sync',
  'committed',
  'failed',
  'retrying',
  'abandoned',
  'cancelled',
] as const;

export type CopyState = (typeof COPY_STATES)[number];

const TRANSITIONS: Readonly<Record<CopyState, readonly CopyState[]>> = {
  queued: ['writing', 'cancelled'],
  // Back to waiting, no attempt charged: the writer dropped the copy before writing any of it
  // (a failed batch ends the writer's queue, whose copies were only assigned).
  writing: ['written-pending-sync', 'failed', 'queued', 'retrying'],
  'written-pending-sync': ['committed', 'failed'],
  committed: [],
  failed: ['retrying', 'abandoned', 'cancelled'],
  retrying: ['writing', 'cancelled'],
  abandoned: [],
  cancelled: [],
};

/** States a copy never leaves. */
export const TERMINAL_COPY_STATES: readonly CopyState[] = ['committed', 'abandoned', 'cancelled'];

/** States of a copy waiting for a drive. */
export const WAITING_COPY_STATES: readonly CopyState[] = ['queued', 'retrying'];

/** States of a copy whose data may be on a tape but is not yet proven there by a sync. */
export const IN_FLIGHT_COPY_STATES: readonly CopyState[] = ['writing', 'written-pending-sync'];

export function isCopyState(value: unknown): value is CopyState {
  return typeof value === 'string' && (COPY_STATES as readonly string[]).includes(value);
}

export function canTransition(from: CopyState, to: CopyState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTerminal(state: CopyState): boolean {
  return TERMINAL_COPY_STATES.includes(state);
}

/** Throws `BAD_TRANSITION` unless `from → to` is an edge of the copy state machine. */
export function assertTransition(copyId: number, from: CopyState, to: CopyState): void {
  if (!canTransition(from, to)) {
    throw new CatalogError('BAD_TRANSITION', `copy ${copyId} cannot go from ${from} to ${to}`, {
      entity: 'copy',
      id: copyId,
      from,
      to,
    });
  }
}
