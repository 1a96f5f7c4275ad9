import { describe, expect, it } from 'vitest';
import {
  inquiryCdb,
  modeSelect6Cdb,
  modeSelect10Cdb,
  modeSense6Cdb,
  modeSense10Cdb,
  requestSenseCdb,
  testUnitReadyCdb,
} from './cdb-spc';
import {
  allowOverwriteCdb,
  erase6Cdb,
  loadUnloadCdb,
  locate10Cdb,
  locate16Cdb,
  read6Cdb,
  readBlockLimitsCdb,
  readPositionCdb,
  rewindCdb,
  SpaceCode,
  space6Cdb,
  space16Cdb,
  write6Cdb,
  writeFilemarks6Cdb,
} from './cdb-ssc';
import { COMMANDS, commandInfo, Opcode, opcodeName, SUGGESTED_TIMEOUT_MS, timeoutClassOf } from './opcodes';

describe('opcode table', () => {
  it('every builder produces a CDB whose length and opcode match the table', () => {
    const cdbs = [
      testUnitReadyCdb(),
      inquiryCdb(),
      requestSenseCdb(),
      modeSense6Cdb({ pageCode: 0x10 }),
      modeSense10Cdb({ pageCode: 0x10 }),
      modeSelect6Cdb({ parameterListLength: 4 }),
      modeSelect10Cdb({ parameterListLength: 8 }),
      rewindCdb(),
      loadUnloadCdb({ load: true }),
      readBlockLimitsCdb(),
      read6Cdb({ transferLength: 1 }),
      write6Cdb({ transferLength: 1 }),
      writeFilemarks6Cdb({ count: 1 }),
      space6Cdb({ code: SpaceCode.BLOCKS, count: 1 }),
      space16Cdb({ code: SpaceCode.BLOCKS, count: 1 }),
      locate10Cdb({ blockAddress: 1 }),
      locate16Cdb({ logicalIdentifier: 1 }),
      readPositionCdb(),
      allowOverwriteCdb({ mode: 1, partition: 0, logicalObjectIdentifier: 1 }),
      erase6Cdb(),
    ];
    const seen = new Set<number>();
    for (const cdb of cdbs) {
      const info = commandInfo(cdb[0] ?? -1);
      expect(info, `opcode ${cdb[0]}`).toBeDefined();
      expect(cdb.length).toBe(info?.cdbLength);
      seen.add(cdb[0] ?? -1);
    }
    expect(seen.size).toBe(COMMANDS.size);
  });

  it('names and data directions', () => {
    expect(commandInfo(Opcode.ALLOW_OVERWRITE)).toMatchObject({
      name: 'ALLOW OVERWRITE',
      cdbLength: 16,
      dataDirection: 'none',
    });
    expect(commandInfo(Opcode.READ_6)?.dataDirection).toBe('in');
    expect(commandInfo(Opcode.MODE_SELECT_10)?.dataDirection).toBe('out');
    expect(opcodeName(0x10)).toBe('WRITE FILEMARKS(6)');
    expect(opcodeName(0xc1)).toBe('OPCODE 0xC1');
  });
});

describe('timeoutClassOf', () => {
  it('a synchronous filemark is long, an immediate one short', () => {
    expect(timeoutClassOf(writeFilemarks6Cdb({ count: 1 }))).toBe('long');
    expect(timeoutClassOf(writeFilemarks6Cdb({ count: 0 }))).toBe('long');
    expect(timeoutClassOf(writeFilemarks6Cdb({ count: 1, immediate: true }))).toBe('short');
  });

  it('tape motion is long unless IMMED is set', () => {
    expect(timeoutClassOf(rewindCdb())).toBe('long');
    expect(timeoutClassOf(rewindCdb({ immediate: true }))).toBe('short');
    expect(timeoutClassOf(loadUnloadCdb({ load: false }))).toBe('long');
    expect(timeoutClassOf(locate16Cdb({ logicalIdentifier: 5, immediate: true }))).toBe('short');
    expect(timeoutClassOf(space6Cdb({ code: SpaceCode.END_OF_DATA }))).toBe('long');
  });

  it('long erase is very-long; with IMMED (byte 1 bit 1) it is short', () => {
    expect(timeoutClassOf(erase6Cdb())).toBe('long');
    expect(timeoutClassOf(erase6Cdb({ long: true }))).toBe('very-long');
    expect(timeoutClassOf(erase6Cdb({ long: true, immediate: true }))).toBe('short');
  });

  it('data transfer is io, queries are short, unknown is long', () => {
    expect(timeoutClassOf(write6Cdb({ transferLength: 65536 }))).toBe('io');
    expect(timeoutClassOf(read6Cdb({ transferLength: 65536 }))).toBe('io');
    expect(timeoutClassOf(readPositionCdb())).toBe('short');
    expect(timeoutClassOf(Uint8Array.from([0xc1, 0, 0, 0, 0, 0]))).toBe('long');
    expect(timeoutClassOf(new Uint8Array(0))).toBe('long');
  });

  it('suggested deadlines grow with the class', () => {
    expect(SUGGESTED_TIMEOUT_MS.short).toBeLessThan(SUGGESTED_TIMEOUT_MS.io);
    expect(SUGGESTED_TIMEOUT_MS.io).toBeLessThan(SUGGESTED_TIMEOUT_MS.long);
    expect(SUGGESTED_TIMEOUT_MS.long).toBeLessThan(SUGGESTED_TIMEOUT_MS['very-long']);
  });
});
