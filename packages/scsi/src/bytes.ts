/**
 * Big-endian field access and argument checks shared by the CDB builders and
 * the response parsers. SCSI puts every multi-byte field in big-endian order.
 */
import { InvalidArgumentError } from './errors';

/** Throws `InvalidArgumentError` naming `name` unless `value` is an integer in `[min, max]`. */
export function checkInt(name: string, value: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(name, value, `an integer in ${min}..${max}`);
  }
  return value;
}

/** Throws unless `value` is a boolean (options arrive from untyped callers too). */
export function checkBool(name: string, value: boolean | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(name, value, 'a boolean');
  return value;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** Accepts a non-negative safe integer or a bigint in 0..2^64-1; returns it as a bigint. */
export function checkU64(name: string, value: number | bigint): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) throw new InvalidArgumentError(name, value, 'an integer in 0..2^64-1');
    return value;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(name, value, 'a non-negative safe integer or a bigint below 2^64');
  }
  return BigInt(value);
}

/** Accepts a safe integer or a bigint in -2^63..2^63-1; returns it as a bigint. */
export function checkS64(name: string, value: number | bigint): bigint {
  const min = -(1n << 63n);
  const max = (1n << 63n) - 1n;
  if (typeof value === 'bigint') {
    if (value < min || value > max)
      throw new InvalidArgumentError(name, value, 'an integer in -2^63..2^63-1');
    return value;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(name, value, 'a safe integer or a bigint');
  }
  return BigInt(value);
}

export function putU16(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = (value >>> 8) & 0xff;
  buf[offset + 1] = value & 0xff;
}

export function putU24(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = (value >>> 16) & 0xff;
  buf[offset + 1] = (value >>> 8) & 0xff;
  buf[offset + 2] = value & 0xff;
}

export function putU32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = (value >>> 24) & 0xff;
  buf[offset + 1] = (value >>> 16) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}

/** Writes the low 64 bits of `value` (two's complement for negatives). */
export function putU64(buf: Uint8Array, offset: number, value: bigint): void {
  let v = BigInt.asUintN(64, value);
  for (let i = 7; i >= 0; i--) {
    buf[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Reads an unsigned big-endian integer of `length` bytes (≤ 6); missing bytes read as 0. */
export function getUint(buf: Uint8Array, offset: number, length: number): number {
  let v = 0;
  for (let i = 0; i < length; i++) v = v * 256 + (buf[offset + i] ?? 0);
  return v;
}

/** Reads an unsigned 64-bit big-endian integer; missing bytes read as 0. */
export function getU64(buf: Uint8Array, offset: number): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(buf[offset + i] ?? 0);
  return v;
}

export function byteAt(buf: Uint8Array, offset: number): number {
  return buf[offset] ?? 0;
}

export function bit(byte: number, position: number): boolean {
  return ((byte >>> position) & 1) === 1;
}

/** `value` as a number when it is a safe integer, otherwise `undefined`. */
export function toSafeNumber(value: bigint): number | undefined {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(value)
    : undefined;
}

/** ASCII text of a fixed-width SPC field with trailing (and leading) spaces and NULs removed. */
export function asciiField(buf: Uint8Array, offset: number, length: number): string {
  let s = '';
  const end = Math.min(buf.length, offset + length);
  for (let i = offset; i < end; i++) s += String.fromCharCode(buf[i] ?? 0);
  return s.replace(/[\s\0]+$/u, '').replace(/^[\s\0]+/u, '');
}
