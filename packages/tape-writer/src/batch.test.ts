import { describe, expect, it } from 'vitest';
import { Batch, BatchStateError, type WrittenCopy } from './batch';

const start = { medium: 'TD0001L9', fileNumber: 1, blockNumber: 2 };
const copy = (n: number, medium = 'TD0001L9'): WrittenCopy => ({
  copyId: `c${n}`,
  backupId: `img${n}`,
  medium,
  fileNumber: n,
  blockAddress: 10 * n,
  bytes: 100 * n,
  sha256: 'ab'.repeat(32),
});

describe('Batch', () => {
  it('commits every copy written since the last good sync when the position matches', () => {
    const b = new Batch(start);
    const firstId = b.id;
    b.advance(5, 1);
    b.written(copy(1));
    b.advance(3, 1);
    b.written(copy(2));
    expect(b.size).toBe(2);
    expect(b.bytes).toBe(300);
    const out = b.synced(10);
    expect(out).toEqual({
      ok: true,
      committed: [copy(1), copy(2)],
      position: { medium: 'TD0001L9', fileNumber: 3, blockNumber: 10 },
    });
    expect(b.size).toBe(0);
    expect(b.lastGood).toEqual({ medium: 'TD0001L9', fileNumber: 3, blockNumber: 10 });
    expect(b.id).not.toBe(firstId);
  });

  it('fails the whole batch on a position mismatch and refuses further writes until restarted', () => {
    const b = new Batch(start);
    b.advance(4, 1);
    b.written(copy(1));
    b.written(copy(2));
    const out = b.synced(7);
    expect(out).toEqual({
      ok: false,
      failed: [copy(1), copy(2)],
      reason: 'position-mismatch',
      expected: 6,
      actual: 7,
    });
    expect(b.failed).toBe(true);
    expect(b.lastGood).toEqual(start);
    expect(() => b.written(copy(3))).toThrow(BatchStateError);
    expect(() => b.advance(1, 0)).toThrow(/reposition/);
    expect(() => b.synced(2)).toThrow(/already failed/);
    b.restart();
    expect(b.expected).toEqual(start);
    b.advance(2, 1);
    b.written(copy(3));
    expect(b.synced(4).ok).toBe(true);
  });

  it('fail() returns every pending copy once, so none can be committed later', () => {
    const b = new Batch(start);
    b.advance(2, 1);
    b.written(copy(1));
    expect(b.fail()).toEqual([copy(1)]);
    expect(b.fail()).toEqual([]);
    b.restart({ medium: 'TD0001L9', fileNumber: 1, blockNumber: 2 });
    expect(b.synced(2)).toEqual({ ok: true, committed: [], position: start });
  });

  it('refuses a copy on another medium and a restart with pending copies', () => {
    const b = new Batch(start);
    expect(() => b.written(copy(1, 'OTHER'))).toThrow(/batch on TD0001L9/);
    b.written(copy(1));
    expect(() => b.restart()).toThrow(BatchStateError);
  });

  it('restart on a new medium moves the last good position there', () => {
    const b = new Batch(start, 'drive0');
    expect(b.id).toBe('drive0-1');
    b.restart({ medium: 'TD0002L9', fileNumber: 1, blockNumber: 2 });
    b.advance(3, 1);
    b.written(copy(1, 'TD0002L9'));
    const out = b.synced(5);
    expect(out.ok && out.position.medium).toBe('TD0002L9');
  });
});
