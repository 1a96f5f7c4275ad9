import { crc32c } from '@node-rs/crc32';
import { ByteReader, ByteWriter, magicBytes, readMagic } from './bytes';
import { FORMAT_VERSION, RECORD_OVERHEAD, RECORD_PREFIX_LENGTH } from './constants';
import { TapeFormatError } from './errors';

/**
 * Every metadata record (label, fragment header, image start, trailer, fragment end, empty header)
 * is one tape block in the same envelope:
 *
 *   0  magic (4 ASCII)   4  version u16   6  flags u16 (0)   8  body length L u32
 *   12 body (L bytes)    12+L  CRC32C u32 of bytes 0 .. 12+L-1
 */
export function encodeRecord(magic: string, body: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  w.bytes(magicBytes(magic)).u16(FORMAT_VERSION).u16(0).u32(body.length).bytes(body);
  const head = w.finish();
  const out = new Uint8Array(head.length + 4);
  out.set(head);
  new DataView(out.buffer).setUint32(head.length, crc32c(head));
  return out;
}

/**
 * Checks a record's envelope (magic, length, CRC, then version: the CRC is checked first so a flipped
 * bit anywhere but the magic and length reports `BAD_CRC`) and returns a reader over its body.
 */
export function openRecord(block: Uint8Array, magic: string): ByteReader {
  const found = readMagic(block);
  if (found !== magic) {
    throw new TapeFormatError('BAD_MAGIC', `expected ${magic} record, found ${describeMagic(block)}`, {
      field: 'magic',
      offset: 0,
    });
  }
  if (block.length < RECORD_OVERHEAD) {
    throw new TapeFormatError(
      'TRUNCATED',
      `${magic} record of ${block.length} bytes is shorter than its envelope`,
      {
        field: 'envelope',
        offset: block.length,
      },
    );
  }
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const bodyLength = view.getUint32(8);
  const expected = RECORD_OVERHEAD + bodyLength;
  if (block.length < expected) {
    throw new TapeFormatError(
      'TRUNCATED',
      `${magic} record is ${block.length} bytes, its length says ${expected}`,
      {
        field: 'bodyLength',
        offset: 8,
      },
    );
  }
  if (block.length > expected) {
    throw new TapeFormatError(
      'TRAILING_BYTES',
      `${magic} record has ${block.length - expected} bytes after its CRC`,
      {
        field: 'bodyLength',
        offset: expected,
      },
    );
  }
  const crcAt = RECORD_PREFIX_LENGTH + bodyLength;
  const stored = view.getUint32(crcAt);
  const actual = crc32c(block.subarray(0, crcAt));
  if (stored !== actual) {
    throw new TapeFormatError('BAD_CRC', `${magic} record CRC32C mismatch`, {
      field: 'record',
      offset: crcAt,
    });
  }
  const version = view.getUint16(4);
  if (version !== FORMAT_VERSION) {
    throw new TapeFormatError('BAD_VERSION', `${magic} record has format version ${version}`, {
      field: 'version',
      offset: 4,
    });
  }
  return new ByteReader(block, RECORD_PREFIX_LENGTH, crcAt);
}

/** Ensures a record body was read to its end (a longer body is a format error, not an extension point). */
export function closeRecord(reader: ByteReader, magic: string): void {
  if (reader.remaining !== 0) {
    throw new TapeFormatError('TRAILING_BYTES', `${magic} body has ${reader.remaining} unread bytes`, {
      field: 'body',
      offset: reader.pos,
    });
  }
}

export function describeMagic(block: Uint8Array): string {
  const bytes = Array.from(block.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return block.length === 0 ? 'an empty block' : `bytes ${bytes}`;
}
