import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSyncPolicy } from './policy';
import { DEFAULT_SYNC_SETTINGS } from './settings';
import { runSequence } from './testing/run-sequence';
import type { ImageFacts } from './types';

const image: fc.Arbitrary<ImageFacts> = fc.record({
  sizeBytes: fc.oneof(fc.integer({ min: 0, max: 4_000_000 }), fc.integer({ min: 0, max: 40_000_000_000 })),
  priority: fc.integer({ min: 0, max: 100 }),
  kind: fc.constantFrom('disk' as const, 'disk' as const, 'stream' as const),
  attempt: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 5 })),
});

describe('adaptive policy invariants (property)', () => {
  it('never defers a stream or a retry and never exceeds maxDeferredImages / maxDeferredBytes', () => {
    fc.assert(
      fc.property(
        fc.array(image, { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 20_000_000_000 }),
        fc.double({ min: 1e-14, max: 1e-7, noNaN: true }),
        fc.double({ min: 0.001, max: 5, noNaN: true }),
        (images, maxDeferredImages, maxDeferredBytes, errorRatePerByte, syncCostSeconds) => {
          const policy = createSyncPolicy({ ...DEFAULT_SYNC_SETTINGS, maxDeferredImages, maxDeferredBytes });
          const drive = { rateBytesPerSecond: 300e6, syncCostSeconds, errorRatePerByte };
          const run = runSequence(policy, images, drive);
          for (const step of run.steps) {
            if (step.decision.decision !== 'defer') continue;
            expect(step.image.kind).toBe('disk');
            expect(step.image.attempt).toBe(1);
            expect(step.batchBefore.deferredImages + 1).toBeLessThanOrEqual(maxDeferredImages);
            expect(step.batchBefore.deferredBytes + step.image.sizeBytes).toBeLessThanOrEqual(
              maxDeferredBytes,
            );
          }
          // The last image always ends the work with a sync: nothing is left uncommitted.
          expect(run.steps.at(-1)?.decision.decision).toBe('sync');
          // A retry or a stream never shares its batch with deferred images.
          for (const step of run.steps) {
            if (step.image.kind === 'stream' || step.image.attempt > 1) {
              expect(step.batchBefore.deferredImages).toBe(0);
            }
          }
        },
      ),
      { numRuns: 300, seed: 20_240_601 },
    );
  });
});
