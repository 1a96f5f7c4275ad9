import { TapeFormatError } from './errors';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Appends big-endian fields to a growing buffer. Used only for small metadata records. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  get length(): number {
    return this.len;
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(value: number): this {
    this.ensure(1);
    this.view.setUint8(this.len, value);
    this.len += 1;
    return this;
  }

  u16(value: number): this {
    this.ensure(2);
    this.view.setUint16(this.len, value);
    this.len += 2;
    return this;
  }

  u32(value: number): this {
    this.ensure(4);
    this.view.setUint32(this.len, value >>> 0);
    this.len += 4;
    return this;
  }

  /** Writes a non-negative safe integer as an unsigned 64-bit field. */
  u64(value: number): this {
    this.ensure(8);
    this.view.setBigUint64(this.len, BigInt(value));
    this.len += 8;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.ensure(value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
    return this;
  }

  /** A u16 byte length followed by the UTF-8 bytes. */
  string(value: string): this {
    const bytes = encoder.encode(value);
    return this.u16(bytes.length).bytes(bytes);
  }

  /** A copy of the written bytes. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** The UTF-8 byte length of a string, for limit checks before encoding. */
export function utf8Length(value: string): number {
  return encoder.encode(value).length;
}

/** Reads big-endian fields; any read past the end throws `TRUNCATED` naming the field. */
export class ByteReader {
  private readonly view: DataView;
  pos: number;

  constructor(
    private readonly data: Uint8Array,
    start = 0,
    private readonly end = data.length,
    /** Added to `pos` in error offsets, so offsets are relative to the whole block. */
    private readonly base = 0,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(count: number, field: string): void {
    if (this.pos + count > this.end) {
      throw new TapeFormatError('TRUNCATED', `block ends inside field ${field}`, {
        field,
        offset: this.base + this.pos,
      });
    }
  }

  u8(field: string): number {
    this.need(1, field);
    const value = this.view.getUint8(this.pos);
    this.pos += 1;
    return value;
  }

  u16(field: string): number {
    this.need(2, field);
    const value = this.view.getUint16(this.pos);
    this.pos += 2;
    return value;
  }

  u32(field: string): number {
    this.need(4, field);
    const value = this.view.getUint32(this.pos);
    this.pos += 4;
    return value;
  }

  /** An unsigned 64-bit field; values beyond Number.MAX_SAFE_INTEGER are rejected as `BAD_FIELD`. */
  u64(field: string): number {
    this.need(8, field);
    const value = this.view.getBigUint64(this.pos);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new TapeFormatError('BAD_FIELD', `${field} exceeds 2^53-1`, {
        field,
        offset: this.base + this.pos,
      });
    }
    this.pos += 8;
    return Number(value);
  }

  bytes(count: number, field: string): Uint8Array {
    this.need(count, field);
    const value = this.data.slice(this.pos, this.pos + count);
    this.pos += count;
    return value;
  }

  string(field: string, maxBytes: number): string {
    const at = this.base + this.pos;
    const length = this.u16(field);
    if (length > maxBytes) {
      throw new TapeFormatError('BAD_FIELD', `${field} is ${length} bytes, more than ${maxBytes}`, {
        field,
        offset: at,
      });
    }
    this.need(length, field);
    try {
      const value = decoder.decode(this.data.subarray(this.pos, this.pos + length));
      this.pos += length;
      return value;
    } catch {
      throw new TapeFormatError('BAD_FIELD', `${field} is not valid UTF-8`, { field, offset: at });
    }
  }
}

/** Four ASCII bytes of a magic. */
export function magicBytes(magic: string): Uint8Array {
  return encoder.encode(magic);
}

/** The magic at the start of a block as text, or undefined when the block is shorter than 4 bytes. */
export function readMagic(block: Uint8Array): string | undefined {
  if (block.length < 4) return undefined;
  return String.fromCharCode(block[0]!, block[1]!, block[2]!, block[3]!);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** 16 bytes of a textual UUID. */
export function uuidToBytes(uuid: string, field: string): Uint8Array {
  if (!UUID_RE.test(uuid)) {
    throw new TapeFormatError('INVALID_ARGUMENT', `${field} must be a UUID (8-4-4-4-12 hex), got ${uuid}`, {
      field,
    });
  }
  return Uint8Array.from(Buffer.from(uuid.replaceAll('-', ''), 'hex'));
}

/** Lower-case textual UUID of 16 bytes. */
export function bytesToUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Checks an integer argument; throws `INVALID_ARGUMENT` naming the option. */
export function checkInteger(value: number, field: string, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TapeFormatError(
      'INVALID_ARGUMENT',
      `${field} must be an integer in [${min}, ${max}], got ${value}`,
      {
        field,
      },
    );
  }
}
