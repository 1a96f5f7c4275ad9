import { ByteWriter, bytesToUuid, checkInteger, uuidToBytes } from './bytes';
import { MAX_BLOCK_PAYLOAD_SIZE, Magic, MIN_BLOCK_PAYLOAD_SIZE } from './constants';
import { closeRecord, encodeRecord, openRecord } from './envelope';
import { TapeFormatError } from './errors';
import { checkImageEntry, type ImageEntry, readImageEntry, writeImageEntry } from './image-entry';

/** The first block of every fragment (a tape file holding image data). */
export interface FragmentHeader {
  /** The volume label's `labelId`: a fragment left from an earlier labelling is recognisable. */
  labelId: string;
  /** Tape file number of this fragment as the writer counted it (label = 0). */
  tapeFile: number;
  /** Largest payload of the data blocks in this fragment (a power of two). */
  blockPayloadSize: number;
  /** When the fragment was started, milliseconds since the Unix epoch. */
  createdAt: number;
  /** The images the fragment starts with (at least one); more may join through image start records. */
  images: ImageEntry[];
}

/** A block inside a fragment that adds images to the fragment's table (an image joining a running MPX fragment). */
export interface ImageStart {
  images: ImageEntry[];
}

export function checkBlockPayloadSize(size: number, field = 'blockPayloadSize'): void {
  checkInteger(size, field, MIN_BLOCK_PAYLOAD_SIZE, MAX_BLOCK_PAYLOAD_SIZE);
  if ((size & (size - 1)) !== 0) {
    throw new TapeFormatError('INVALID_ARGUMENT', `${field} must be a power of two, got ${size}`, { field });
  }
}

function checkEntries(images: ImageEntry[], min: number): void {
  checkInteger(images.length, 'images.length', min, 0xffff);
  const tags = new Set<number>();
  images.forEach((entry, i) => {
    checkImageEntry(entry, `images[${i}]`);
    if (tags.has(entry.tag)) {
      throw new TapeFormatError('INVALID_ARGUMENT', `images[${i}].tag ${entry.tag} is used twice`, {
        field: `images[${i}].tag`,
      });
    }
    tags.add(entry.tag);
  });
}

export function encodeFragmentHeader(header: FragmentHeader): Uint8Array {
  checkInteger(header.tapeFile, 'tapeFile', 1, 0xffffffff);
  checkBlockPayloadSize(header.blockPayloadSize);
  checkInteger(header.createdAt, 'createdAt', 0, Number.MAX_SAFE_INTEGER);
  checkEntries(header.images, 1);
  const w = new ByteWriter()
    .bytes(uuidToBytes(header.labelId, 'labelId'))
    .u32(header.tapeFile)
    .u32(header.blockPayloadSize)
    .u64(header.createdAt)
    .u16(header.images.length);
  for (const entry of header.images) writeImageEntry(w, entry);
  return encodeRecord(Magic.fragmentHeader, w.finish());
}

export function decodeFragmentHeader(block: Uint8Array): FragmentHeader {
  const r = openRecord(block, Magic.fragmentHeader);
  const labelId = bytesToUuid(r.bytes(16, 'labelId'));
  const tapeFile = r.u32('tapeFile');
  const sizeAt = r.pos;
  const blockPayloadSize = r.u32('blockPayloadSize');
  const createdAt = r.u64('createdAt');
  const countAt = r.pos;
  const count = r.u16('imageCount');
  if (count === 0) {
    throw new TapeFormatError('BAD_FIELD', 'fragment header names no image', {
      field: 'imageCount',
      offset: countAt,
    });
  }
  if (blockPayloadSize === 0 || (blockPayloadSize & (blockPayloadSize - 1)) !== 0) {
    throw new TapeFormatError('BAD_FIELD', `blockPayloadSize ${blockPayloadSize} is not a power of two`, {
      field: 'blockPayloadSize',
      offset: sizeAt,
    });
  }
  const images = readEntries(r, count);
  closeRecord(r, Magic.fragmentHeader);
  return { labelId, tapeFile, blockPayloadSize, createdAt, images };
}

export function encodeImageStart(record: ImageStart): Uint8Array {
  checkEntries(record.images, 1);
  const w = new ByteWriter().u16(record.images.length);
  for (const entry of record.images) writeImageEntry(w, entry);
  return encodeRecord(Magic.imageStart, w.finish());
}

export function decodeImageStart(block: Uint8Array): ImageStart {
  const r = openRecord(block, Magic.imageStart);
  const countAt = r.pos;
  const count = r.u16('imageCount');
  if (count === 0) {
    throw new TapeFormatError('BAD_FIELD', 'image start record names no image', {
      field: 'imageCount',
      offset: countAt,
    });
  }
  const images = readEntries(r, count);
  closeRecord(r, Magic.imageStart);
  return { images };
}

function readEntries(r: ReturnType<typeof openRecord>, count: number): ImageEntry[] {
  const images: ImageEntry[] = [];
  const tags = new Set<number>();
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const entry = readImageEntry(r);
    if (tags.has(entry.tag)) {
      throw new TapeFormatError('BAD_FIELD', `tag ${entry.tag} appears twice`, { field: 'tag', offset: at });
    }
    tags.add(entry.tag);
    images.push(entry);
  }
  return images;
}
