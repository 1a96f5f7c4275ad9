import { describe, expect, it } from 'vitest';
import { Prng } from './prng';
import { imageSeed, sampleImages } from './sample-set';

describe('sampleImages', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = sampleImages({ count: 50, seed: 1 });
    expect(sampleImages({ count: 50, seed: 1 })).toEqual(a);
    expect(sampleImages({ count: 50, seed: 2 })).not.toEqual(a);
  });

  it('gives the default 300 images a realistic spread totalling 0.3 to 1.2 GB', () => {
    const images = sampleImages({ count: 300, seed: 20_240_601 });
    const sizes = images.map((i) => i.sizeBytes).sort((x, y) => x - y);
    const total = sizes.reduce((s, n) => s + n, 0);
    expect(total).toBeGreaterThan(3e8);
    expect(total).toBeLessThan(1.2e9);
    const median = sizes[150]!;
    expect(median).toBeGreaterThan(5e5);
    expect(median).toBeLessThan(5e6);
    expect(sizes[0]!).toBeGreaterThanOrEqual(4096);
    expect(sizes[299]! / median).toBeGreaterThan(10);
    expect(new Set(images.map((i) => i.backupId)).size).toBe(300);
    expect(new Set(images.map((i) => i.path)).size).toBe(300);
    for (const i of images)
      expect(i.path).toMatch(/^clients\/[a-z]+\d\d\/[a-z]+\d\d_\d{3}_(full|incr|diff|dump)\.img$/);
  });

  it('refuses a count out of range', () => {
    expect(() => sampleImages({ count: 0, seed: 1 })).toThrow(RangeError);
  });
});

describe('Prng', () => {
  it('fills bytes reproducibly, tails included', () => {
    const x = new Uint8Array(1027);
    const y = new Uint8Array(1027);
    new Prng(imageSeed(7, 3)).fill(x);
    new Prng(imageSeed(7, 3)).fill(y);
    expect(Buffer.from(x).equals(Buffer.from(y))).toBe(true);
    const z = new Uint8Array(1027);
    new Prng(imageSeed(7, 4)).fill(z);
    expect(Buffer.from(x).equals(Buffer.from(z))).toBe(false);
    // Roughly uniform bytes: every value appears in 64 KiB.
    const big = new Uint8Array(65_536);
    new Prng(9).fill(big);
    expect(new Set(big).size).toBe(256);
  });

  it('draws uniform values in [0, 1) with mean near one half', () => {
    const rng = new Prng(42);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const v = rng.next();
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
      sum += v;
    }
    expect(sum / 10_000).toBeGreaterThan(0.48);
    expect(sum / 10_000).toBeLessThan(0.52);
  });
});
