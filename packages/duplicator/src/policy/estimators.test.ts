import { describe, expect, it } from 'vitest';
import { DriveStats } from './drive-stats';
import { ErrorRateEstimator } from './error-rate-estimator';
import { InvalidObservationError, SettingsError } from './errors';
import { SyncCostEstimator } from './sync-cost-estimator';
import { prng } from './testing/run-sequence';

describe('SyncCostEstimator', () => {
  it('reports the prior before any sync', () => {
    expect(new SyncCostEstimator({ priorSeconds: 1.8 }).syncCostSeconds).toBe(1.8);
  });

  it('converges on noisy samples and shrugs off one outlier', () => {
    const rand = prng(7);
    const est = new SyncCostEstimator();
    for (let i = 0; i < 200; i++) est.observe({ seconds: 2 + (rand() - 0.5) * 0.6 });
    expect(est.syncCostSeconds).toBeGreaterThan(1.9);
    expect(est.syncCostSeconds).toBeLessThan(2.1);
    const before = est.syncCostSeconds;
    est.observe({ seconds: 60 });
    expect(Math.abs(est.syncCostSeconds - before)).toBeLessThan(0.15);
    expect(est.snapshot().samples).toBe(201);
  });

  it('ignores a wild first sample through the median warm-up', () => {
    const est = new SyncCostEstimator();
    for (const s of [40, 1.5, 1.6, 1.4, 1.5]) est.observe({ seconds: s });
    expect(est.syncCostSeconds).toBe(1.5);
  });

  it('follows a lasting change in the drive', () => {
    const est = new SyncCostEstimator();
    for (let i = 0; i < 50; i++) est.observe({ seconds: 1.5 });
    for (let i = 0; i < 80; i++) est.observe({ seconds: 4 });
    expect(est.syncCostSeconds).toBeGreaterThan(3.8);
  });

  it('charges the sync only for the time beyond writing out the buffer', () => {
    const est = new SyncCostEstimator();
    expect(est.observe({ seconds: 3, bytesFlushed: 400e6, rateBytesPerSecond: 400e6 })).toBeCloseTo(2, 9);
    expect(() => est.observe({ seconds: 3, bytesFlushed: 1 })).toThrow(SettingsError);
  });

  it('rejects invalid observations and options with the field named', () => {
    const est = new SyncCostEstimator();
    const err = (() => {
      try {
        est.observe({ seconds: Number.NaN });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidObservationError);
    expect(err).toMatchObject({ code: 'INVALID_OBSERVATION', field: 'seconds' });
    expect(() => new SyncCostEstimator({ alpha: 0 })).toThrow(/alpha/);
  });
});

describe('ErrorRateEstimator', () => {
  it('never reports 0 for a clean history (Gamma prior)', () => {
    const est = new ErrorRateEstimator({ errors: 1, bytes: 1e12 });
    expect(est.errorRatePerByte).toBe(1e-12);
    est.addBytes(1e12);
    expect(est.errorRatePerByte).toBe(5e-13);
  });

  it('starts the default prior at one error per 10 TB and lets a faulty drive overrule it quickly', () => {
    const clean = new ErrorRateEstimator();
    expect(clean.errorRatePerByte).toBeCloseTo(1e-13, 25);
    clean.addBytes(1e12);
    expect(clean.errorRatePerByte).toBeCloseTo(0.01 / 1.1e12, 25);
    const faulty = new ErrorRateEstimator();
    for (let i = 0; i < 6; i++) {
      faulty.addBytes(100e9);
      faulty.addErrors();
    }
    expect(faulty.errorRatePerByte / 1e-11).toBeGreaterThan(0.8);
    expect(faulty.errorRatePerByte / 1e-11).toBeLessThan(0.9);
  });

  it('is the Gamma posterior mean (α₀ + k) / (β₀ + E)', () => {
    const est = new ErrorRateEstimator({ errors: 2, bytes: 5e11 });
    est.addBytes(1.5e12);
    est.addErrors(6);
    expect(est.errorRatePerByte).toBeCloseTo(8 / 2e12, 20);
  });

  it('converges on the rate of synthetic error events', () => {
    const rand = prng(11);
    const lambda = 1e-10;
    const est = new ErrorRateEstimator();
    for (let i = 0; i < 3000; i++) {
      // Poisson process in bytes: exponential gaps between errors.
      est.addBytes(-Math.log(1 - rand()) / lambda);
      est.addErrors();
    }
    expect(est.errorRatePerByte / lambda).toBeGreaterThan(0.93);
    expect(est.errorRatePerByte / lambda).toBeLessThan(1.07);
  });

  it('rejects a bad prior naming the setting', () => {
    expect(() => new ErrorRateEstimator({ errors: 0, bytes: 1 })).toThrow(/errorPrior\.errors/);
  });
});

describe('DriveStats', () => {
  it('uses the worse of drive and medium error rates', () => {
    const stats = new DriveStats({ errorPrior: { errors: 1, bytes: 1e12 } });
    stats.observeWrite('A', 'M1', 1e11);
    stats.observeError('A', 'M1', 4);
    const onBad = stats.context('B', 'M1', 400e6);
    const clean = stats.context('B', 'M2', 400e6);
    expect(onBad.errorRatePerByte).toBeCloseTo(5 / 1.1e12, 20);
    expect(clean.errorRatePerByte).toBe(1e-12);
    // The drive that saw the errors carries them to a clean medium too.
    expect(stats.context('A', 'M2', 400e6).errorRatePerByte).toBeCloseTo(5 / 1.1e12, 20);
  });

  it('keeps a sync cost per drive and exposes a snapshot for the catalog', () => {
    const stats = new DriveStats({ syncCost: { priorSeconds: 1 } });
    for (let i = 0; i < 5; i++) stats.observeSync('A', { seconds: 2 });
    expect(stats.context('A', 'M', 1).syncCostSeconds).toBe(2);
    expect(stats.context('B', 'M', 1).syncCostSeconds).toBe(1);
    const snap = stats.snapshot();
    expect(snap.drives.A?.sync).toMatchObject({ syncCostSeconds: 2, samples: 5 });
    expect(Object.keys(snap.media)).toEqual(['M']);
  });

  it('restores history from the catalog', () => {
    const stats = new DriveStats();
    stats.restoreDrive('A', { errors: 9, bytes: 1e12, syncCostSeconds: 1.2 });
    stats.restoreMedium('M', { errors: 0, bytes: 0 });
    const ctx = stats.context('A', 'M', 300e6);
    expect(ctx.errorRatePerByte).toBeCloseTo(9.01 / 1.1e12, 20);
    expect(ctx.syncCostSeconds).toBe(1.2);
    expect(() => stats.context('A', 'M', 0)).toThrow(/rateBytesPerSecond/);
  });
});
