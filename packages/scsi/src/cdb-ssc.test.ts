import { describe, expect, it } from 'vitest';
import {
  AllowOverwriteMode,
  allowOverwriteCdb,
  erase6Cdb,
  loadUnloadCdb,
  locate10Cdb,
  locate16Cdb,
  ReadPositionForm,
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
import { InvalidArgumentError } from './errors';

// Expected bytes are written out from the SSC-4 CDB tables, byte by byte.
const bytes = (cdb: Uint8Array): number[] => Array.from(cdb);

function expectInvalid(fn: () => unknown, argument: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  const err = caught as InvalidArgumentError;
  expect(err.argument).toBe(argument);
  expect(err.code).toBe('INVALID_ARGUMENT');
  expect(err.category).toBe('illegal-request');
  expect(err.retryable).toBe(false);
  expect(err.message).toContain(argument);
}

describe('REWIND', () => {
  it('is 01h with IMMED in byte 1 bit 0', () => {
    expect(bytes(rewindCdb())).toEqual([0x01, 0x00, 0x00, 0x00, 0x00, 0x00]);
    expect(bytes(rewindCdb({ immediate: true }))).toEqual([0x01, 0x01, 0x00, 0x00, 0x00, 0x00]);
  });
  it('rejects a non-boolean immediate', () => {
    expectInvalid(() => rewindCdb({ immediate: 1 as unknown as boolean }), 'immediate');
  });
});

describe('LOAD UNLOAD', () => {
  it('puts HOLD/EOT/RETEN/LOAD in byte 4 bits 3..0 and IMMED in byte 1 bit 0', () => {
    expect(bytes(loadUnloadCdb({ load: true }))).toEqual([0x1b, 0x00, 0x00, 0x00, 0x01, 0x00]);
    expect(bytes(loadUnloadCdb({ load: false }))).toEqual([0x1b, 0x00, 0x00, 0x00, 0x00, 0x00]);
    expect(bytes(loadUnloadCdb({ load: false, endOfTape: true, immediate: true }))).toEqual([
      0x1b, 0x01, 0x00, 0x00, 0x04, 0x00,
    ]);
    expect(bytes(loadUnloadCdb({ load: true, hold: true, retension: true }))).toEqual([
      0x1b, 0x00, 0x00, 0x00, 0x0b, 0x00,
    ]);
  });
  it('refuses EOT together with LOAD, and a missing load flag', () => {
    expectInvalid(() => loadUnloadCdb({ load: true, endOfTape: true }), 'endOfTape');
    expectInvalid(() => loadUnloadCdb({} as unknown as { load: boolean }), 'load');
  });
});

describe('READ BLOCK LIMITS', () => {
  it('is 05h, MLOI in byte 1 bit 0', () => {
    expect(bytes(readBlockLimitsCdb())).toEqual([0x05, 0x00, 0x00, 0x00, 0x00, 0x00]);
    expect(bytes(readBlockLimitsCdb({ maximumLogicalObjectIdentifier: true }))).toEqual([
      0x05, 0x01, 0x00, 0x00, 0x00, 0x00,
    ]);
  });
});

describe('READ(6)', () => {
  it('variable mode: 24-bit transfer length in bytes 2..4', () => {
    expect(bytes(read6Cdb({ transferLength: 0x040000 }))).toEqual([0x08, 0x00, 0x04, 0x00, 0x00, 0x00]);
    expect(bytes(read6Cdb({ transferLength: 0x123456, suppressIncorrectLength: true }))).toEqual([
      0x08, 0x02, 0x12, 0x34, 0x56, 0x00,
    ]);
  });
  it('fixed mode: FIXED in byte 1 bit 0, count of blocks', () => {
    expect(bytes(read6Cdb({ transferLength: 3, fixed: true }))).toEqual([0x08, 0x01, 0x00, 0x00, 0x03, 0x00]);
  });
  it('rejects FIXED with SILI and lengths outside 24 bits', () => {
    expectInvalid(
      () => read6Cdb({ transferLength: 1, fixed: true, suppressIncorrectLength: true }),
      'suppressIncorrectLength',
    );
    expectInvalid(() => read6Cdb({ transferLength: 0x1000000 }), 'transferLength');
    expectInvalid(() => read6Cdb({ transferLength: -1 }), 'transferLength');
    expectInvalid(() => read6Cdb({ transferLength: 1.5 }), 'transferLength');
  });
});

describe('WRITE(6)', () => {
  it('variable and fixed mode', () => {
    expect(bytes(write6Cdb({ transferLength: 65536 }))).toEqual([0x0a, 0x00, 0x01, 0x00, 0x00, 0x00]);
    expect(bytes(write6Cdb({ transferLength: 16, fixed: true }))).toEqual([
      0x0a, 0x01, 0x00, 0x00, 0x10, 0x00,
    ]);
    expect(bytes(write6Cdb({ transferLength: 0xffffff }))).toEqual([0x0a, 0x00, 0xff, 0xff, 0xff, 0x00]);
  });
  it('rejects a length that does not fit 24 bits', () => {
    expectInvalid(() => write6Cdb({ transferLength: 0x1000000 }), 'transferLength');
  });
});

describe('WRITE FILEMARKS(6)', () => {
  it('immediate filemark: IMMED=1, count 1', () => {
    expect(bytes(writeFilemarks6Cdb({ count: 1, immediate: true }))).toEqual([
      0x10, 0x01, 0x00, 0x00, 0x01, 0x00,
    ]);
  });
  it('synchronous flush: IMMED=0, count 0', () => {
    expect(bytes(writeFilemarks6Cdb({ count: 0 }))).toEqual([0x10, 0x00, 0x00, 0x00, 0x00, 0x00]);
  });
  it('maximum count and WSMK', () => {
    expect(bytes(writeFilemarks6Cdb({ count: 0xffffff }))).toEqual([0x10, 0x00, 0xff, 0xff, 0xff, 0x00]);
    expect(bytes(writeFilemarks6Cdb({ count: 2, setmarks: true, immediate: true }))).toEqual([
      0x10, 0x03, 0x00, 0x00, 0x02, 0x00,
    ]);
  });
  it('rejects counts outside 0..FFFFFFh', () => {
    expectInvalid(() => writeFilemarks6Cdb({ count: 0x1000000 }), 'count');
    expectInvalid(() => writeFilemarks6Cdb({ count: -1 }), 'count');
  });
});

describe('SPACE(6)', () => {
  it('codes in byte 1, 24-bit two-s complement count', () => {
    expect(bytes(space6Cdb({ code: SpaceCode.BLOCKS, count: -1 }))).toEqual([
      0x11, 0x00, 0xff, 0xff, 0xff, 0x00,
    ]);
    expect(bytes(space6Cdb({ code: SpaceCode.FILEMARKS, count: 2 }))).toEqual([
      0x11, 0x01, 0x00, 0x00, 0x02, 0x00,
    ]);
    expect(bytes(space6Cdb({ code: SpaceCode.SEQUENTIAL_FILEMARKS, count: -3 }))).toEqual([
      0x11, 0x02, 0xff, 0xff, 0xfd, 0x00,
    ]);
    expect(bytes(space6Cdb({ code: SpaceCode.END_OF_DATA }))).toEqual([0x11, 0x03, 0x00, 0x00, 0x00, 0x00]);
  });
  it('extreme counts', () => {
    expect(bytes(space6Cdb({ code: SpaceCode.BLOCKS, count: -0x800000 }))).toEqual([
      0x11, 0x00, 0x80, 0x00, 0x00, 0x00,
    ]);
    expect(bytes(space6Cdb({ code: SpaceCode.BLOCKS, count: 0x7fffff }))).toEqual([
      0x11, 0x00, 0x7f, 0xff, 0xff, 0x00,
    ]);
  });
  it('rejects counts beyond 24 bits signed and unknown codes', () => {
    expectInvalid(() => space6Cdb({ code: SpaceCode.BLOCKS, count: 0x800000 }), 'count');
    expectInvalid(() => space6Cdb({ code: SpaceCode.BLOCKS, count: -0x800001 }), 'count');
    expectInvalid(() => space6Cdb({ code: 4 as SpaceCode, count: 1 }), 'code');
  });
});

describe('SPACE(16)', () => {
  it('signed 64-bit count in bytes 4..11', () => {
    expect(bytes(space16Cdb({ code: SpaceCode.FILEMARKS, count: -2n }))).toEqual([
      0x91, 0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00,
    ]);
    expect(bytes(space16Cdb({ code: SpaceCode.BLOCKS, count: 0x0102030405 }))).toEqual([
      0x91, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x00, 0x00, 0x00, 0x00,
    ]);
  });
  it('rejects counts outside the signed 64-bit range', () => {
    expectInvalid(() => space16Cdb({ code: SpaceCode.BLOCKS, count: 1n << 63n }), 'count');
    expectInvalid(() => space16Cdb({ code: SpaceCode.BLOCKS, count: 2 ** 60 }), 'count');
  });
});

describe('LOCATE(10)', () => {
  it('32-bit block address in bytes 3..6', () => {
    expect(bytes(locate10Cdb({ blockAddress: 0x12345678 }))).toEqual([
      0x2b, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00,
    ]);
  });
  it('CP with the partition in byte 8, IMMED and BT in byte 1', () => {
    expect(bytes(locate10Cdb({ blockAddress: 5, partition: 1, immediate: true }))).toEqual([
      0x2b, 0x03, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x00,
    ]);
    expect(bytes(locate10Cdb({ blockAddress: 0xffffffff, blockAddressType: true }))).toEqual([
      0x2b, 0x04, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
    ]);
  });
  it('rejects addresses beyond 32 bits and partitions beyond a byte', () => {
    expectInvalid(() => locate10Cdb({ blockAddress: 0x100000000 }), 'blockAddress');
    expectInvalid(() => locate10Cdb({ blockAddress: 0, partition: 256 }), 'partition');
  });
});

describe('LOCATE(16)', () => {
  it('DEST_TYPE in byte 1 bits 5..3, partition in byte 3, 64-bit identifier in bytes 4..11', () => {
    expect(
      bytes(
        locate16Cdb({ logicalIdentifier: 0x0102030405060708n, destination: 'logical-file', partition: 2 }),
      ),
    ).toEqual([
      0x92, 0x0a, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00, 0x00, 0x00,
    ]);
    expect(bytes(locate16Cdb({ logicalIdentifier: 1000, immediate: true }))).toEqual([
      0x92, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00,
    ]);
    expect(bytes(locate16Cdb({ logicalIdentifier: 0, destination: 'end-of-data' }))).toEqual([
      0x92, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]);
  });
  it('rejects negative identifiers and unknown destinations', () => {
    expectInvalid(() => locate16Cdb({ logicalIdentifier: -1 }), 'logicalIdentifier');
    expectInvalid(() => locate16Cdb({ logicalIdentifier: 1n << 64n }), 'logicalIdentifier');
    expectInvalid(
      () => locate16Cdb({ logicalIdentifier: 0, destination: 'setmark' as unknown as 'logical-object' }),
      'destination',
    );
  });
});

describe('READ POSITION', () => {
  it('service action in byte 1 bits 4..0; allocation length only for the extended form', () => {
    expect(bytes(readPositionCdb())).toEqual([0x34, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    expect(bytes(readPositionCdb({ form: ReadPositionForm.SHORT }))).toEqual([
      0x34, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]);
    expect(bytes(readPositionCdb({ form: ReadPositionForm.EXTENDED }))).toEqual([
      0x34, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00,
    ]);
    expect(bytes(readPositionCdb({ form: ReadPositionForm.EXTENDED, allocationLength: 0x0140 }))).toEqual([
      0x34, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x40, 0x00,
    ]);
  });
  it('rejects an allocation length for the short and long forms, and unknown forms', () => {
    expectInvalid(
      () => readPositionCdb({ form: ReadPositionForm.SHORT, allocationLength: 20 }),
      'allocationLength',
    );
    expectInvalid(() => readPositionCdb({ form: 0x02 as ReadPositionForm }), 'form');
  });
});

describe('ALLOW OVERWRITE', () => {
  it('16 bytes: mode in byte 2, partition in byte 3, identifier in bytes 4..11', () => {
    expect(
      bytes(
        allowOverwriteCdb({
          mode: AllowOverwriteMode.CURRENT_POSITION,
          partition: 0,
          logicalObjectIdentifier: 1000,
        }),
      ),
    ).toEqual([
      0x82, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x00,
    ]);
    expect(
      bytes(
        allowOverwriteCdb({ mode: AllowOverwriteMode.FORMAT, partition: 1, logicalObjectIdentifier: 0xffn }),
      ),
    ).toEqual([
      0x82, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00,
    ]);
  });
  it('rejects modes other than 0, 1, 2', () => {
    expectInvalid(
      () => allowOverwriteCdb({ mode: 3 as AllowOverwriteMode, partition: 0, logicalObjectIdentifier: 0 }),
      'mode',
    );
    expectInvalid(
      () =>
        allowOverwriteCdb({ mode: AllowOverwriteMode.DISABLED, partition: -1, logicalObjectIdentifier: 0 }),
      'partition',
    );
  });
});

describe('ERASE(6)', () => {
  it('LONG in byte 1 bit 0, IMMED in bit 1', () => {
    expect(bytes(erase6Cdb())).toEqual([0x19, 0x00, 0x00, 0x00, 0x00, 0x00]);
    expect(bytes(erase6Cdb({ long: true }))).toEqual([0x19, 0x01, 0x00, 0x00, 0x00, 0x00]);
    expect(bytes(erase6Cdb({ long: true, immediate: true }))).toEqual([0x19, 0x03, 0x00, 0x00, 0x00, 0x00]);
  });
});
