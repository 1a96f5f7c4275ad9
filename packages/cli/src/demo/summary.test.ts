import { LTO9 } from '@tapedup/virtual-drive';
import { describe, expect, it } from 'vitest';
import { buildSummary, driveWork, renderSummary, type SummaryInput } from './summary';

const input: SummaryInput = {
  requestId: 'R7',
  outcome: 'done',
  policy: 'adaptive',
  images: 10,
  copies: 1,
  bytes: 8e8,
  committed: 10,
  abandoned: 0,
  retries: 2,
  activity: [
    { drive: 'drive0', committed: 6, bytes: 4e8, syncedBatches: 2, failedBatches: 1, syncedImages: 6 },
    { drive: 'drive1', committed: 4, bytes: 4e8, syncedBatches: 1, failedBatches: 0, syncedImages: 4 },
  ],
  model: LTO9,
  clockScale: 20,
  wallMs: { total: 9000, prepare: 1000, duplicate: 5000, verify: 3000 },
  verification: { checked: 10, verified: 10, bytesVerified: 8e8, mismatches: [] },
  dir: '/tmp/demo',
};

describe('driveWork', () => {
  it('counts one synchronous filemark per batch and immediate ones for the rest of each synced batch', () => {
    expect(driveWork(input.activity)).toEqual([
      { id: 'drive0', images: 6, bytes: 4e8, syncs: 3, immediateFilemarks: 4, failedSyncs: 1 },
      { id: 'drive1', images: 4, bytes: 4e8, syncs: 1, immediateFilemarks: 3, failedSyncs: 0 },
    ]);
  });
});

describe('buildSummary', () => {
  it('totals filemarks and prices the run and sync-every on the model', () => {
    const s = buildSummary(input);
    expect(s.ok).toBe(true);
    expect(s.filemarks).toEqual({ immediate: 7, synchronous: 4, failedSyncs: 1 });
    expect(s.modelMs.elapsed).toBe(100_000);
    // drive0: 1 s data + 3 syncs × 1.5 s + 4 × 3 ms; sync-every: 1 s + 6 × 1.5 s.
    expect(s.modelMs.tape).toBe(5512);
    expect(s.modelMs.syncEvery).toBe(10_000);
    expect(s.modelMs.speedup).toBe(1.8);
  });

  it('is not ok when anything failed: a mismatch, an abandoned copy, a partial outcome', () => {
    const mismatch = { backupId: 'b', copy: 1, reason: 'NOT_ON_TAPE' as const, detail: '' };
    expect(
      buildSummary({ ...input, verification: { ...input.verification, verified: 9, mismatches: [mismatch] } })
        .ok,
    ).toBe(false);
    expect(buildSummary({ ...input, abandoned: 1, committed: 9 }).ok).toBe(false);
    expect(buildSummary({ ...input, outcome: 'partial' }).ok).toBe(false);
    expect(
      buildSummary({ ...input, verification: { ...input.verification, checked: 9, verified: 9 } }).ok,
    ).toBe(false);
  });

  it('renders the figures a reader looks for', () => {
    const text = renderSummary(buildSummary(input));
    expect(text).toContain('OK (R7: done, policy adaptive)');
    expect(text).toContain('7 immediate, 4 synchronous (1 failed)');
    expect(text).toContain('10/10 copies read back');
    expect(text).toMatch(/sync-every\s+10\.0 s on the same model \(1\.8× longer\)/);
    expect(text).toMatch(/tape time\s+5\.5 s on the drive model/);
    expect(text).toMatch(
      /drive clock\s+1 min 40 s passed on the drives' clock \(duplicate wall time × clock scale/,
    );
  });
});
