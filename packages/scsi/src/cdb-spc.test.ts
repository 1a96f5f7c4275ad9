import { describe, expect, it } from 'vitest';
import {
  inquiryCdb,
  inquiryVpdCdb,
  modeSelect6Cdb,
  modeSelect10Cdb,
  modeSense6Cdb,
  modeSense10Cdb,
  type PageControl,
  requestSenseCdb,
  testUnitReadyCdb,
  unitSerialNumberCdb,
} from './cdb-spc';
import { InvalidArgumentError } from './errors';

// Expected bytes are written out from the SPC-4 CDB tables, byte by byte.
const bytes = (cdb: Uint8Array): number[] => Array.from(cdb);

function invalidArgument(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as InvalidArgumentError).argument;
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('TEST UNIT READY', () => {
  it('is six zero bytes', () => {
    expect(bytes(testUnitReadyCdb())).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('INQUIRY', () => {
  it('standard data: EVPD=0, allocation length in bytes 3..4', () => {
    expect(bytes(inquiryCdb())).toEqual([0x12, 0x00, 0x00, 0x00, 0x60, 0x00]);
    expect(bytes(inquiryCdb({ allocationLength: 0x1234 }))).toEqual([0x12, 0x00, 0x00, 0x12, 0x34, 0x00]);
  });
  it('VPD page 80h: EVPD=1, page code in byte 2', () => {
    expect(bytes(unitSerialNumberCdb())).toEqual([0x12, 0x01, 0x80, 0x00, 0xff, 0x00]);
    expect(bytes(inquiryVpdCdb(0x83, { allocationLength: 0x200 }))).toEqual([
      0x12, 0x01, 0x83, 0x02, 0x00, 0x00,
    ]);
  });
  it('rejects out-of-range allocation length and page code', () => {
    expect(invalidArgument(() => inquiryCdb({ allocationLength: 0x10000 }))).toBe('allocationLength');
    expect(invalidArgument(() => inquiryVpdCdb(0x100))).toBe('pageCode');
  });
});

describe('REQUEST SENSE', () => {
  it('DESC in byte 1 bit 0, allocation length in byte 4', () => {
    expect(bytes(requestSenseCdb({ descriptor: true }))).toEqual([0x03, 0x01, 0x00, 0x00, 0xfc, 0x00]);
    expect(bytes(requestSenseCdb({ allocationLength: 18 }))).toEqual([0x03, 0x00, 0x00, 0x00, 0x12, 0x00]);
  });
  it('rejects an allocation length over 255', () => {
    expect(invalidArgument(() => requestSenseCdb({ allocationLength: 256 }))).toBe('allocationLength');
  });
});

describe('MODE SENSE(6)', () => {
  it('DBD in byte 1 bit 3, PC in byte 2 bits 7..6, page code bits 5..0, subpage in byte 3', () => {
    expect(
      bytes(
        modeSense6Cdb({
          pageCode: 0x10,
          subpageCode: 0x01,
          disableBlockDescriptors: true,
          allocationLength: 0xff,
        }),
      ),
    ).toEqual([0x1a, 0x08, 0x10, 0x01, 0xff, 0x00]);
    expect(bytes(modeSense6Cdb({ pageCode: 0x3f, subpageCode: 0xff, pageControl: 'changeable' }))).toEqual([
      0x1a, 0x00, 0x7f, 0xff, 0xff, 0x00,
    ]);
    expect(bytes(modeSense6Cdb({ pageCode: 0x00, pageControl: 'default', allocationLength: 12 }))).toEqual([
      0x1a, 0x00, 0x80, 0x00, 0x0c, 0x00,
    ]);
  });
  it('rejects page codes beyond 3Fh and unknown page controls', () => {
    expect(invalidArgument(() => modeSense6Cdb({ pageCode: 0x40 }))).toBe('pageCode');
    expect(invalidArgument(() => modeSense6Cdb({ pageCode: 0, pageControl: 'live' as PageControl }))).toBe(
      'pageControl',
    );
    expect(invalidArgument(() => modeSense6Cdb({ pageCode: 0, allocationLength: 256 }))).toBe(
      'allocationLength',
    );
  });
});

describe('MODE SENSE(10)', () => {
  it('LLBAA bit 4 and DBD bit 3 of byte 1, allocation length in bytes 7..8', () => {
    expect(
      bytes(
        modeSense10Cdb({
          pageCode: 0x10,
          subpageCode: 0x01,
          pageControl: 'saved',
          disableBlockDescriptors: true,
          allocationLength: 0x40,
        }),
      ),
    ).toEqual([0x5a, 0x08, 0xd0, 0x01, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00]);
    expect(bytes(modeSense10Cdb({ pageCode: 0x0f, longLbaAccepted: true }))).toEqual([
      0x5a, 0x10, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
    ]);
  });
  it('rejects subpage codes beyond FFh', () => {
    expect(invalidArgument(() => modeSense10Cdb({ pageCode: 0x10, subpageCode: 0x100 }))).toBe('subpageCode');
  });
});

describe('MODE SELECT', () => {
  it('(6): PF in byte 1 bit 4, SP bit 0, parameter list length in byte 4', () => {
    expect(bytes(modeSelect6Cdb({ parameterListLength: 12 }))).toEqual([0x15, 0x10, 0x00, 0x00, 0x0c, 0x00]);
    expect(bytes(modeSelect6Cdb({ parameterListLength: 0xff, pageFormat: false, savePages: true }))).toEqual([
      0x15, 0x01, 0x00, 0x00, 0xff, 0x00,
    ]);
  });
  it('(10): parameter list length in bytes 7..8', () => {
    expect(bytes(modeSelect10Cdb({ parameterListLength: 0x28 }))).toEqual([
      0x55, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00,
    ]);
    expect(bytes(modeSelect10Cdb({ parameterListLength: 0x1234, savePages: true }))).toEqual([
      0x55, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00,
    ]);
  });
  it('rejects lengths that do not fit', () => {
    expect(invalidArgument(() => modeSelect6Cdb({ parameterListLength: 256 }))).toBe('parameterListLength');
    expect(invalidArgument(() => modeSelect10Cdb({ parameterListLength: 0x10000 }))).toBe(
      'parameterListLength',
    );
    expect(
      invalidArgument(() =>
        modeSelect10Cdb({ parameterListLength: 1, pageFormat: 'yes' as unknown as boolean }),
      ),
    ).toBe('pageFormat');
  });
});
