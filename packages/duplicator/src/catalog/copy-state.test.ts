import { describe, expect, it } from 'vitest';
import { assertTransition, COPY_STATES, type CopyState, canTransition, isTerminal } from './copy-state';
import { CatalogError } from './errors';

const LEGAL: ReadonlyArray<readonly [CopyState, CopyState]> = [
  ['queued', 'writing'],
  ['queued', 'cancelled'],
  ['writing', 'written-pending-sync'],
  ['writing', 'failed'],
  ['writing', 'queued'],
  ['writing', 'retrying'],
  ['written-pending-sync', 'committed'],
  ['written-pending-sync', 'failed'],
  ['failed', 'retrying'],
  ['failed', 'abandoned'],
  ['failed', 'cancelled'],
  ['retrying', 'writing'],
  ['retrying', 'cancelled'],
];

describe('copy state machine', () => {
  it('allows exactly the documented edges', () => {
    const legal = new Set(LEGAL.map(([a, b]) => `${a}>${b}`));
    for (const from of COPY_STATES) {
      for (const to of COPY_STATES) {
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(legal.has(`${from}>${to}`));
      }
    }
  });

  it('reaches committed only from written-pending-sync', () => {
    expect(COPY_STATES.filter((s) => canTransition(s, 'committed'))).toEqual(['written-pending-sync']);
  });

  it('has no way out of committed, abandoned and cancelled', () => {
    for (const s of COPY_STATES) {
      const exits = COPY_STATES.filter((t) => canTransition(s, t));
      expect(isTerminal(s)).toBe(exits.length === 0);
    }
    expect(COPY_STATES.filter(isTerminal)).toEqual(['committed', 'abandoned', 'cancelled']);
  });

  it('throws a typed BAD_TRANSITION naming both states', () => {
    expect(() => assertTransition(7, 'queued', 'committed')).toThrow(CatalogError);
    try {
      assertTransition(7, 'writing', 'committed');
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({
        code: 'BAD_TRANSITION',
        entity: 'copy',
        id: 7,
        from: 'writing',
        to: 'committed',
      });
    }
    expect(() => assertTransition(7, 'retrying', 'writing')).not.toThrow();
  });
});
