import { describe, expect, it } from 'vitest';
import { ASC_TABLE, Asc, lookupAsc, toUpperSnake } from './asc-table';

describe('ASC/ASCQ table', () => {
  it('names the SSC codes a tape writer branches on', () => {
    const cases: Array<[number, number, string, string]> = [
      [0x00, 0x01, 'FILEMARK DETECTED', 'FILEMARK_DETECTED'],
      [0x00, 0x02, 'END-OF-PARTITION/MEDIUM DETECTED', 'END_OF_PARTITION_MEDIUM_DETECTED'],
      [0x00, 0x04, 'BEGINNING-OF-PARTITION/MEDIUM DETECTED', 'BEGINNING_OF_PARTITION_MEDIUM_DETECTED'],
      [0x00, 0x05, 'END-OF-DATA DETECTED', 'END_OF_DATA_DETECTED'],
      [0x00, 0x16, 'OPERATION IN PROGRESS', 'OPERATION_IN_PROGRESS'],
      [0x0c, 0x00, 'WRITE ERROR', 'WRITE_ERROR'],
      [0x11, 0x01, 'READ RETRIES EXHAUSTED', 'READ_RETRIES_EXHAUSTED'],
      [0x14, 0x03, 'END-OF-DATA NOT FOUND', 'END_OF_DATA_NOT_FOUND'],
      [0x14, 0x07, 'LOCATE OPERATION FAILURE', 'LOCATE_OPERATION_FAILURE'],
      [
        0x20,
        0x0c,
        'ILLEGAL COMMAND WHEN NOT IN APPEND-ONLY MODE',
        'ILLEGAL_COMMAND_WHEN_NOT_IN_APPEND_ONLY_MODE',
      ],
      [0x27, 0x02, 'LOGICAL UNIT SOFTWARE WRITE PROTECTED', 'LOGICAL_UNIT_SOFTWARE_WRITE_PROTECTED'],
      [0x30, 0x0c, 'WORM MEDIUM - OVERWRITE ATTEMPTED', 'WORM_MEDIUM_OVERWRITE_ATTEMPTED'],
      [
        0x3b,
        0x01,
        'TAPE POSITION ERROR AT BEGINNING-OF-MEDIUM',
        'TAPE_POSITION_ERROR_AT_BEGINNING_OF_MEDIUM',
      ],
      [0x3b, 0x08, 'REPOSITION ERROR', 'REPOSITION_ERROR'],
      [0x50, 0x00, 'WRITE APPEND ERROR', 'WRITE_APPEND_ERROR'],
      [0x5a, 0x02, 'OPERATOR SELECTED WRITE PROTECT', 'OPERATOR_SELECTED_WRITE_PROTECT'],
    ];
    for (const [asc, ascq, name, code] of cases) {
      const entry = lookupAsc(asc, ascq);
      expect(entry?.name).toBe(name);
      expect(entry?.code).toBe(code);
    }
  });

  it('marks conditions that repeating the command will not cure', () => {
    expect(lookupAsc(0x3a, 0x00)?.retryable).toBe(false);
    expect(lookupAsc(0x04, 0x03)?.retryable).toBe(false);
    expect(lookupAsc(0x04, 0x01)?.retryable).toBe(true);
    expect(lookupAsc(0x0c, 0x00)?.retryable).toBeUndefined();
  });

  it('recognises the pattern ranges and nothing else', () => {
    expect(lookupAsc(0x40, 0x85)).toEqual({
      asc: 0x40,
      ascq: 0x85,
      name: 'DIAGNOSTIC FAILURE ON COMPONENT 85h',
      code: 'DIAGNOSTIC_FAILURE_ON_COMPONENT',
    });
    expect(lookupAsc(0x4d, 0x0a)?.name).toBe('TAGGED OVERLAPPED COMMANDS (TASK TAG 0Ah)');
    expect(lookupAsc(0x40, 0x10)).toBeUndefined();
    expect(lookupAsc(0x99, 0x00)).toBeUndefined();
  });

  it('every code is UPPER_SNAKE and every Asc constant is in the table', () => {
    for (const entry of ASC_TABLE.values()) expect(entry.code).toMatch(/^[A-Z0-9]+(_[A-Z0-9]+)*$/u);
    for (const [name, [asc, ascq]] of Object.entries(Asc)) {
      const entry = lookupAsc(asc, ascq);
      expect(entry, name).toBeDefined();
    }
    expect(toUpperSnake('I/O PROCESS TERMINATED')).toBe('I_O_PROCESS_TERMINATED');
    expect(toUpperSnake('  a--b  ')).toBe('A_B');
  });
});
