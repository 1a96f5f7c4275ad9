import { describe, expect, it } from 'vitest';
import { SyntheticMedium } from './synthetic-medium';

describe('SyntheticMedium', () => {
  it('keeps runs of equal objects and answers positions by arithmetic', async () => {
    const m = new SyntheticMedium({ barcode: 'SYN001L9', capacityBytes: 1e15 });
    await m.appendRun('data', 262144, 1_000_000_000);
    await m.append([{ kind: 'filemark' }]);
    await m.append([
      { kind: 'data', length: 100 },
      { kind: 'data', length: 100 },
    ]);
    expect(m.runCount).toBe(3);
    expect(m.objectCount()).toBe(1_000_000_003);
    expect(m.objectAt(999_999_999)).toEqual({ kind: 'data', length: 262144 });
    expect(m.objectAt(1_000_000_000)).toEqual({ kind: 'filemark' });
    expect(m.objectAt(1_000_000_002)).toEqual({ kind: 'data', length: 100 });
    expect(m.objectAt(1_000_000_003)).toBeUndefined();
    expect(m.bytesBefore(10)).toBe(10 * 262144);
    expect(m.bytesBefore(1_000_000_003)).toBe(262144e9 + 200);
    expect(m.filemarksBefore(1_000_000_000)).toBe(0);
    expect(m.filemarksBefore(1_000_000_001)).toBe(1);
    const data = await m.readData(1_000_000_001);
    expect(data.length).toBe(100);
    expect(data.every((b) => b === 0)).toBe(true);
    await expect(m.readData(1_000_000_000)).rejects.toThrow(RangeError);
  });

  it('truncates inside a run and reverts to the last sync on loseUnsynced', async () => {
    const m = new SyntheticMedium({ barcode: 'SYN002L9', capacityBytes: 1e12 });
    await m.appendRun('data', 1000, 10);
    await m.sync();
    await m.appendRun('data', 1000, 5);
    await m.truncate(7);
    expect(m.objectCount()).toBe(7);
    expect(m.bytesBefore(7)).toBe(7000);
    await m.append([{ kind: 'filemark' }]);
    expect(m.objectAt(7)).toEqual({ kind: 'filemark' });
    m.loseUnsynced();
    expect(m.objectCount()).toBe(10);
    expect(m.objectAt(7)).toEqual({ kind: 'data', length: 1000 });
  });

  it('validates its options', () => {
    expect(() => new SyntheticMedium({ barcode: '', capacityBytes: 1 })).toThrow(/"barcode"/);
    expect(() => new SyntheticMedium({ barcode: 'A', capacityBytes: -1 })).toThrow(/"capacityBytes"/);
  });
});
