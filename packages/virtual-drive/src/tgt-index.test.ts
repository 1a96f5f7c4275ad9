import { describe, expect, it } from 'vitest';
import { FIRST_BLOCK_OFFSET } from './tgt-format';
import { ObjectIndex } from './tgt-index';

describe('ObjectIndex', () => {
  it('derives offsets, lengths and running byte counts from pushes', () => {
    const index = new ObjectIndex(FIRST_BLOCK_OFFSET, 2);
    index.push(false, 100);
    index.push(true, 0);
    index.push(false, 7);
    expect(index.count).toBe(3);
    expect([0, 1, 2, 3].map((i) => index.offsetOf(i))).toEqual([1152, 1300, 1348, 1403]);
    expect(index.eodOffset).toBe(1403);
    expect([0, 1, 2].map((i) => index.lengthOf(i))).toEqual([100, 0, 7]);
    expect([0, 1, 2].map((i) => index.isFilemark(i))).toEqual([false, true, false]);
    expect([0, 1, 2, 3].map((i) => index.bytesBefore(i))).toEqual([0, 100, 100, 107]);
  });

  it('grows past its initial capacity and keeps earlier entries', () => {
    const index = new ObjectIndex(FIRST_BLOCK_OFFSET, 4);
    for (let i = 0; i < 5000; i += 1) index.push(i % 10 === 9, i % 10 === 9 ? 0 : 1000);
    expect(index.count).toBe(5000);
    expect(index.isFilemark(4999)).toBe(true);
    expect(index.lengthOf(4998)).toBe(1000);
    expect(index.bytesBefore(5000)).toBe(4500 * 1000);
    expect(index.eodOffset).toBe(FIRST_BLOCK_OFFSET + 5000 * 48 + 4500 * 1000);
  });

  it('truncates so the next push lands where the dropped object was', () => {
    const index = new ObjectIndex(FIRST_BLOCK_OFFSET);
    index.push(false, 10);
    index.push(false, 20);
    index.push(true, 0);
    index.truncate(1);
    expect(index.count).toBe(1);
    expect(index.eodOffset).toBe(FIRST_BLOCK_OFFSET + 58);
    index.push(true, 0);
    expect(index.isFilemark(1)).toBe(true);
    expect(index.eodOffset).toBe(FIRST_BLOCK_OFFSET + 106);
  });

  it('counts filemarks before any index, also after truncation and growth', () => {
    const index = new ObjectIndex(FIRST_BLOCK_OFFSET, 8);
    const kinds: boolean[] = [];
    for (let i = 0; i < 3000; i += 1) {
      const filemark = i % 7 === 3 || i % 11 === 0;
      kinds.push(filemark);
      index.push(filemark, filemark ? 0 : 10);
    }
    const expected = (n: number) => kinds.slice(0, n).filter(Boolean).length;
    for (const n of [0, 1, 3, 4, 5, 100, 2999, 3000])
      expect(index.filemarksBefore(n), `n=${n}`).toBe(expected(n));
    index.truncate(1000);
    expect(index.filemarksBefore(1000)).toBe(expected(1000));
    index.push(true, 0);
    expect(index.filemarksBefore(1001)).toBe(expected(1000) + 1);
  });
});
