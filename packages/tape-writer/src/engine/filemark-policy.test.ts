import { describe, expect, it } from 'vitest';
import { filemarkFor, fragmentEndReasonFor, fragmentFull, splitDecision } from './filemark-policy';

describe('filemarkFor', () => {
  it('follows the writer-rules table', () => {
    expect(filemarkFor({ reason: 'image-complete', decision: 'sync' })).toBe('synchronous');
    expect(filemarkFor({ reason: 'image-complete', decision: 'defer' })).toBe('immediate');
    expect(filemarkFor({ reason: 'checkpoint', decision: 'defer' })).toBe('immediate');
    expect(filemarkFor({ reason: 'checkpoint' })).toBe('synchronous');
    for (const reason of [
      'data-complete-metadata-follows',
      'max-fragment-size',
      'next-image-start',
      'image-failure',
    ] as const) {
      expect(filemarkFor({ reason, decision: 'sync' })).toBe('immediate');
    }
    expect(filemarkFor({ reason: 'end-of-medium' })).toBe('synchronous');
    expect(filemarkFor({ reason: 'unspecified', decision: 'defer' })).toBe('synchronous');
  });

  it('always syncs past early warning, whatever the decision or reason', () => {
    expect(filemarkFor({ reason: 'image-complete', decision: 'defer', earlyWarning: true })).toBe(
      'synchronous',
    );
    expect(filemarkFor({ reason: 'image-failure', earlyWarning: true })).toBe('synchronous');
  });

  it('names the fragment end reason of a single-image fragment by its outcome', () => {
    expect(fragmentEndReasonFor('complete')).toBe('image-complete');
    expect(fragmentEndReasonFor('source-failed')).toBe('image-failure');
    expect(fragmentEndReasonFor('early-warning')).toBe('end-of-medium');
  });

  it('holds a next-image split for the minimum fragment time only while data flows', () => {
    const base = { tableFull: true, ageMs: 1_000, minFragmentMs: 4_000, dataFlowing: true };
    expect(splitDecision(base)).toBe('hold');
    expect(splitDecision({ ...base, ageMs: 4_000 })).toBe('split');
    expect(splitDecision({ ...base, dataFlowing: false })).toBe('split');
    expect(splitDecision({ ...base, tableFull: false })).toBe('none');
    expect(splitDecision({ ...base, minFragmentMs: 0 })).toBe('split');
  });

  it('a fragment is full at its size limit, never without one', () => {
    expect(fragmentFull(999, 1_000)).toBe(false);
    expect(fragmentFull(1_000, 1_000)).toBe(true);
    expect(fragmentFull(2 ** 50, undefined)).toBe(false);
  });
});
