/**
 * The benchmark runner's policy part, in its smoke size: checks the SHAPE of what `pnpm bench`
 * reports (every policy × workload row, finite positive numbers, elapsed never below the limit),
 * not its timings.
 */
import { describe, expect, it } from 'vitest';
import { COMPARED_POLICIES } from '../packages/simulator/src/index';
import { runPolicyBench, WORKLOADS } from '../scripts/bench/policy';

describe('pnpm bench --smoke (policy part)', () => {
  it('reports every policy on every workload with finite positive figures and elapsed ≥ the limit', async () => {
    const comparisons = await runPolicyBench('smoke');
    expect(comparisons.map((c) => c.workload.name)).toEqual([...WORKLOADS]);
    for (const c of comparisons) {
      expect(c.summaries.map((s) => s.policy)).toEqual([...COMPARED_POLICIES]);
      expect(c.sweep.length).toBeGreaterThan(1);
      for (const s of c.summaries) {
        for (const v of [s.elapsedSeconds, s.limitSeconds, s.bytes, s.images, s.syncs]) {
          expect(Number.isFinite(v) && v > 0, `${c.workload.name}/${s.policy}`).toBe(true);
        }
        expect(s.limitRatio).toBeGreaterThanOrEqual(1);
        expect(s.writer).toBe('tape-writer engine');
        expect(s.commitLatencySeconds.p99).toBeGreaterThanOrEqual(s.commitLatencySeconds.p50);
      }
    }
  }, 120_000);
});
