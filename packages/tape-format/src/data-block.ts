import { crc32c } from '@node-rs/crc32';
import { checkInteger, magicBytes, readMagic } from './bytes';
import { DATA_HEADER_LENGTH, FORMAT_VERSION, MAX_BLOCK_PAYLOAD_SIZE, Magic } from './constants';
import { describeMagic } from './envelope';
import { TapeFormatError } from './errors';

/**
 * Data block layout (all big-endian):
 *
 *   0  magic "TDDB"      4  version u16        6  header length u16 (32)
 *   8  tag u16           10 flags u16 (0)      12 payload length P u32
 *   16 sequence u64      24 payload CRC32C u32 28 header CRC32C u32 of bytes 0..27
 *   32 payload (P bytes)
 */
export interface DataBlockHeader {
  tag: number;
  sequence: number;
  payloadLength: number;
  payloadCrc: number;
}

export interface DataBlock extends DataBlockHeader {
  /** A view into the block, not a copy. */
  payload: Uint8Array;
}

const DATA_MAGIC = magicBytes(Magic.dataBlock);

/**
 * Fills the 32-byte header at the start of `block` for the payload at `block[32 .. 32+payloadLength)`.
 * The framer writes payload bytes in place and calls this, so a block is built without a second copy.
 */
export function writeDataHeader(
  block: Uint8Array,
  tag: number,
  sequence: number,
  payloadLength: number,
): void {
  const view = new DataView(block.buffer, block.byteOffset, DATA_HEADER_LENGTH);
  block.set(DATA_MAGIC, 0);
  view.setUint16(4, FORMAT_VERSION);
  view.setUint16(6, DATA_HEADER_LENGTH);
  view.setUint16(8, tag);
  view.setUint16(10, 0);
  view.setUint32(12, payloadLength);
  view.setBigUint64(16, BigInt(sequence));
  const payload = block.subarray(DATA_HEADER_LENGTH, DATA_HEADER_LENGTH + payloadLength);
  view.setUint32(24, crc32c(payload));
  view.setUint32(28, crc32c(block.subarray(0, 28)));
}

/** One framed data block holding a copy of `payload`. */
export function encodeDataBlock(tag: number, sequence: number, payload: Uint8Array): Uint8Array {
  checkInteger(tag, 'tag', 0, 0xffff);
  checkInteger(sequence, 'sequence', 0, Number.MAX_SAFE_INTEGER);
  checkInteger(payload.length, 'payload.length', 1, MAX_BLOCK_PAYLOAD_SIZE);
  const block = new Uint8Array(DATA_HEADER_LENGTH + payload.length);
  block.set(payload, DATA_HEADER_LENGTH);
  writeDataHeader(block, tag, sequence, payload.length);
  return block;
}

/**
 * Decodes and checks the header of a data block (magic, header CRC, version, lengths). Does not read
 * the payload: a reader that skips other images' blocks in an MPX fragment pays only for this.
 */
export function decodeDataHeader(block: Uint8Array): DataBlockHeader {
  if (readMagic(block) !== Magic.dataBlock) {
    throw new TapeFormatError('BAD_MAGIC', `expected data block, found ${describeMagic(block)}`, {
      field: 'magic',
      offset: 0,
    });
  }
  if (block.length < DATA_HEADER_LENGTH) {
    throw new TapeFormatError('TRUNCATED', `data block of ${block.length} bytes is shorter than its header`, {
      field: 'header',
      offset: block.length,
    });
  }
  const view = new DataView(block.buffer, block.byteOffset, DATA_HEADER_LENGTH);
  if (view.getUint32(28) !== crc32c(block.subarray(0, 28))) {
    throw new TapeFormatError('BAD_CRC', 'data block header CRC32C mismatch', {
      field: 'header',
      offset: 28,
    });
  }
  const version = view.getUint16(4);
  if (version !== FORMAT_VERSION) {
    throw new TapeFormatError('BAD_VERSION', `data block has format version ${version}`, {
      field: 'version',
      offset: 4,
    });
  }
  const tag = view.getUint16(8);
  const headerLength = view.getUint16(6);
  const flags = view.getUint16(10);
  if (headerLength !== DATA_HEADER_LENGTH || flags !== 0) {
    throw new TapeFormatError('BAD_FIELD', `data block header length ${headerLength} / flags ${flags}`, {
      field: headerLength !== DATA_HEADER_LENGTH ? 'headerLength' : 'flags',
      offset: headerLength !== DATA_HEADER_LENGTH ? 6 : 10,
      tag,
    });
  }
  const payloadLength = view.getUint32(12);
  const big = view.getBigUint64(16);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new TapeFormatError('BAD_FIELD', 'sequence exceeds 2^53-1', { field: 'sequence', offset: 16, tag });
  }
  const sequence = Number(big);
  const expected = DATA_HEADER_LENGTH + payloadLength;
  if (payloadLength === 0) {
    throw new TapeFormatError('BAD_FIELD', 'data block with an empty payload', {
      field: 'payloadLength',
      offset: 12,
      tag,
      sequence,
    });
  }
  if (block.length < expected) {
    throw new TapeFormatError(
      'TRUNCATED',
      `data block is ${block.length} bytes, its header says ${expected}`,
      {
        field: 'payload',
        offset: block.length,
        tag,
        sequence,
      },
    );
  }
  if (block.length > expected) {
    throw new TapeFormatError(
      'TRAILING_BYTES',
      `data block has ${block.length - expected} bytes after its payload`,
      {
        field: 'payload',
        offset: expected,
        tag,
        sequence,
      },
    );
  }
  return { tag, sequence, payloadLength, payloadCrc: view.getUint32(24) };
}

/** Checks the payload CRC of a block whose header was decoded; returns the payload view. */
export function checkDataPayload(block: Uint8Array, header: DataBlockHeader): Uint8Array {
  const payload = block.subarray(DATA_HEADER_LENGTH, DATA_HEADER_LENGTH + header.payloadLength);
  if (crc32c(payload) !== header.payloadCrc) {
    throw new TapeFormatError(
      'BAD_CRC',
      `payload CRC32C mismatch in data block tag ${header.tag} sequence ${header.sequence}`,
      { field: 'payload', offset: DATA_HEADER_LENGTH, tag: header.tag, sequence: header.sequence },
    );
  }
  return payload;
}

/** Decodes a data block and verifies both CRCs. */
export function decodeDataBlock(block: Uint8Array): DataBlock {
  const header = decodeDataHeader(block);
  return { ...header, payload: checkDataPayload(block, header) };
}
