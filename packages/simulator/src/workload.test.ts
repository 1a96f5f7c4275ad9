import { describe, expect, it } from 'vitest';
import { SimulatorError } from './errors';
import { generateImages, PRESETS, parseWorkload, scaleWorkload } from './workload';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('workloads', () => {
  it('W1 draws 10,000 log-normal sizes around a 20 MB median, capped at 50 GB, reproducibly', () => {
    const a = generateImages(PRESETS.W1, 7);
    expect(a).toHaveLength(10_000);
    const sizes = a.map((i) => i.sizeBytes);
    expect(median(sizes) / 20e6).toBeGreaterThan(0.9);
    expect(median(sizes) / 20e6).toBeLessThan(1.1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(50e9);
    expect(generateImages(PRESETS.W1, 7)).toEqual(a);
    expect(generateImages(PRESETS.W1, 8).map((i) => i.sizeBytes)).not.toEqual(sizes);
  });

  it('W4 stays within 64 KB – 4 MB; W3 has the error rate and 20 seeds; W5 is LTO-7 with 2 copies on 2 drives', () => {
    const sizes = generateImages(PRESETS.W4, 1).map((i) => i.sizeBytes);
    expect(sizes).toHaveLength(50_000);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(64_000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4_000_000);
    expect(PRESETS.W3.faultRatePerByte).toBeCloseTo(1e-11, 20);
    expect(PRESETS.W3.seeds).toBe(20);
    expect([PRESETS.W5.profile, PRESETS.W5.drives, PRESETS.W5.copies]).toEqual(['LTO-7', 2, 2]);
  });

  it('gives every preset the same documented drive history: 1 TB written, errors drawn from its own rate', () => {
    for (const w of Object.values(PRESETS))
      expect(w.history).toEqual({ bytesWritten: 1e12, errors: 'drawn' });
    const w = parseWorkload({
      images: 1,
      sizes: { kind: 'fixed', bytes: 1 },
      history: { bytesWritten: 5e11, errors: 2 },
    });
    expect(w.history).toEqual({ bytesWritten: 5e11, errors: 2 });
    expect(parseWorkload({ images: 1, sizes: { kind: 'fixed', bytes: 1 } }).history).toBeUndefined();
  });

  it('scales a workload for quick runs', () => {
    expect(scaleWorkload(PRESETS.W2, 1 / 20).images).toBe(25);
  });

  it('parses a workload file and names the bad field', () => {
    const w = parseWorkload({ images: [{ sizeBytes: 10 }, { sizeBytes: 20, priority: 90 }], drives: 2 }, 'f');
    expect(generateImages(w, 1).map((i) => [i.sizeBytes, i.priority])).toEqual([
      [10, 0],
      [20, 90],
    ]);
    const bad = (input: unknown) => {
      try {
        parseWorkload(input);
      } catch (error) {
        expect(error).toBeInstanceOf(SimulatorError);
        return [(error as SimulatorError).code, (error as SimulatorError).field];
      }
      return undefined;
    };
    expect(bad({ images: 3, sizes: { kind: 'log-normal', medianBytes: -1, sigma: 1 } })).toEqual([
      'INVALID_WORKLOAD',
      'sizes.medianBytes',
    ]);
    expect(bad({ images: 3, sizes: { kind: 'fixed', bytes: 1 }, copies: 2 })).toEqual([
      'INVALID_WORKLOAD',
      'copies',
    ]);
    expect(bad({ images: 3, sizes: { kind: 'fixed', bytes: 1 }, colour: 1 })).toEqual([
      'INVALID_WORKLOAD',
      'colour',
    ]);
  });
});
