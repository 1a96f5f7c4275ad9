import { describe, expect, it } from 'vitest';
import { DriveBuffer } from './drive-buffer';

// 1000 bytes/s: 1 byte per ms makes the arithmetic readable.
const data = (length: number, count = 1) => ({ kind: 'data' as const, length, count, faulted: false });

describe('DriveBuffer', () => {
  it('drains runs back to back at the media rate', () => {
    const b = new DriveBuffer(1000, 100, 500);
    const r1 = b.enqueue(0, data(40));
    const r2 = b.enqueue(0, data(60));
    expect([r1.drainStart, r1.drainEnd, r2.drainStart, r2.drainEnd]).toEqual([0, 40, 40, 100]);
    expect(b.levelAt(0)).toBe(100);
    expect(b.levelAt(50)).toBe(50);
    expect(b.levelAt(100)).toBe(0);
  });

  it('answers when a write fits: immediately, or when enough has drained', () => {
    const b = new DriveBuffer(1000, 100, 500);
    b.enqueue(0, data(80));
    expect(b.acceptTime(0)).toBe(0);
    b.enqueue(0, data(50));
    // 130 bytes in a 100-byte buffer: fits once 30 have drained.
    expect(b.acceptTime(0)).toBe(30);
    // A synthetic run bigger than the buffer streams through it.
    b.enqueue(0, data(100, 10));
    expect(b.acceptTime(0)).toBe(1130 - 100);
  });

  it('splits a partly drained synthetic run and returns drained pieces in order', () => {
    const b = new DriveBuffer(1000, 1_000_000, 500);
    b.enqueue(0, { kind: 'filemark', length: 0, count: 1, faulted: false });
    b.enqueue(0, data(10, 100));
    const { drained } = b.take(255);
    expect(drained).toEqual([
      { kind: 'filemark', length: 0, count: 1, data: undefined },
      { kind: 'data', length: 10, count: 25 },
    ]);
    expect(b.objects).toBe(75);
    expect(b.bytes).toBe(750);
    expect(b.levelAt(255)).toBeCloseTo(745, 9);
  });

  it('backhitches only when the buffer ran dry during streaming', () => {
    const b = new DriveBuffer(1000, 1000, 500);
    b.enqueue(0, data(10)); // drained at 10
    const late = b.enqueue(20, data(10));
    expect(b.backhitches).toBe(1);
    expect(late.drainStart).toBe(520);
    b.stop();
    const afterStop = b.enqueue(2000, data(10));
    expect(afterStop.drainStart).toBe(2000);
    expect(b.backhitches).toBe(1);
  });

  it('discards a faulted run and everything after it when the head reaches it', () => {
    const b = new DriveBuffer(1000, 1000, 0);
    b.enqueue(0, data(10));
    b.enqueue(0, { ...data(10), faulted: true });
    b.enqueue(0, data(10));
    expect(b.take(5)).toEqual({ drained: [], faulted: false });
    const res = b.take(15);
    expect(res.faulted).toBe(true);
    expect(res.drained).toHaveLength(1);
    expect(b.empty).toBe(true);
  });
});
