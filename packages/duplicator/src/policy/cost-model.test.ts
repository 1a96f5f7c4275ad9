import { describe, expect, it } from 'vitest';
import { expectedSecondsPerByte, optimalBatchBytes, priorityFactor, tailMergeSaves } from './cost-model';
import { prng } from './testing/run-sequence';

const params = {
  syncCostSeconds: 1.5,
  rateBytesPerSecond: 400e6,
  errorRatePerByte: 1e-11,
  meanImageBytes: 20e6,
};

/**
 * Monte-Carlo run of the process the model describes: first-attempt images are written in batches of
 * m with immediate filemarks and one sync; errors form a Poisson process in bytes; an error fails
 * every image of the batch written so far (the failing one included), and each failed image is then
 * rewritten on its own with a sync (again until it succeeds). Images of the batch not yet written
 * when the error struck simply start the next batch.
 */
function simulateSecondsPerByte(
  m: number,
  size: number,
  lambda: number,
  C: number,
  R: number,
  batches: number,
) {
  const rand = prng(m);
  const exp = () => -Math.log(1 - rand()) / lambda;
  let nextError = exp();
  let time = 0;
  let fresh = m * batches;
  while (fresh > 0) {
    const n = Math.min(m, fresh);
    if (nextError >= n * size) {
      nextError -= n * size;
      time += (n * size) / R + C;
      fresh -= n;
      continue;
    }
    const lost = Math.floor(nextError / size) + 1;
    time += nextError / R;
    nextError = exp();
    fresh -= lost;
    for (let i = 0; i < lost; i++) {
      for (;;) {
        if (nextError >= size) {
          nextError -= size;
          time += size / R + C;
          break;
        }
        time += nextError / R;
        nextError = exp();
      }
    }
  }
  return time / (m * batches * size);
}

describe('cost model', () => {
  it('B* is the minimum of the expected time per byte', () => {
    const best = optimalBatchBytes(params);
    const t = (b: number) => expectedSecondsPerByte(params, b);
    expect(t(best)).toBeLessThan(t(best * 0.9));
    expect(t(best)).toBeLessThan(t(best * 1.1));
    // At the optimum, amortised sync cost equals expected rework per byte: overhead 2C/B*.
    expect(t(best) - 1 / params.rateBytesPerSecond).toBeCloseTo((2 * params.syncCostSeconds) / best, 20);
  });

  it('matches a Monte-Carlo run of the failure-and-retry process', () => {
    // A high error rate keeps the run short while λB stays small (≤ 0.03).
    const lambda = 2e-11;
    const size = 10e6;
    const p = { ...params, errorRatePerByte: lambda, meanImageBytes: size };
    for (const m of [10, 40, 150]) {
      const simulated = simulateSecondsPerByte(
        m,
        size,
        lambda,
        p.syncCostSeconds,
        p.rateBytesPerSecond,
        100_000,
      );
      const model = expectedSecondsPerByte(p, m * size);
      expect(Math.abs(simulated / model - 1)).toBeLessThan(0.03);
    }
  });

  it('halves the priority factor every 50 points', () => {
    expect(priorityFactor(0)).toBe(1);
    expect(priorityFactor(50)).toBe(0.5);
    expect(priorityFactor(100)).toBe(0.25);
    expect(priorityFactor(250)).toBe(0.25);
  });

  it('handles the degenerate inputs', () => {
    expect(optimalBatchBytes({ ...params, errorRatePerByte: 0 })).toBe(Number.POSITIVE_INFINITY);
    expect(optimalBatchBytes({ ...params, syncCostSeconds: 0 })).toBe(0);
  });

  it('merges a tail only while 2kXY < C', () => {
    const k =
      (params.errorRatePerByte / 2) *
      (1 / params.rateBytesPerSecond + params.syncCostSeconds / params.meanImageBytes);
    const x = 2e9;
    const yEdge = params.syncCostSeconds / (2 * k * x);
    expect(tailMergeSaves(params, x, yEdge * 0.99)).toBe(true);
    expect(tailMergeSaves(params, x, yEdge * 1.01)).toBe(false);
    expect(tailMergeSaves(params, x, yEdge * 0.99, 0.5)).toBe(false);
  });
});
