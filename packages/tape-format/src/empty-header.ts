import { ByteWriter, bytesToUuid, checkInteger, uuidToBytes } from './bytes';
import { Magic } from './constants';
import { closeRecord, encodeRecord, openRecord } from './envelope';

/**
 * The empty header (EH): written as the first block of a tape file when the last active image of an
 * MPX group has ended and no next image is pending. It marks the end of data; when work resumes the
 * writer positions back onto it and overwrites it with the next fragment header.
 */
export interface EmptyHeader {
  labelId: string;
  /** Tape file number the EH occupies (the number the next fragment will take when it overwrites it). */
  tapeFile: number;
  createdAt: number;
}

export function encodeEmptyHeader(eh: EmptyHeader): Uint8Array {
  checkInteger(eh.tapeFile, 'tapeFile', 1, 0xffffffff);
  checkInteger(eh.createdAt, 'createdAt', 0, Number.MAX_SAFE_INTEGER);
  const body = new ByteWriter()
    .bytes(uuidToBytes(eh.labelId, 'labelId'))
    .u32(eh.tapeFile)
    .u32(0)
    .u64(eh.createdAt)
    .finish();
  return encodeRecord(Magic.emptyHeader, body);
}

export function decodeEmptyHeader(block: Uint8Array): EmptyHeader {
  const r = openRecord(block, Magic.emptyHeader);
  const labelId = bytesToUuid(r.bytes(16, 'labelId'));
  const tapeFile = r.u32('tapeFile');
  r.u32('reserved');
  const createdAt = r.u64('createdAt');
  closeRecord(r, Magic.emptyHeader);
  return { labelId, tapeFile, createdAt };
}
