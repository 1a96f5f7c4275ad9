import { describe, expect, it } from 'vitest';
import { filemarkFor, fragmentEndReasonFor } from './filemark-policy';

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
});
