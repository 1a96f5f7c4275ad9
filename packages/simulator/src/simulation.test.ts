import { describe, expect, it } from 'vitest';
import { comparePolicies } from './compare';
import { engineWriterFactory } from './engine-writer';
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

  it('drive history is restored before the first image: a drive with a record of errors ends its batches sooner', async () => {
    const history = { bytesWritten: 1e12, errors: 100 };
    const w = fixed(100, 100_000_000, { history });
    const cold = await simulate({ workload: w, policy: namedPolicy('adaptive'), seed: 1 });
    const warm = await simulate({
      workload: w,
      policy: namedPolicy('adaptive'),
      seed: 1,
      history: 'workload',
    });
    expect([cold.history, cold.historyErrors, warm.history, warm.historyErrors]).toEqual([
      'cold',
      0,
      'workload',
      100,
    ]);
    // λ = 1e-10 per byte: B* = √(2CR / (λ(1 + CR/s̄))) ≈ 1.3 GB for 100 MB images, so about 8 batches
    // of the 10 GB; cold, the prior (1e-13) puts the optimum past the whole work: one sync.
    expect(cold.syncs).toBe(1);
    expect(warm.syncs).toBeGreaterThanOrEqual(6);
    expect(warm.syncs).toBeLessThanOrEqual(10);
  });

  it('history changes nothing for a policy that does not read the error rate, nor for adaptive with a clean record', async () => {
    const w = fixed(60, 200_000_000, { faultRatePerByte: 1 / 4e9, history: { bytesWritten: 1e12 } });
    for (const policy of [namedPolicy('cta'), fixedBytesPolicy(2_000_000_000)]) {
      const cold = await simulate({ workload: w, policy, seed: 2 });
      const warm = await simulate({ workload: w, policy, seed: 2, history: 'workload' });
      expect(warm.historyErrors).toBeGreaterThan(0);
      expect({ ...warm, history: 'cold', historyErrors: 0 }).toEqual(cold);
    }
    // A clean drive record is below the fresh cartridge's prior, and the decision uses the higher.
    const clean = fixed(60, 200_000_000, { history: { bytesWritten: 1e12, errors: 0 } });
    const cold = await simulate({ workload: clean, policy: namedPolicy('adaptive'), seed: 2 });
    const warm = await simulate({
      workload: clean,
      policy: namedPolicy('adaptive'),
      seed: 2,
      history: 'workload',
    });
    expect(warm.elapsedSeconds).toBe(cold.elapsedSeconds);
    expect(warm.reasons).toEqual(cold.reasons);
  });

  it('packImages passes through to the engine: small deferred images share fragments and filemarks', async () => {
    const w = fixed(400, 1_000_000);
    const plain = await simulate({ workload: w, policy: namedPolicy('adaptive'), seed: 1 });
    const packed = await simulate({
      workload: w,
      policy: namedPolicy('adaptive'),
      seed: 1,
      writerOptions: { packImages: true },
    });
    expect(plain.immediateFilemarks).toBe(399);
    // At most maxFragmentImages (16) images per fragment, so at least 400/16 filemarks in all.
    expect(packed.immediateFilemarks + packed.synchronousFilemarks).toBeGreaterThanOrEqual(25);
    expect(packed.immediateFilemarks).toBeLessThan(400 / 8);
    expect(packed.copies).toBe(400);
    // 400 × 3 ms of immediate filemarks was more than the 1 s of data: packing saves most of it.
    expect(packed.elapsedSeconds).toBeLessThan(plain.elapsedSeconds - 0.8);
    await expect(
      simulate({ workload: w, policy: namedPolicy('adaptive'), seed: 1, history: 'warm' as never }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION', field: 'history' });
    await expect(
      simulate({
        workload: w,
        policy: namedPolicy('adaptive'),
        seed: 1,
        writer: engineWriterFactory,
        writerOptions: { packImages: true },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION', field: 'writerOptions' });
  });

  it('a packing writer handed many copies: a failed batch retries what failed, the copies never started go back uncharged', async () => {
    const w = fixed(300, 20_000_000, { faultRatePerByte: 1 / 1e9 });
    const r = await simulate({
      workload: w,
      policy: fixedBytesPolicy(1_000_000_000),
      seed: 5,
      writerOptions: { packImages: true },
    });
    expect(r.failedBatches).toBeGreaterThan(0);
    // Each failed copy was retried once per failure and synced alone; copies dropped unstarted were not
    // charged an attempt (no retry decision for them).
    expect(r.reasons.retry).toBe(r.failedCopies);
    expect(r.bytesRewritten).toBe(r.failedCopies * 20_000_000);
    expect(r.copies).toBe(300);
  });

  it('the oracle is the best swept batch size and never worse than any swept size', async () => {
    const w = fixed(60, 100_000_000, { faultRatePerByte: 1 / 3e9, seeds: 2 });
    const c = await comparePolicies({ workload: w, policies: ['oracle'], oracleStep: 8 });
    const oracle = c.summaries[0]!;
    expect(oracle.policy).toBe('oracle');
    expect(Math.min(...c.sweep.map((s) => s.elapsedSeconds))).toBeCloseTo(oracle.elapsedSeconds, 9);
  });
});
