import { describe, expect, it } from 'vitest';
import { emptyBatch, withDeferredImage } from './batch-state';
import { optimalBatchBytes } from './cost-model';
import { createSyncPolicy } from './policy';
import { DEFAULT_SYNC_SETTINGS, type SyncSettings } from './settings';
import { equalImages, runSequence } from './testing/run-sequence';
import type { Clock, DecisionInput, DriveContext, ImageFacts } from './types';

const GB = 1e9;
const MB = 1e6;
const LTO9: DriveContext = { rateBytesPerSecond: 400 * MB, syncCostSeconds: 1.5, errorRatePerByte: 1e-11 };

const costOf = (d: DriveContext) => ({
  syncCostSeconds: d.syncCostSeconds,
  rateBytesPerSecond: d.rateBytesPerSecond,
  errorRatePerByte: d.errorRatePerByte,
});

function policyOf(overrides: Partial<SyncSettings>) {
  return createSyncPolicy({ ...DEFAULT_SYNC_SETTINGS, ...overrides });
}

const disk = (sizeBytes: number, extra: Partial<ImageFacts> = {}): ImageFacts => ({
  sizeBytes,
  priority: 0,
  kind: 'disk',
  attempt: 1,
  ...extra,
});

function input(image: ImageFacts, batch = emptyBatch(0), drive = LTO9, isLast = false): DecisionInput {
  return {
    image,
    drive,
    batch,
    remaining: { images: isLast ? 0 : 100, bytes: isLast ? 0 : 100 * GB, isLast },
  };
}

/** A batch holding `n` deferred images of `size` bytes opened at `openedAt`. */
function batchOf(n: number, size: number, openedAt = 0): ReturnType<typeof emptyBatch> {
  let b = emptyBatch(openedAt);
  for (let i = 0; i < n; i++) b = withDeferredImage(b, disk(size), openedAt);
  return b;
}

describe('sync-every', () => {
  it('syncs every image', () => {
    const run = runSequence(policyOf({ policy: 'sync-every' }), equalImages(5, GB), LTO9);
    expect(run.syncedAt).toEqual([1, 2, 3, 4, 5]);
    expect(run.steps.every((s) => s.decision.reason === 'sync-every')).toBe(true);
  });
});

describe('fixed', () => {
  it('syncs on the 8th image of each batch and at the end of the work', () => {
    const run = runSequence(policyOf({ policy: 'fixed' }), equalImages(20, 100 * MB), LTO9);
    expect(run.syncedAt).toEqual([8, 16, 20]);
    expect(run.steps[7]?.decision.reason).toBe('batch-image-limit');
    expect(run.steps[19]?.decision.reason).toBe('end-of-work');
    expect(run.steps[0]?.decision).toMatchObject({ decision: 'defer', reason: 'batch-open' });
  });

  it('honours its batch size and the maxDeferredImages cap', () => {
    expect(
      runSequence(policyOf({ policy: 'fixed', fixedBatchImages: 3 }), equalImages(7, MB), LTO9).syncedAt,
    ).toEqual([3, 6, 7]);
    const capped = runSequence(
      policyOf({ policy: 'fixed', fixedBatchImages: 8, maxDeferredImages: 2 }),
      equalImages(7, MB),
      LTO9,
    );
    expect(capped.syncedAt).toEqual([3, 6, 7]);
    expect(capped.steps[2]?.decision.triggers).toContain('batch-image-limit');
  });
});

describe('cta', () => {
  it('flushes every 200 files', () => {
    const run = runSequence(policyOf({ policy: 'cta' }), equalImages(450, MB), LTO9);
    expect(run.syncedAt).toEqual([200, 400, 450]);
    expect(run.steps[199]?.decision.reason).toBe('batch-image-limit');
  });

  it('flushes on the file that reaches 32 GB', () => {
    const run = runSequence(policyOf({ policy: 'cta' }), equalImages(9, 10 * GB), LTO9);
    // 10, 20, 30 GB deferred; the 4th file brings the batch to 40 GB ≥ 32 GB and carries the flush.
    expect(run.syncedAt).toEqual([4, 8, 9]);
    expect(run.steps[3]?.decision.reason).toBe('max-bytes');
  });
});

/** Expected seconds per byte written, straight from the model's definition (not the library). */
function modelSecondsPerByte(batchBytes: number, meanImage: number, d: DriveContext): number {
  const { rateBytesPerSecond: R, syncCostSeconds: C, errorRatePerByte: lambda } = d;
  const batchTime = batchBytes / R + C;
  const lostBytes = batchBytes / 2;
  const rework = lostBytes / R + (lostBytes / meanImage) * C;
  return (batchTime + lambda * batchBytes * rework) / batchBytes;
}

describe('adaptive', () => {
  it('ends batches at the image count that minimises the expected time per byte', () => {
    const size = 100 * MB;
    // Brute-force the best whole number of images per batch under the model.
    let best = 1;
    for (let m = 1; m <= 1000; m++) {
      if (modelSecondsPerByte(m * size, size, LTO9) < modelSecondsPerByte(best * size, size, LTO9)) best = m;
    }
    expect(best).toBeGreaterThan(20);
    const run = runSequence(policyOf({ policy: 'adaptive' }), equalImages(400, size), LTO9);
    const full = run.batchBytes.slice(0, -1);
    expect(full.length).toBeGreaterThan(3);
    for (const b of full) expect(b).toBe(best * size);
    expect(run.steps[best - 1]?.decision.reason).toBe('cost-model');
    expect(run.steps[best - 1]?.decision.explain.optimumBytes).toBeCloseTo(
      Math.sqrt((2 * 1.5) / (1e-11 * (1 / (400 * MB) + 1.5 / size))),
      -3,
    );
  });

  it('approaches the classic √(2CR/λ) when images are large compared with C·R, and syncs images past B*', () => {
    const classic = Math.sqrt((2 * 1.5 * 400 * MB) / 1e-11);
    const huge = optimalBatchBytes({ ...costOf(LTO9), meanImageBytes: 1e18 });
    expect(huge / classic).toBeCloseTo(1, 4);
    const small = optimalBatchBytes({ ...costOf(LTO9), meanImageBytes: 10 * MB });
    expect(small).toBeLessThan(classic / 5);
    // With λ = 1e-9, B* ≈ 1.1 GB < 5 GB: the image alone is past the optimum.
    const drive = { ...LTO9, errorRatePerByte: 1e-9 };
    const big = createSyncPolicy(DEFAULT_SYNC_SETTINGS).decide(input(disk(5 * GB), emptyBatch(0), drive), 0);
    expect(big).toMatchObject({ decision: 'sync', reason: 'too-large' });
    expect(big.explain.syncFractionOfImage).toBeCloseTo(1.5 / 12.5, 6);
  });

  it('defers more when errors are rarer and less when they are frequent', () => {
    const lengths = [1e-10, 1e-11, 1e-12].map((lambda) => {
      const run = runSequence(policyOf({}), equalImages(3000, 10 * MB), {
        ...LTO9,
        errorRatePerByte: lambda,
      });
      return run.syncedAt[0] ?? 0;
    });
    expect(lengths[0]).toBeLessThan(lengths[1] ?? 0);
    expect(lengths[1]).toBeLessThan(lengths[2] ?? 0);
  });

  it('shortens batches of higher-priority images (×½ at priority 50)', () => {
    const low = runSequence(policyOf({}), equalImages(1000, 10 * MB, 0), LTO9);
    const high = runSequence(policyOf({}), equalImages(1000, 10 * MB, 50), LTO9);
    const lowLen = low.syncedAt[0] ?? 0;
    const highLen = high.syncedAt[0] ?? 0;
    expect(highLen).toBeLessThan(lowLen);
    expect(highLen / lowLen).toBeGreaterThan(0.45);
    expect(highLen / lowLen).toBeLessThan(0.55);
    expect(high.steps[highLen - 1]?.decision.reason).toBe('priority');
  });

  it('merges a small tail into the batch instead of syncing twice', () => {
    const size = 100 * MB;
    const policy = policyOf({});
    // Batch already at the optimum (41 × 100 MB ≈ 4.1 GB); one small image left after this one.
    const batch = batchOf(40, size);
    const atTarget = (remainingBytes: number) =>
      policy.decide(
        {
          image: disk(size),
          drive: LTO9,
          batch,
          remaining: { images: 1, bytes: remainingBytes, isLast: false },
        },
        0,
      );
    expect(atTarget(MB)).toMatchObject({ decision: 'defer', reason: 'tail-merge' });
    expect(atTarget(10 * GB)).toMatchObject({ decision: 'sync', reason: 'cost-model' });
  });
});

describe('rules shared by the deferring policies', () => {
  const policies = (['fixed', 'cta', 'adaptive'] as const).map((name) => policyOf({ policy: name }));

  it('always syncs a retry and a stream, even in an empty batch', () => {
    for (const p of policies) {
      expect(p.decide(input(disk(MB, { attempt: 2 })), 0)).toMatchObject({
        decision: 'sync',
        reason: 'retry',
      });
      expect(p.decide(input(disk(MB, { kind: 'stream' })), 0)).toMatchObject({
        decision: 'sync',
        reason: 'stream',
      });
      expect(p.decide(input(disk(MB)), 0).decision).toBe('defer');
    }
  });

  it('syncs an image larger than maxDeferrableImageBytes', () => {
    for (const p of policies) {
      const over = p.decide(input(disk(p.settings.maxDeferrableImageBytes + 1)), 0);
      expect(over.reason).toBe('too-large');
    }
    const fixed = policyOf({ policy: 'fixed', maxDeferrableImageBytes: 50 * MB });
    expect(fixed.decide(input(disk(50 * MB)), 0).decision).toBe('defer');
    expect(fixed.decide(input(disk(50 * MB + 1)), 0)).toMatchObject({
      decision: 'sync',
      reason: 'too-large',
    });
  });

  it('syncs when the batch would pass maxDeferredBytes', () => {
    const p = policyOf({ policy: 'fixed', maxDeferredBytes: 250 * MB });
    expect(p.decide(input(disk(100 * MB), batchOf(1, 100 * MB)), 0).decision).toBe('defer');
    expect(p.decide(input(disk(100 * MB), batchOf(2, 100 * MB)), 0)).toMatchObject({
      decision: 'sync',
      reason: 'max-bytes',
    });
  });

  it('forces a sync when the open batch is older than maxSecondsWithoutSync (injected clock)', () => {
    let t = 1_000_000;
    const clock: Clock = { now: () => t };
    const p = policyOf({ policy: 'fixed', maxSecondsWithoutSync: 60 });
    const batch = batchOf(2, MB, clock.now());
    t += 30_000;
    expect(p.decide(input(disk(MB), batch), clock.now()).decision).toBe('defer');
    expect(p.shouldSyncNow({ batch, drive: LTO9, moreWork: true }, clock.now()).action).toBe('continue');
    t += 30_000;
    expect(p.decide(input(disk(MB), batch), clock.now())).toMatchObject({
      decision: 'sync',
      reason: 'max-seconds',
    });
    expect(p.shouldSyncNow({ batch, drive: LTO9, moreWork: true }, clock.now())).toMatchObject({
      action: 'sync-now',
      reason: 'max-seconds',
    });
  });

  it('counts the image write time towards maxSecondsWithoutSync', () => {
    const p = policyOf({ policy: 'fixed', maxSecondsWithoutSync: 60 });
    const batch = batchOf(1, MB, 0);
    // 50 s open + a 20 GB image at 400 MB/s (50 s) > 60 s.
    const d = p.decide(input(disk(10 * GB), batch), 50_000);
    expect(d.reason).toBe('max-seconds');
  });

  it('forces a sync when a failure of the batch would make the request miss its deadline', () => {
    const p = policyOf({ policy: 'fixed' });
    const batch = batchOf(5, GB);
    // Finishing takes 1 GB + 10 GB at 400 MB/s = 27.5 s plus a 1.5 s sync; a failure of the 6-image,
    // 6 GB batch costs 15 s of rewriting plus 6 syncs of 1.5 s = 24 s.
    const at = (slack: number) =>
      p.decide(
        {
          image: disk(GB, { deadline: (27.5 + 1.5 + slack) * 1000 }),
          drive: LTO9,
          batch,
          remaining: { images: 10, bytes: 10 * GB, isLast: false },
        },
        0,
      );
    expect(at(30).decision).toBe('defer');
    const tight = at(20);
    expect(tight).toMatchObject({ decision: 'sync', reason: 'deadline' });
    expect(tight.explain.reworkOnFailureSeconds).toBeCloseTo(24, 6);
    expect(tight.explain.deadlineSlackSeconds).toBeCloseTo(20, 6);
    // Already impossible: per-image syncs would only make it later, so the batch keeps deferring.
    expect(at(-5).decision).toBe('defer');
  });

  it('syncs the last image of the work', () => {
    for (const p of policies) {
      expect(p.decide(input(disk(MB), batchOf(1, MB), LTO9, true), 0)).toMatchObject({
        reason: 'end-of-work',
      });
    }
  });

  it('explains every decision with the numbers it used', () => {
    const d = policyOf({}).decide(input(disk(MB)), 0);
    for (const key of ['imageBytes', 'syncCostSeconds', 'errorRatePerByte', 'optimumBytes', 'targetBytes']) {
      expect(typeof d.explain[key]).toBe('number');
    }
    expect(d.explain.imageBytes).toBe(MB);
    expect(d.policy).toBe('adaptive');
  });
});

describe('shouldSyncNow', () => {
  const p = policyOf({ policy: 'adaptive' });
  const batch = batchOf(3, GB, 0);

  it('leaves an empty batch alone', () => {
    const v = p.shouldSyncNow({ batch: emptyBatch(0), drive: LTO9, moreWork: false }, 1e9);
    expect(v).toMatchObject({ action: 'continue', reason: 'batch-empty' });
  });

  it('ends the batch at the end of the work', () => {
    expect(p.shouldSyncNow({ batch, drive: LTO9, moreWork: false }, 1000)).toMatchObject({
      action: 'sync-now',
      reason: 'end-of-work',
    });
    expect(p.shouldSyncNow({ batch, drive: LTO9, moreWork: true, next: disk(GB) }, 1000).action).toBe(
      'continue',
    );
  });

  it('ends the batch before a retry, a stream or a higher-priority image', () => {
    const check = (next: ImageFacts) => p.shouldSyncNow({ batch, drive: LTO9, moreWork: true, next }, 1000);
    expect(check(disk(GB, { attempt: 3 })).reason).toBe('retry');
    expect(check(disk(GB, { kind: 'stream' })).reason).toBe('stream');
    expect(check(disk(GB, { priority: 10 })).reason).toBe('priority');
  });

  it('ends the batch when continuing would commit its images after their deadline', () => {
    const withDeadline = withDeferredImage(batch, disk(GB, { deadline: 20_000 }), 0);
    // Next image 4 GB = 10 s, then a 1.5 s sync: commit at 11.5 s + now.
    expect(
      p.shouldSyncNow({ batch: withDeadline, drive: LTO9, moreWork: true, next: disk(4 * GB) }, 5_000).action,
    ).toBe('continue');
    expect(
      p.shouldSyncNow({ batch: withDeadline, drive: LTO9, moreWork: true, next: disk(4 * GB) }, 10_000),
    ).toMatchObject({ action: 'sync-now', reason: 'deadline' });
  });

  it('flushes every image before a retry in a scripted run, so the retry is alone in its batch', () => {
    const images = [...equalImages(5, 100 * MB), disk(100 * MB, { attempt: 2 }), ...equalImages(3, 100 * MB)];
    const run = runSequence(policyOf({ policy: 'fixed' }), images, LTO9);
    expect(run.steps[5]?.flushedBefore).toBe('retry');
    expect(run.steps[5]?.decision.reason).toBe('retry');
    expect(run.batchBytes.slice(0, 2)).toEqual([500 * MB, 100 * MB]);
  });
});
