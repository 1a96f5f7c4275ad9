/**
 * Pure codec for tgt's SSC backing-store file (the format `tgtimg --op new --device-type tape`
 * creates and tgtd's `ssc` backing store serves).
 *
 * Layout:
 * ```
 * offset 0     block header (48 bytes), type BOT, blk_sz = capacity in MiB, next = 1152
 * offset 48    MAM (medium auxiliary memory, 1104 bytes)
 * offset 1152  block header of object 1 (or EOD on a blank cartridge)
 *              [data bytes, ondisk_sz of them, for a data block]
 *              block header of object 2 ... up to the EOD header, whose next == curr
 * ```
 * A block header is: checksum (4 bytes), ondisk_sz u32, blk_sz u32, blk_type u32, blk_num u64,
 * prev u64, curr u64, next u64. Every integer is big-endian; the checksum is the standard CRC32C
 * of the 44 bytes after it, stored little-endian (tgt stores the native-endian word of an x86 host).
 * Blocks form a doubly linked list through absolute file offsets: `curr` is the header's own offset,
 * `prev` the previous header's (0, the BOT header, for the first object), `next` the following one.
 * Block numbers count from the BOT header (0), so logical object `i` has blk_num `i + 1`.
 */

import { crc32c } from '@node-rs/crc32';

export const BLOCK_HEADER_SIZE = 48;
export const MAM_SIZE = 1104;
/** Offset of the first header after BOT + MAM. */
export const FIRST_BLOCK_OFFSET = BLOCK_HEADER_SIZE + MAM_SIZE;
/** `tape_fmt_version` in the MAM; tgtimg refuses any other value. */
export const TAPE_FORMAT_VERSION = 2;
/** The fixed size of a fresh cartridge: BOT header + MAM + EOD header. */
export const BLANK_CARTRIDGE_SIZE = FIRST_BLOCK_OFFSET + BLOCK_HEADER_SIZE;
const MIB = 1024 * 1024;

/** `blk_type` values (bit flags in tgt, used as plain values). */
export const BlockType = {
  NOOP: 0x00,
  COMPRESSED_DATA: 0x01,
  UNCOMPRESSED_DATA: 0x02,
  ENCRYPTED_DATA: 0x04,
  BOT: 0x10,
  EOD: 0x20,
  FILEMARK: 0x40,
  SETMARK: 0x80,
} as const;

/** MAM `medium_type` values. */
export const MediumType = {
  UNSPECIFIED: 0,
  DATA: 1,
  CLEAN: 2,
  DIAGNOSTICS: 3,
  WORM: 4,
  MICROCODE: 5,
} as const;

export interface BlockHeader {
  /** Bytes of data stored after the header (equal to blockSize for uncompressed data). */
  diskSize: number;
  /** Logical block length; capacity in MiB for the BOT header. */
  blockSize: number;
  type: number;
  blockNumber: number;
  prev: number;
  curr: number;
  next: number;
}

export interface DecodedBlockHeader extends BlockHeader {
  /** Whether the stored CRC32C matches the header bytes. */
  checksumValid: boolean;
}

function putU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / 0x1_0000_0000));
  view.setUint32(at + 4, value >>> 0);
}

/** Exact for values below 2^53; larger values come back rounded, which the chain checks then reject. */
function getU64(view: DataView, at: number): number {
  return view.getUint32(at) * 0x1_0000_0000 + view.getUint32(at + 4);
}

/** Encodes a block header (with its checksum) into `target` at `at`, or into a new 48-byte array. */
export function encodeBlockHeader(
  header: BlockHeader,
  target: Uint8Array = new Uint8Array(BLOCK_HEADER_SIZE),
  at = 0,
): Uint8Array {
  const view = new DataView(target.buffer, target.byteOffset + at, BLOCK_HEADER_SIZE);
  view.setUint32(4, header.diskSize);
  view.setUint32(8, header.blockSize);
  view.setUint32(12, header.type);
  putU64(view, 16, header.blockNumber);
  putU64(view, 24, header.prev);
  putU64(view, 32, header.curr);
  putU64(view, 40, header.next);
  const body = target.subarray(at + 4, at + BLOCK_HEADER_SIZE);
  view.setUint32(0, crc32c(body), true);
  return target;
}

/** Decodes the 48-byte header at `at` in `bytes` (which must hold all 48 bytes). */
export function decodeBlockHeader(bytes: Uint8Array, at = 0): DecodedBlockHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, BLOCK_HEADER_SIZE);
  const stored = view.getUint32(0, true);
  const computed = crc32c(bytes.subarray(at + 4, at + BLOCK_HEADER_SIZE));
  return {
    checksumValid: stored === computed,
    diskSize: view.getUint32(4),
    blockSize: view.getUint32(8),
    type: view.getUint32(12),
    blockNumber: getU64(view, 16),
    prev: getU64(view, 24),
    curr: getU64(view, 32),
    next: getU64(view, 40),
  };
}

/** The MAM fields this project reads or writes; the rest stay zero as tgtimg leaves them. */
export interface MamFields {
  formatVersion: number;
  remainingCapacity: number;
  maxCapacity: number;
  mamSpaceRemaining: number;
  mediumManufacturer: string;
  mediumSerialNumber: string;
  /** Tracks (tgtimg: 384). */
  mediumLength: number;
  /** Tenths of a millimetre (tgtimg: 127). */
  mediumWidth: number;
  mediumType: number;
  mediumTypeInformation: number;
  applicationVendor: string;
  barcode: string;
  mediaPool: string;
}

// Offsets inside the MAM (which starts at file offset 48), from the C struct's natural alignment.
const MAM = {
  formatVersion: 0,
  remainingCapacity: 8,
  maxCapacity: 16,
  mamSpaceRemaining: 40,
  mediumManufacturer: [256, 8],
  mediumSerialNumber: [264, 32],
  mediumLength: 296,
  mediumWidth: 300,
  mediumType: 336,
  mediumTypeInformation: 338,
  applicationVendor: [344, 8],
  barcode: [568, 32],
  mediaPool: [680, 160],
  vendorUnique: [840, 256],
} as const;

/**
 * Text fields are either C strings (NUL-terminated inside the array: the last byte stays free) or,
 * like the 8-byte manufacturer and vendor identifiers, fixed-width and filling the whole array.
 */
function putText(
  target: Uint8Array,
  [at, size]: readonly [number, number],
  text: string,
  fixedWidth = false,
): void {
  const bytes = Buffer.from(text, 'latin1').subarray(0, fixedWidth ? size : size - 1);
  target.set(bytes, at);
}

function getText(source: Uint8Array, [at, size]: readonly [number, number]): string {
  const field = source.subarray(at, at + size);
  const end = field.indexOf(0);
  return Buffer.from(field.subarray(0, end === -1 ? size : end)).toString('latin1');
}

export function encodeMam(fields: MamFields): Uint8Array {
  const bytes = new Uint8Array(MAM_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(MAM.formatVersion, fields.formatVersion);
  putU64(view, MAM.remainingCapacity, fields.remainingCapacity);
  putU64(view, MAM.maxCapacity, fields.maxCapacity);
  putU64(view, MAM.mamSpaceRemaining, fields.mamSpaceRemaining);
  putText(bytes, MAM.mediumManufacturer, fields.mediumManufacturer, true);
  putText(bytes, MAM.mediumSerialNumber, fields.mediumSerialNumber);
  view.setUint32(MAM.mediumLength, fields.mediumLength);
  view.setUint32(MAM.mediumWidth, fields.mediumWidth);
  view.setUint8(MAM.mediumType, fields.mediumType);
  view.setUint16(MAM.mediumTypeInformation, fields.mediumTypeInformation);
  putText(bytes, MAM.applicationVendor, fields.applicationVendor, true);
  // tgtimg writes the barcode space-padded to 31 characters ("%-31s").
  putText(bytes, MAM.barcode, fields.barcode.padEnd(MAM.barcode[1] - 1, ' '));
  putText(bytes, MAM.mediaPool, fields.mediaPool);
  return bytes;
}

export function decodeMam(bytes: Uint8Array, at = 0): MamFields {
  const mam = bytes.subarray(at, at + MAM_SIZE);
  const view = new DataView(mam.buffer, mam.byteOffset, MAM_SIZE);
  return {
    formatVersion: view.getUint32(MAM.formatVersion),
    remainingCapacity: getU64(view, MAM.remainingCapacity),
    maxCapacity: getU64(view, MAM.maxCapacity),
    mamSpaceRemaining: getU64(view, MAM.mamSpaceRemaining),
    mediumManufacturer: getText(mam, MAM.mediumManufacturer),
    mediumSerialNumber: getText(mam, MAM.mediumSerialNumber),
    mediumLength: view.getUint32(MAM.mediumLength),
    mediumWidth: view.getUint32(MAM.mediumWidth),
    mediumType: view.getUint8(MAM.mediumType),
    mediumTypeInformation: view.getUint16(MAM.mediumTypeInformation),
    applicationVendor: getText(mam, MAM.applicationVendor),
    barcode: getText(mam, MAM.barcode).trimEnd(),
    mediaPool: getText(mam, MAM.mediaPool),
  };
}

/** Longest barcode the MAM holds (32-byte field, NUL-terminated). */
export const MAX_BARCODE_LENGTH = 31;
const BARCODE_PATTERN = /^[\x21-\x7e]{1,31}$/;

/** Printable ASCII without spaces, at most 31 characters. Returns a reason, or undefined when valid. */
export function barcodeProblem(barcode: unknown): string | undefined {
  if (typeof barcode !== 'string') return 'must be a string';
  if (!BARCODE_PATTERN.test(barcode)) {
    return `must be 1-${MAX_BARCODE_LENGTH} printable ASCII characters without spaces, got ${JSON.stringify(barcode)}`;
  }
  return undefined;
}

export interface NewCartridgeFields {
  barcode: string;
  capacityBytes: number;
  /** Creation time in Unix seconds; goes into the serial number as `<barcode>_<seconds>` like tgtimg. */
  createdAtSeconds: number;
  mediaPool?: string;
}

/**
 * The complete bytes of a blank cartridge, as `tgtimg --op new --device-type tape --type=data` writes
 * them: BOT header (capacity in MiB, rounded up), MAM, EOD header at offset 1152. For a capacity
 * that is a whole number of MiB and the same creation second, the result is byte-identical to tgtimg's.
 * The MAM keeps the exact byte capacity (tgt uses `max_capacity` in bytes for its end-of-medium check).
 */
export function encodeBlankCartridge(fields: NewCartridgeFields): Uint8Array {
  const bytes = new Uint8Array(BLANK_CARTRIDGE_SIZE);
  encodeBlockHeader(
    {
      diskSize: 0,
      blockSize: Math.ceil(fields.capacityBytes / MIB),
      type: BlockType.BOT,
      blockNumber: 0,
      prev: 0,
      curr: 0,
      next: FIRST_BLOCK_OFFSET,
    },
    bytes,
    0,
  );
  const seconds = String(Math.floor(fields.createdAtSeconds));
  // The serial must fit its 31 usable bytes; shorten the barcode part rather than the timestamp.
  const serialPrefix = fields.barcode.slice(0, MAM.mediumSerialNumber[1] - 2 - seconds.length);
  bytes.set(
    encodeMam({
      formatVersion: TAPE_FORMAT_VERSION,
      remainingCapacity: fields.capacityBytes,
      maxCapacity: fields.capacityBytes,
      mamSpaceRemaining: MAM.vendorUnique[1],
      mediumManufacturer: 'Foo     ',
      mediumSerialNumber: `${serialPrefix}_${seconds}`,
      mediumLength: 384,
      mediumWidth: 127,
      mediumType: MediumType.DATA,
      mediumTypeInformation: 0,
      applicationVendor: 'Bar     ',
      barcode: fields.barcode,
      mediaPool: fields.mediaPool ?? '',
    }),
    BLOCK_HEADER_SIZE,
  );
  encodeBlockHeader(eodHeader(0, 0, FIRST_BLOCK_OFFSET), bytes, FIRST_BLOCK_OFFSET);
  return bytes;
}

/** The EOD header for logical object `index` at `offset`, whose predecessor's header is at `prev`. */
export function eodHeader(index: number, prev: number, offset: number): BlockHeader {
  return {
    diskSize: 0,
    blockSize: 0,
    type: BlockType.EOD,
    blockNumber: index + 1,
    prev,
    curr: offset,
    next: offset,
  };
}

/** The header of a data block (`length` > 0 bytes) or filemark (`length` 0) for object `index`. */
export function objectHeader(
  index: number,
  prev: number,
  offset: number,
  length: number,
  filemark: boolean,
): BlockHeader {
  return {
    diskSize: length,
    blockSize: length,
    type: filemark ? BlockType.FILEMARK : BlockType.UNCOMPRESSED_DATA,
    blockNumber: index + 1,
    prev,
    curr: offset,
    next: offset + BLOCK_HEADER_SIZE + length,
  };
}
