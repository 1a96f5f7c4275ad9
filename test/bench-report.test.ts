/**
 * The policy tables of `pnpm bench` computed from given figures: the W3 line's standard error over
 * paired seeds, the cold-vs-history table and the verdicts (computed, never written in).
 */
import { describe, expect, it } from 'vitest';
import type { Comparison, PolicySummary, SimulationResult } from '../packages/simulator/src/index';
import { PRESETS } from '../packages/simulator/src/index';
import { historyTable, pairedRatioError, policyTargetLines } from '../scripts/bench/report';

const run = (policy: string, history: 'cold' | 'workload', seed: number, elapsedSeconds: number) =>
  ({
    policy,
    history,
    seed,
    elapsedSeconds,
    batchBytes: policy === 'oracle' ? 4e9 : undefined,
  }) as SimulationResult;

const summary = (
  policy: PolicySummary['policy'],
  history: 'cold' | 'workload',
  elapsedSeconds: number,
  extra: Partial<PolicySummary> = {},
) =>
  ({
    workload: 'W3',
    policy,
    history,
    historyErrors: history === 'cold' ? 0 : 10,
    elapsedSeconds,
    limitRatio: elapsedSeconds / 1500,
    seeds: 3,
    syncs: 100,
    bytesRewritten: 1e10,
    batchBytes: policy === 'oracle' ? 4e9 : undefined,
    ...extra,
  }) as PolicySummary;

// Oracle 2000, 2100, 2200 s (mean 2100); adaptive cold +600, +500, +700; with history +10, +40, +70.
const oracle = [2000, 2100, 2200];
const comparison: Comparison = {
  workload: PRESETS.W3,
  sweep: [],
  runs: [
    ...oracle.map((e, i) => run('oracle', 'cold', i + 1, e)),
    ...oracle.map((e, i) => run('adaptive', 'cold', i + 1, e + [600, 500, 700][i]!)),
    ...oracle.map((e, i) => run('adaptive', 'workload', i + 1, e + [10, 40, 70][i]!)),
    // A swept size that is not the oracle's best must not pair up.
    run('oracle', 'cold', 1, 9999),
  ].map((r, i) => (i === 9 ? { ...r, batchBytes: 8e9 } : r)),
  summaries: [
    summary('sync-every', 'cold', 9000),
    summary('fixed', 'cold', 4000),
    summary('cta', 'cold', 2500),
    summary('adaptive', 'cold', 2700),
    summary('oracle', 'cold', 2100),
    summary('adaptive', 'workload', 2140),
  ],
};

describe('bench report: cold and drive-history figures', () => {
  it('gives one standard error of the W3 ratio from the paired seeds', () => {
    const o = comparison.summaries[4]!;
    // Differences 600, 500, 700: sd 100, se 100/√3, over the oracle's 2100 s.
    expect(pairedRatioError(comparison, 'cold', o)).toBeCloseTo(100 / Math.sqrt(3) / 2100, 12);
    // Differences 10, 40, 70: sd 30.
    expect(pairedRatioError(comparison, 'workload', o)).toBeCloseTo(30 / Math.sqrt(3) / 2100, 12);
  });

  it('computes each verdict from the figures, for both starts', () => {
    const lines = policyTargetLines([comparison]);
    const w3 = lines.find((l) => l.startsWith('| adaptive on W3'))!;
    // 2700/2100 = 1.2857 (missed by 26.1 %); 2140/2100 = 1.0190 (met).
    expect(w3).toContain('cold: 1.2857 ×');
    expect(w3).toContain('with drive history: 1.0190 ×');
    expect(w3).toContain('cold: missed by +26.1 %; with drive history: met');
    const faster = lines.find((l) => l.startsWith('| adaptive faster'))!;
    expect(faster).toContain('cold: missed: cta faster; with drive history: met');
  });

  it('tabulates adaptive cold and with history beside the oracle', () => {
    const table = historyTable([comparison]).split('\n');
    expect(table).toHaveLength(3);
    expect(table[2]).toBe(
      '| W3 | 10.00 | 2100.0 | 2700.0 | 2140.0 | 1.2857 | 1.0190 | 100 / 100 / 100 | 10.00 / 10.00 / 10.00 |',
    );
  });
});
