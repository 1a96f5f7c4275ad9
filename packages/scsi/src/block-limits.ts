/**
 * READ BLOCK LIMITS parameter data (SSC-4): the 6-byte block limits (MLOI=0) and the 20-byte
 * maximum logical object identifier form (MLOI=1).
 */
import { byteAt, getU64, getUint } from './bytes';
import { ResponseParseError } from './errors';
import { Opcode } from './opcodes';

export interface BlockLimits {
  /** GRANULARITY: block lengths should be multiples of 2^granularity bytes. */
  granularity: number;
  /** MAXIMUM BLOCK LENGTH LIMIT in bytes (0 = no limit reported). */
  maxBlockLength: number;
  /** MINIMUM BLOCK LENGTH LIMIT in bytes. */
  minBlockLength: number;
  /** max == min: the device supports only fixed blocks of that length. */
  fixedOnly: boolean;
}

function tooShort(response: string, length: number, needed: number): ResponseParseError {
  return new ResponseParseError('RESPONSE_TOO_SHORT', `${length} bytes, need ${needed}`, {
    response,
    length,
    opcode: Opcode.READ_BLOCK_LIMITS,
  });
}

/** Parses the 6-byte READ BLOCK LIMITS data. */
export function parseReadBlockLimits(buf: Uint8Array): BlockLimits {
  if (buf.length < 6) throw tooShort('READ BLOCK LIMITS data', buf.length, 6);
  const maxBlockLength = getUint(buf, 1, 3);
  const minBlockLength = getUint(buf, 4, 2);
  return {
    granularity: byteAt(buf, 0) & 0x1f,
    maxBlockLength,
    minBlockLength,
    fixedOnly: maxBlockLength !== 0 && maxBlockLength === minBlockLength,
  };
}

/** Parses the 20-byte MLOI=1 answer: the largest logical object identifier the device supports. */
export function parseMaximumLogicalObjectIdentifier(buf: Uint8Array): bigint {
  if (buf.length < 20) throw tooShort('READ BLOCK LIMITS MLOI data', buf.length, 20);
  return getU64(buf, 12);
}
