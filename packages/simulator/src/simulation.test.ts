import { describe, expect, it } from 'vitest';
import { comparePolicies } from './compare';
import { fixedBytesPolicy, namedPolicy } from './policies';
import { simulate } from './simulation';
import { parseWorkload } from './workload';

const fixed = (images: number, bytes: number, extra: Record<string, unknown> = {}) =>
  parseWorkload({ name: 't', images, sizes: { kind: 'fixed', bytes }, ...extra });

describe('simulate (planner + policy + tape-writer engine on virtual drives)', () => {
  it('sync-every syncs every image and cannot beat 1 + syncs·C/limit; adaptive streams near the limit', async () => {
    const w = fixed(30, 100_000_000);
    const every = await simulate({ workload: w, policy: namedPolicy('sync-every'), seed: 1 });
    expect(every.writer).toBe('tape-writer engine');
    expect([every.synchronousFilemarks, every.immediateFilemarks, every.copies]).toEqual([30, 0, 30]);
    // 3 GB at 400 MB/s is 7.5 s; each of the 30 syncs adds its 1.5 s overhead.
    expect(every.elapsedSeconds).toBeGreaterThan(7.5 + 30 * 1.5 - 0.1);
    const adaptive = await simulate({ workload: w, policy: namedPolicy('adaptive'), seed: 1 });
    expect(adaptive.immediateFilemarks).toBe(29);
    expect(adaptive.syncs).toBe(1);
    expect(adaptive.limitRatio).toBeGreaterThanOrEqual(1);
    expect(adaptive.limitRatio).toBeLessThan(1.01);
    expect(adaptive.commitLatencySeconds.p99).toBeGreaterThan(every.commitLatencySeconds.p99);
  });

  it('fails whole batches on media errors, retries each failed copy synced alone, and commits everything', async () => {
    const w = fixed(200, 50_000_000, { faultRatePerByte: 1 / 2e9 });
    const r = await simulate({ workload: w, policy: fixedBytesPolicy(2_000_000_000), seed: 3 });
    expect(r.failedBatches).toBeGreaterThan(0);
    expect(r.failedCopies).toBeGreaterThanOrEqual(r.failedBatches);
    expect(r.bytesRewritten).toBe(r.failedCopies * 50_000_000);
    // Every retry went through the policy and was synced on its own.
    expect(r.reasons.retry).toBe(r.failedCopies);
    expect(r.copies).toBe(200);
    // The drives accepted the rewritten copies too, on top of every payload byte.
    expect(r.bytesWritten).toBeGreaterThan(r.bytes);
  });

  it('two copies on two drives: both drives write, every copy is committed', async () => {
    const w = fixed(20, 200_000_000, { drives: 2, copies: 2 });
    const r = await simulate({ workload: w, policy: namedPolicy('sync-every'), seed: 1 });
    expect(r.copies).toBe(40);
    expect(r.synchronousFilemarks).toBe(40);
    // Two drives in parallel: the limit is per drive, and sync-every still pays one sync per copy per drive.
    expect(r.limitSeconds).toBeCloseTo((40 * 0.2e9) / 2 / 400e6 + 1.5, 6);
    expect(r.elapsedSeconds).toBeLessThan(40 * (0.5 + 1.5));
  });

  it('the oracle is the best swept batch size and never worse than any swept size', async () => {
    const w = fixed(60, 100_000_000, { faultRatePerByte: 1 / 3e9, seeds: 2 });
    const c = await comparePolicies({ workload: w, policies: ['oracle'], oracleStep: 8 });
    const oracle = c.summaries[0]!;
    expect(oracle.policy).toBe('oracle');
    expect(Math.min(...c.sweep.map((s) => s.elapsedSeconds))).toBeCloseTo(oracle.elapsedSeconds, 9);
  });
});
