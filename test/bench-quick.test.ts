/**
 * The benchmark runner in its smoke size: checks the SHAPE of what `pnpm bench` reports (every
 * policy × workload row, finite positive numbers, elapsed never below the limit; the real-time rows
 * of real writer and duplicator processes, each with its target line), not its timings.
 */
import { describe, expect, it } from 'vitest';
import { COMPARED_POLICIES } from '../packages/simulator/src/index';
import { PACKED_W4, runPolicyBench, WORKLOADS } from '../scripts/bench/policy';
import { REALTIME_SIZES, runRealtime } from '../scripts/bench/realtime';
import { realtimeTargetLines } from '../scripts/bench/realtime-report';
import { policyTargetLines } from '../scripts/bench/report';

describe('pnpm bench --smoke (policy part)', () => {
  it('reports every policy on every workload (W4 also packed) cold, adaptive also with drive history, with finite positive figures and elapsed ≥ the limit', async () => {
    const comparisons = await runPolicyBench('smoke');
    expect(comparisons.map((c) => c.workload.name)).toEqual([...WORKLOADS, PACKED_W4]);
    for (const c of comparisons) {
      expect(c.summaries.map((s) => `${s.policy}/${s.history}`)).toEqual([
        ...COMPARED_POLICIES.map((p) => `${p}/cold`),
        'adaptive/workload',
      ]);
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
    // Packing shares fragments: fewer immediate filemarks than images for adaptive on W4.
    const packed = comparisons.at(-1)!.summaries.find((s) => s.policy === 'adaptive')!;
    expect(packed.immediateFilemarks).toBeLessThan(packed.images / 2);
    // The targets table: every policy target line names both starts and has three cells.
    const lines = policyTargetLines(comparisons);
    expect(lines).toHaveLength(4 + 1 + WORKLOADS.length + 1);
    for (const line of lines) {
      expect(line.split('|'), line).toHaveLength(5);
      expect(line, line).toMatch(/cold: .*; with drive history: /);
    }
  }, 180_000);
});

describe('pnpm bench --smoke (real-time part)', () => {
  it('reports the data path on one and two drives, pickup, writer and duplicator memory, with their target lines', async () => {
    const figures = await runRealtime('smoke');
    const sizes = REALTIME_SIZES.smoke;
    const bytes = sizes.dataPath.files * sizes.dataPath.fileBytes;
    expect(figures.dataPath.map((r) => r.drives)).toEqual([1, 2]);
    for (const row of figures.dataPath) {
      expect(row.totalBytes).toBe(bytes);
      expect(row.writerSeconds).toHaveLength(sizes.dataPath.repetitions);
      expect(row.ddSeconds).toHaveLength(sizes.dataPath.repetitions);
      for (const v of [row.writerMBps, row.ddMBps, row.ddSyncedMBps, row.ratio, row.ratioSynced]) {
        expect(Number.isFinite(v) && v > 0, `${row.drives} drive(s)`).toBe(true);
      }
      // dd + sync includes dd's own time.
      expect(row.ddSyncedMBps).toBeLessThanOrEqual(row.ddMBps);
      expect(row.ratio).toBeCloseTo(row.writerMBps / row.ddMBps, 9);
    }
    const p = figures.pickup;
    expect(p.images).toBe(sizes.pickupImages);
    expect(p.writer.count).toBe(sizes.pickupImages);
    expect(p.writer.p99Ms).toBeGreaterThanOrEqual(p.writer.p50Ms);
    expect(p.writer.maxMs).toBeGreaterThanOrEqual(p.writer.p99Ms);
    expect(p.roundTrip.p99Ms).toBeGreaterThanOrEqual(p.roundTrip.p50Ms);
    expect(p.roundTrip.p50Ms).toBeGreaterThan(0);
    const w = figures.writerMemory;
    expect(w.imageBytes).toBe(sizes.writerImageBytes);
    expect(w.idleRssBytes).toBeGreaterThan(0);
    expect(w.peakBytes).toBeGreaterThanOrEqual(w.idleRssBytes);
    const d = figures.duplicator;
    expect(d.images).toBe(sizes.duplicatorImages);
    expect(d.submitMs).toHaveLength(Math.ceil(sizes.duplicatorImages / 10_000));
    expect(d.submitTotalMs).toBeGreaterThanOrEqual(Math.max(...d.submitMs));
    expect(d.peakBytes).toBeGreaterThanOrEqual(d.rssBytes);
    expect(d.rssBytes).toBeGreaterThan(0);

    const lines = realtimeTargetLines({ ran: true, value: figures });
    expect(lines).toHaveLength(6);
    for (const [i, start] of [
      '| data path, one drive',
      '| data path, two drives',
      '| next-image pickup p99',
      '| writer peak RSS',
      '| duplicator RSS',
      '| 100,000-image submit',
    ].entries()) {
      expect(lines[i]?.startsWith(start), lines[i]).toBe(true);
      expect(lines[i]?.split('|')).toHaveLength(5);
    }
  }, 240_000);
});
