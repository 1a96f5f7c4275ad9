import { ByteWriter, checkInteger } from './bytes';
import { Magic, nameOfCode, type TrailerStatus, TrailerStatusCode } from './constants';
import { closeRecord, encodeRecord, openRecord } from './envelope';
import { TapeFormatError } from './errors';

/** Written inside the fragment where an image ends, after its last data block. */
export interface ImageTrailer {
  tag: number;
  /** `complete`: the image is whole. `aborted`: the image failed here; its bytes on tape are not a valid image. */
  status: TrailerStatus;
  /** Bytes of the whole image (all fragments, all media); for `aborted`, the bytes written before the abort. */
  totalBytes: number;
  /** Data blocks of the whole image. */
  blockCount: number;
  /** SHA-256 of the `totalBytes` image bytes (32 bytes). */
  sha256: Uint8Array;
}

export function encodeImageTrailer(trailer: ImageTrailer): Uint8Array {
  checkInteger(trailer.tag, 'tag', 0, 0xffff);
  checkInteger(trailer.totalBytes, 'totalBytes', 0, Number.MAX_SAFE_INTEGER);
  checkInteger(trailer.blockCount, 'blockCount', 0, Number.MAX_SAFE_INTEGER);
  if (!(trailer.status in TrailerStatusCode)) {
    throw new TapeFormatError('INVALID_ARGUMENT', 'status must be complete or aborted', { field: 'status' });
  }
  if (trailer.sha256.length !== 32) {
    throw new TapeFormatError('INVALID_ARGUMENT', `sha256 must be 32 bytes, got ${trailer.sha256.length}`, {
      field: 'sha256',
    });
  }
  const body = new ByteWriter()
    .u16(trailer.tag)
    .u8(TrailerStatusCode[trailer.status])
    .u8(0)
    .u64(trailer.totalBytes)
    .u64(trailer.blockCount)
    .bytes(trailer.sha256)
    .finish();
  return encodeRecord(Magic.imageTrailer, body);
}

export function decodeImageTrailer(block: Uint8Array): ImageTrailer {
  const r = openRecord(block, Magic.imageTrailer);
  const tag = r.u16('tag');
  const statusAt = r.pos;
  const status = nameOfCode(TrailerStatusCode, r.u8('status'));
  r.u8('reserved');
  const totalBytes = r.u64('totalBytes');
  const blockCount = r.u64('blockCount');
  const sha256 = r.bytes(32, 'sha256');
  closeRecord(r, Magic.imageTrailer);
  if (status === undefined) {
    throw new TapeFormatError('BAD_FIELD', 'unknown trailer status', {
      field: 'status',
      offset: statusAt,
      tag,
    });
  }
  return { tag, status, totalBytes, blockCount, sha256 };
}
