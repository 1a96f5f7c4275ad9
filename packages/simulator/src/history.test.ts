import { describe, expect, it } from 'vitest';
import { SimulatorError } from './errors';
import { driveHistory, parseHistory, poisson } from './history';
import { createRandom } from './random';

const moments = (xs: readonly number[]) => {
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, variance };
};

describe('drive history', () => {
  it('draws Poisson counts: mean and variance both near the mean (exact and normal-approximated)', () => {
    const random = createRandom(42);
    for (const mean of [0.5, 10, 50_000]) {
      const m = moments(Array.from({ length: 4000 }, () => poisson(random, mean)));
      // 4000 draws: the sample mean is within ~5 standard errors, the variance within 15 %.
      expect(Math.abs(m.mean - mean)).toBeLessThan(5 * Math.sqrt(mean / 4000));
      expect(m.variance / mean).toBeGreaterThan(0.85);
      expect(m.variance / mean).toBeLessThan(1.15);
    }
    expect(poisson(random, 0)).toBe(0);
  });

  it('draws each drive its own count from the fault rate, reproducibly per seed; a given count is kept', () => {
    const h = { bytesWritten: 1e12, errors: 'drawn' } as const;
    const counts = Array.from({ length: 200 }, (_, seed) => driveHistory(h, 1e-11, seed, 0).errors);
    expect(moments(counts).mean).toBeGreaterThan(9);
    expect(moments(counts).mean).toBeLessThan(11);
    expect(driveHistory(h, 1e-11, 7, 0)).toEqual(driveHistory(h, 1e-11, 7, 0));
    const drive0 = counts.slice(0, 50);
    const drive1 = Array.from({ length: 50 }, (_, seed) => driveHistory(h, 1e-11, seed, 1).errors);
    expect(drive1).not.toEqual(drive0);
    expect(driveHistory(h, 0, 3, 0)).toEqual({ bytes: 1e12, errors: 0 });
    expect(driveHistory({ bytesWritten: 5e11, errors: 4, syncCostSeconds: 1.7 }, 1e-11, 3, 0)).toEqual({
      bytes: 5e11,
      errors: 4,
      syncCostSeconds: 1.7,
    });
  });

  it('validates a workload file history and names the field', () => {
    expect(parseHistory(undefined)).toBeUndefined();
    expect(parseHistory({ bytesWritten: 1e12 })).toEqual({ bytesWritten: 1e12, errors: 'drawn' });
    const field = (v: unknown) => {
      try {
        parseHistory(v);
      } catch (error) {
        expect(error).toBeInstanceOf(SimulatorError);
        expect((error as SimulatorError).code).toBe('INVALID_WORKLOAD');
        return (error as SimulatorError).field;
      }
      return undefined;
    };
    expect(field(3)).toBe('history');
    expect(field({ bytesWritten: -1 })).toBe('history.bytesWritten');
    expect(field({ bytesWritten: 1, errors: 1.5 })).toBe('history.errors');
    expect(field({ bytesWritten: 1, errors: 'many' })).toBe('history.errors');
    expect(field({ bytesWritten: 1, syncCostSeconds: Number.NaN })).toBe('history.syncCostSeconds');
    expect(field({ bytesWritten: 1, age: 3 })).toBe('history.age');
  });
});
