import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatTable } from './format';

describe('formatBytes', () => {
  it('uses decimal units with one decimal below 100', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1234)).toBe('1.2 kB');
    expect(formatBytes(734_003_200)).toBe('734 MB');
    expect(formatBytes(18e12)).toBe('18.0 TB');
  });
});

describe('formatDuration', () => {
  it('picks ms, seconds or minutes', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_345)).toBe('12.3 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(7_200_000)).toBe('2 h 0 min');
  });
});

describe('formatTable', () => {
  it('aligns text left and numbers right, with - for missing cells', () => {
    const table = formatTable(
      ['medium', 'files', 'state'],
      [
        ['TD0001L9', 12, 'active'],
        ['TD0002L9', 3, null],
      ],
    );
    expect(table.split('\n')).toEqual([
      'medium    files  state',
      'TD0001L9     12  active',
      'TD0002L9      3  -',
    ]);
  });
});
