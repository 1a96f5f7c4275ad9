/**
 * READ POSITION parameter data (SSC-4): short form (service action 00h, 20 bytes), long form
 * (06h, 32 bytes) and extended form (08h, 32 bytes), and the conversion to the contract's
 * `TapePosition`.
 */
import { bit, byteAt, getU64, getUint } from './bytes';
import type { TapePosition } from './device';
import { ResponseParseError } from './errors';
import { Opcode } from './opcodes';

/** Flags byte 0 of the short and extended forms. */
interface ShortFlags {
  /** Beginning of partition. */
  bop: boolean;
  /** Between early warning and end of partition. */
  eop: boolean;
  /** BCU (LOCU in SSC-4): the count of logical objects in the buffer is unknown. */
  bcu: boolean;
  /** BYCU: the count of bytes in the buffer is unknown. */
  bycu: boolean;
  /** BPU (LOLU in SSC-4): the logical object locations are unknown. */
  bpu: boolean;
  /** PERR: a position field overflowed; the values are not reliable. */
  perr: boolean;
  /** BPEW: beyond the programmable early warning point. */
  bpew: boolean;
}

export interface ShortFormPosition extends ShortFlags {
  form: 'short';
  partition: number;
  /** Logical object identifier of the current (host-side) position. */
  firstLogicalObjectLocation: number;
  /** Logical object identifier of the next object to be written to the medium from the buffer. */
  lastLogicalObjectLocation: number;
  /** Logical objects in the drive buffer not yet on the medium. */
  objectsInBuffer: number;
  /** Bytes in the drive buffer not yet on the medium. */
  bytesInBuffer: number;
}

export interface ExtendedFormPosition extends ShortFlags {
  form: 'extended';
  partition: number;
  additionalLength: number;
  objectsInBuffer: number;
  firstLogicalObjectLocation: number;
  lastLogicalObjectLocation: number;
  bytesInBuffer: number;
}

export interface LongFormPosition {
  form: 'long';
  bop: boolean;
  eop: boolean;
  /** MPU: the partition number is unknown. */
  mpu: boolean;
  /** LONU: the logical object number and logical file identifier are unknown. */
  lonu: boolean;
  bpew: boolean;
  partition: number;
  /** Logical object number of the current position (blocks and filemarks from BOP). */
  logicalObjectNumber: number;
  /** Logical file identifier: filemarks between BOP and the current position. */
  logicalFileIdentifier: number;
}

export type ReadPositionData = ShortFormPosition | LongFormPosition | ExtendedFormPosition;

function need(buf: Uint8Array, length: number, response: string): void {
  if (buf.length < length) {
    throw new ResponseParseError('RESPONSE_TOO_SHORT', `${buf.length} bytes, need ${length}`, {
      response,
      length: buf.length,
      opcode: Opcode.READ_POSITION,
    });
  }
}

function u64(buf: Uint8Array, offset: number, response: string, field: string): number {
  const value = getU64(buf, offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ResponseParseError('RESPONSE_VALUE_TOO_LARGE', `${field} = ${value} exceeds 2^53-1`, {
      response,
      field,
      length: buf.length,
      opcode: Opcode.READ_POSITION,
    });
  }
  return Number(value);
}

function shortFlags(b0: number): ShortFlags {
  return {
    bop: bit(b0, 7),
    eop: bit(b0, 6),
    bcu: bit(b0, 5),
    bycu: bit(b0, 4),
    bpu: bit(b0, 2),
    perr: bit(b0, 1),
    bpew: bit(b0, 0),
  };
}

/** Parses the short form (20 bytes). */
export function parseReadPositionShort(buf: Uint8Array): ShortFormPosition {
  need(buf, 20, 'READ POSITION short form');
  return {
    form: 'short',
    ...shortFlags(byteAt(buf, 0)),
    partition: byteAt(buf, 1),
    firstLogicalObjectLocation: getUint(buf, 4, 4),
    lastLogicalObjectLocation: getUint(buf, 8, 4),
    objectsInBuffer: getUint(buf, 13, 3),
    bytesInBuffer: getUint(buf, 16, 4),
  };
}

/** Parses the long form (32 bytes). */
export function parseReadPositionLong(buf: Uint8Array): LongFormPosition {
  const response = 'READ POSITION long form';
  need(buf, 32, response);
  const b0 = byteAt(buf, 0);
  return {
    form: 'long',
    bop: bit(b0, 7),
    eop: bit(b0, 6),
    mpu: bit(b0, 3),
    lonu: bit(b0, 2),
    bpew: bit(b0, 0),
    partition: getUint(buf, 4, 4),
    logicalObjectNumber: u64(buf, 8, response, 'logicalObjectNumber'),
    logicalFileIdentifier: u64(buf, 16, response, 'logicalFileIdentifier'),
  };
}

/** Parses the extended form (32 bytes). */
export function parseReadPositionExtended(buf: Uint8Array): ExtendedFormPosition {
  const response = 'READ POSITION extended form';
  need(buf, 32, response);
  return {
    form: 'extended',
    ...shortFlags(byteAt(buf, 0)),
    partition: byteAt(buf, 1),
    additionalLength: getUint(buf, 2, 2),
    objectsInBuffer: getUint(buf, 5, 3),
    firstLogicalObjectLocation: u64(buf, 8, response, 'firstLogicalObjectLocation'),
    lastLogicalObjectLocation: u64(buf, 16, response, 'lastLogicalObjectLocation'),
    bytesInBuffer: u64(buf, 24, response, 'bytesInBuffer'),
  };
}

/**
 * The contract's `TapePosition` for parsed READ POSITION data. The short and extended forms give
 * the buffered counts (unless BCU/BYCU say they are unknown) but no file number; the long form
 * gives the file number but no buffered counts. Throws `ResponseParseError` with code
 * `POSITION_UNKNOWN` when the device says it does not know the position (BPU/LONU/MPU) or that it
 * overflowed (PERR).
 */
export function toTapePosition(data: ReadPositionData): TapePosition {
  if (data.form === 'long') {
    if (data.lonu || data.mpu) {
      throw new ResponseParseError('POSITION_UNKNOWN', `the device reports ${data.lonu ? 'LONU' : 'MPU'}`, {
        response: 'READ POSITION long form',
        field: data.lonu ? 'lonu' : 'mpu',
        length: 32,
        opcode: Opcode.READ_POSITION,
      });
    }
    return {
      partition: data.partition,
      blockNumber: data.logicalObjectNumber,
      fileNumber: data.logicalFileIdentifier,
      bop: data.bop,
      eop: data.eop,
      blocksInBuffer: undefined,
      bytesInBuffer: undefined,
    };
  }
  if (data.bpu || data.perr) {
    throw new ResponseParseError('POSITION_UNKNOWN', `the device reports ${data.bpu ? 'BPU' : 'PERR'}`, {
      response: `READ POSITION ${data.form} form`,
      field: data.bpu ? 'bpu' : 'perr',
      length: data.form === 'short' ? 20 : 32,
      opcode: Opcode.READ_POSITION,
    });
  }
  return {
    partition: data.partition,
    blockNumber: data.firstLogicalObjectLocation,
    fileNumber: undefined,
    bop: data.bop,
    eop: data.eop,
    blocksInBuffer: data.bcu ? undefined : data.objectsInBuffer,
    bytesInBuffer: data.bycu ? undefined : data.bytesInBuffer,
  };
}
