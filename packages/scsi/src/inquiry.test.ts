import { describe, expect, it } from 'vitest';
import { ResponseParseError } from './errors';
import { parseStandardInquiry, parseUnitSerialNumber, toDriveIdentity } from './inquiry';

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

function parseError(fn: () => unknown): ResponseParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ResponseParseError);
    return err as ResponseParseError;
  }
  throw new Error('expected a ResponseParseError');
}

describe('standard INQUIRY data', () => {
  // The shape tgtd answers for a tape LUN: type 01h, RMB, vendor "IET", product "VIRTUAL-TAPE".
  const tgt = Uint8Array.from([
    0x01, // qualifier 000b, device type 01h
    0x80, // RMB
    0x06, // VERSION: SPC-4
    0x12, // HISUP, response data format 2
    0x3b, // additional length
    0x00,
    0x00,
    0x02, // CMDQUE
    ...ascii('IET     '),
    ...ascii('VIRTUAL-TAPE    '),
    ...ascii('0001'),
  ]);

  it('parses qualifier, type, RMB, version and the trimmed identification fields', () => {
    expect(parseStandardInquiry(tgt)).toEqual({
      peripheralQualifier: 0,
      peripheralDeviceType: 1,
      removable: true,
      version: 6,
      normaca: false,
      hisup: true,
      responseDataFormat: 2,
      additionalLength: 0x3b,
      commandQueuing: true,
      vendor: 'IET',
      product: 'VIRTUAL-TAPE',
      revision: '0001',
    });
  });

  it('decodes qualifier 3 / type 1Fh (no device) and NORMACA', () => {
    const buf = new Uint8Array(36).fill(0x20);
    buf[0] = 0x7f;
    buf[1] = 0x00;
    buf[2] = 0x05;
    buf[3] = 0x22;
    buf[7] = 0x00;
    const p = parseStandardInquiry(buf);
    expect(p.peripheralQualifier).toBe(3);
    expect(p.peripheralDeviceType).toBe(0x1f);
    expect(p.removable).toBe(false);
    expect(p.normaca).toBe(true);
    expect(p.hisup).toBe(false);
    expect(p.vendor).toBe('');
  });

  it('rejects fewer than 36 bytes', () => {
    const err = parseError(() => parseStandardInquiry(tgt.subarray(0, 35)));
    expect(err.code).toBe('RESPONSE_TOO_SHORT');
    expect(err.opcode).toBe(0x12);
  });

  it('builds the contract DriveIdentity', () => {
    expect(toDriveIdentity(parseStandardInquiry(tgt), 'SN42')).toEqual({
      peripheralDeviceType: 1,
      vendor: 'IET',
      product: 'VIRTUAL-TAPE',
      revision: '0001',
      serial: 'SN42',
    });
  });
});

describe('Unit Serial Number VPD page (80h)', () => {
  it('returns the serial, trimmed, limited to PAGE LENGTH', () => {
    const page = Uint8Array.from([0x01, 0x80, 0x00, 0x0a, ...ascii('HU1234567 '), 0xff, 0xff]);
    expect(parseUnitSerialNumber(page)).toBe('HU1234567');
  });

  it('rejects another page and a page shorter than its length', () => {
    const other = parseError(() => parseUnitSerialNumber(Uint8Array.from([0x01, 0x83, 0x00, 0x00])));
    expect(other.code).toBe('RESPONSE_MALFORMED');
    expect(other.field).toBe('pageCode');
    const cut = parseError(() => parseUnitSerialNumber(Uint8Array.from([0x01, 0x80, 0x00, 0x08, 0x41])));
    expect(cut.code).toBe('RESPONSE_TOO_SHORT');
    expect(parseError(() => parseUnitSerialNumber(Uint8Array.from([0x01, 0x80]))).code).toBe(
      'RESPONSE_TOO_SHORT',
    );
  });
});
