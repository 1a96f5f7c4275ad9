import type { DuplicatorEvent } from '@tapedup/protocol';
import { describe, expect, it } from 'vitest';
import { ProgressTracker } from './progress';

const at = 1_700_000_000_000;
const copy = (type: string, backupId: string, extra: object = {}) =>
  ({
    v: 1,
    type,
    id: `${type}-${backupId}`,
    at,
    requestId: 'R1',
    backupId,
    copy: 1,
    ...extra,
  }) as unknown as DuplicatorEvent;
const placed = { driveId: 'drive0', medium: 'TD0001L9', fileNumber: 1, blockAddress: 2, bytes: 100 };

describe('ProgressTracker', () => {
  it('counts written, committed, failures, retries and abandonment of its own request only', () => {
    const t = new ProgressTracker('R1', 3, 300);
    expect(t.apply(copy('image-written', 'a', placed))).toBe(true);
    t.apply(copy('image-written', 'b', placed));
    t.apply(copy('image-committed', 'a', { ...placed, sha256: '0'.repeat(64) }));
    t.apply(copy('image-failed', 'b', { reason: 'SYNC_FAILED', message: 'x', retryable: true, attempt: 1 }));
    t.apply(copy('image-retrying', 'b', { attempt: 2, reason: 'SYNC_FAILED' }));
    t.apply(
      copy('image-failed', 'c', { reason: 'SOURCE_READ', message: 'gone', retryable: false, attempt: 3 }),
    );
    expect(t.apply({ ...copy('image-written', 'z', placed), requestId: 'R2' } as DuplicatorEvent)).toBe(
      false,
    );
    expect(t.counts).toEqual({
      copies: 3,
      bytesTotal: 300,
      written: 2,
      committed: 1,
      bytesCommitted: 100,
      abandoned: 1,
      retries: 1,
      failures: 2,
    });
    expect(t.done).toBeUndefined();
  });

  it('counts a repeated commit event once', () => {
    const t = new ProgressTracker('R1', 1, 100);
    const e = copy('image-committed', 'a', { ...placed, sha256: '0'.repeat(64) });
    t.apply(e);
    expect(t.apply(e)).toBe(false);
    expect(t.counts.committed).toBe(1);
  });

  it('records request-done', () => {
    const t = new ProgressTracker('R1', 1, 100);
    const done = {
      v: 1,
      type: 'request-done',
      id: 'd',
      at,
      requestId: 'R1',
      outcome: 'done',
      images: 1,
      committed: 1,
      failed: 0,
      cancelled: 0,
      bytesCommitted: 100,
      elapsedMs: 5,
    } as DuplicatorEvent;
    t.apply(done);
    expect(t.done).toEqual(done);
  });

  it('renders a bar proportional to committed copies with the notable counts', () => {
    const t = new ProgressTracker('R1', 4, 4000);
    t.apply(copy('image-committed', 'a', { ...placed, bytes: 1000, sha256: '0'.repeat(64) }));
    t.apply(copy('image-written', 'b', placed));
    t.apply(copy('image-retrying', 'c', { attempt: 2, reason: 'SYNC_FAILED' }));
    expect(t.line(12_300, 8)).toBe(
      '[##------]  1/4 committed  1.0 kB/4.0 kB  1 pending sync  1 retry  12.3 s',
    );
  });
});
