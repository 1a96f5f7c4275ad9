/**
 * INQUIRY parameter data (SPC-4): standard inquiry data and the Unit Serial Number VPD page (80h),
 * and the contract's `DriveIdentity` built from them.
 */
import { asciiField, bit, byteAt, getUint } from './bytes';
import type { DriveIdentity } from './device';
import { ResponseParseError } from './errors';
import { Opcode } from './opcodes';

/** SPC peripheral device type of a sequential-access (tape) device. */
export const PERIPHERAL_TYPE_SEQUENTIAL_ACCESS = 0x01;

export interface StandardInquiry {
  /** 0 = a device of this type is connected; 1 = supported but not connected; 3 = no device. */
  peripheralQualifier: number;
  /** 01h for tape. */
  peripheralDeviceType: number;
  /** RMB: the medium is removable. */
  removable: boolean;
  /** VERSION: the SPC version claimed (e.g. 06h = SPC-4). */
  version: number;
  normaca: boolean;
  hisup: boolean;
  responseDataFormat: number;
  /** ADDITIONAL LENGTH (n-4). */
  additionalLength: number;
  /** CMDQUE: the device supports command queuing. */
  commandQueuing: boolean;
  /** T10 VENDOR IDENTIFICATION, trimmed. */
  vendor: string;
  /** PRODUCT IDENTIFICATION, trimmed. */
  product: string;
  /** PRODUCT REVISION LEVEL, trimmed. */
  revision: string;
}

function tooShort(response: string, length: number, needed: number): ResponseParseError {
  return new ResponseParseError('RESPONSE_TOO_SHORT', `${length} bytes, need ${needed}`, {
    response,
    length,
    opcode: Opcode.INQUIRY,
  });
}

/** Parses standard INQUIRY data; needs the first 36 bytes (through PRODUCT REVISION LEVEL). */
export function parseStandardInquiry(buf: Uint8Array): StandardInquiry {
  if (buf.length < 36) throw tooShort('standard INQUIRY data', buf.length, 36);
  const b0 = byteAt(buf, 0);
  const b3 = byteAt(buf, 3);
  return {
    peripheralQualifier: b0 >>> 5,
    peripheralDeviceType: b0 & 0x1f,
    removable: bit(byteAt(buf, 1), 7),
    version: byteAt(buf, 2),
    normaca: bit(b3, 5),
    hisup: bit(b3, 4),
    responseDataFormat: b3 & 0x0f,
    additionalLength: byteAt(buf, 4),
    commandQueuing: bit(byteAt(buf, 7), 1),
    vendor: asciiField(buf, 8, 8),
    product: asciiField(buf, 16, 16),
    revision: asciiField(buf, 32, 4),
  };
}

/** Parses the Unit Serial Number VPD page (80h) and returns the serial number, trimmed. */
export function parseUnitSerialNumber(buf: Uint8Array): string {
  const response = 'Unit Serial Number VPD page';
  if (buf.length < 4) throw tooShort(response, buf.length, 4);
  if (byteAt(buf, 1) !== 0x80) {
    throw new ResponseParseError(
      'RESPONSE_MALFORMED',
      `page code 0x${byteAt(buf, 1).toString(16)}, expected 0x80`,
      {
        response,
        field: 'pageCode',
        length: buf.length,
        opcode: Opcode.INQUIRY,
      },
    );
  }
  const pageLength = getUint(buf, 2, 2);
  if (buf.length < 4 + pageLength) throw tooShort(response, buf.length, 4 + pageLength);
  return asciiField(buf, 4, pageLength);
}

/** The contract's `DriveIdentity` from standard inquiry data and the serial number. */
export function toDriveIdentity(inquiry: StandardInquiry, serial: string): DriveIdentity {
  return {
    peripheralDeviceType: inquiry.peripheralDeviceType,
    vendor: inquiry.vendor,
    product: inquiry.product,
    revision: inquiry.revision,
    serial,
  };
}
