/**
 * A tiny MessagePack writer written from the format specification, independent of msgpackr, so
 * that golden fixtures are not produced by the code under test. Every function returns the bytes
 * of one value; `map` and `arr` take already built values.
 */

export type Bytes = Uint8Array;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function be(value: number | bigint, width: 1 | 2 | 4 | 8): number[] {
  let v = BigInt.asUintN(width * 8, BigInt(value));
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

export const nil = (): Bytes => Uint8Array.of(0xc0);
export const bool = (b: boolean): Bytes => Uint8Array.of(b ? 0xc3 : 0xc2);

/** Smallest unsigned form: positive fixint, uint8, uint16, uint32. */
export function uint(n: number): Bytes {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new RangeError(`uint: ${n}`);
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0xcc, n);
  if (n < 0x10000) return Uint8Array.of(0xcd, ...be(n, 2));
  return Uint8Array.of(0xce, ...be(n, 4));
}

/** Smallest signed form for a negative number: negative fixint, int8, int16, int32. */
export function negint(n: number): Bytes {
  if (!Number.isInteger(n) || n >= 0 || n < -(2 ** 31)) throw new RangeError(`negint: ${n}`);
  if (n >= -32) return Uint8Array.of(0x100 + n);
  if (n >= -128) return Uint8Array.of(0xd0, ...be(n, 1));
  if (n >= -32768) return Uint8Array.of(0xd1, ...be(n, 2));
  return Uint8Array.of(0xd2, ...be(n, 4));
}

export const uint64 = (n: number | bigint): Bytes => Uint8Array.of(0xcf, ...be(n, 8));
export const int64 = (n: number | bigint): Bytes => Uint8Array.of(0xd3, ...be(n, 8));
export const float32 = (n: number): Bytes => {
  const b = new Uint8Array(5);
  b[0] = 0xca;
  new DataView(b.buffer).setFloat32(1, n);
  return b;
};
export const float64 = (n: number): Bytes => {
  const b = new Uint8Array(9);
  b[0] = 0xcb;
  new DataView(b.buffer).setFloat64(1, n);
  return b;
};

/** fixstr, str8, str16 by UTF-8 length. */
export function str(s: string): Bytes {
  const utf8 = new TextEncoder().encode(s);
  const n = utf8.length;
  const head =
    n < 32 ? [0xa0 | n] : n < 0x100 ? [0xd9, n] : n < 0x10000 ? [0xda, ...be(n, 2)] : [0xdb, ...be(n, 4)];
  return concat([Uint8Array.from(head), utf8]);
}

/** bin8, bin16, bin32. */
export function bin(data: Uint8Array): Bytes {
  const n = data.length;
  const head = n < 0x100 ? [0xc4, n] : n < 0x10000 ? [0xc5, ...be(n, 2)] : [0xc6, ...be(n, 4)];
  return concat([Uint8Array.from(head), data]);
}

/** fixarray, array16, array32. */
export function arr(items: readonly Bytes[]): Bytes {
  const n = items.length;
  const head = n < 16 ? [0x90 | n] : n < 0x10000 ? [0xdc, ...be(n, 2)] : [0xdd, ...be(n, 4)];
  return concat([Uint8Array.from(head), ...items]);
}

/** fixmap, map16, map32 with string keys, in the given order. */
export function map(entries: readonly (readonly [string, Bytes])[]): Bytes {
  const n = entries.length;
  const head = n < 16 ? [0x80 | n] : n < 0x10000 ? [0xde, ...be(n, 2)] : [0xdf, ...be(n, 4)];
  return concat([Uint8Array.from(head), ...entries.flatMap(([k, v]) => [str(k), v])]);
}

/** Raw bytes, for hand-made malformed frames. */
export const raw = (...bytes: number[]): Bytes => Uint8Array.from(bytes);
export { concat };

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
