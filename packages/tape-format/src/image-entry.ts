import { type ByteReader, type ByteWriter, checkInteger } from './bytes';
import { EntryFlag, type ImageKind, ImageKindCode, MAX_BACKUP_ID_BYTES, nameOfCode } from './constants';
import { TapeFormatError } from './errors';
import { checkText } from './volume-label';

/**
 * One image in a fragment's image table (in the fragment header or an image start record).
 * The `tag` is what the image's data blocks carry; it is unique within the fragment.
 */
export interface ImageEntry {
  /** 0..65535, unique within the fragment; data blocks and the trailer of this image carry it. */
  tag: number;
  backupId: string;
  /** Copy number, 1..65535. */
  copy: number;
  kind: ImageKind;
  /** 0-based index of this fragment among the image copy's fragments, counted across all media. */
  fragmentIndex: number;
  /** Byte offset within the image of the first payload byte this fragment holds for it. */
  offset: number;
  /** Total image size in bytes, when known when the fragment was written. */
  totalSize?: number | undefined;
  /** Sequence number of the image's first data block in this fragment (sequences run across fragments). */
  firstSequence: number;
  /** The previous fragment of the image is on another medium. */
  fromOtherMedium: boolean;
}

export function checkImageEntry(e: ImageEntry, field: string): void {
  checkInteger(e.tag, `${field}.tag`, 0, 0xffff);
  checkText(e.backupId, `${field}.backupId`, 1, MAX_BACKUP_ID_BYTES);
  checkInteger(e.copy, `${field}.copy`, 1, 0xffff);
  if (!(e.kind in ImageKindCode)) {
    throw new TapeFormatError('INVALID_ARGUMENT', `${field}.kind must be disk or stream`, {
      field: `${field}.kind`,
    });
  }
  checkInteger(e.fragmentIndex, `${field}.fragmentIndex`, 0, 0xffffffff);
  checkInteger(e.offset, `${field}.offset`, 0, Number.MAX_SAFE_INTEGER);
  if (e.totalSize !== undefined) checkInteger(e.totalSize, `${field}.totalSize`, 0, Number.MAX_SAFE_INTEGER);
  checkInteger(e.firstSequence, `${field}.firstSequence`, 0, Number.MAX_SAFE_INTEGER);
  if ((e.fragmentIndex === 0) !== (e.offset === 0 && e.firstSequence === 0)) {
    throw new TapeFormatError(
      'INVALID_ARGUMENT',
      `${field}: fragmentIndex 0 must have offset 0 and firstSequence 0, and a later fragment must not`,
      { field: `${field}.fragmentIndex` },
    );
  }
  if (e.fromOtherMedium && e.fragmentIndex === 0) {
    throw new TapeFormatError(
      'INVALID_ARGUMENT',
      `${field}: the first fragment cannot come from another medium`,
      {
        field: `${field}.fromOtherMedium`,
      },
    );
  }
}

export function writeImageEntry(w: ByteWriter, e: ImageEntry): void {
  let flags = 0;
  if (e.fragmentIndex > 0) flags |= EntryFlag.continuation;
  if (e.fromOtherMedium) flags |= EntryFlag.fromOtherMedium;
  if (e.totalSize !== undefined) flags |= EntryFlag.sizeKnown;
  w.u16(e.tag)
    .u16(flags)
    .u16(e.copy)
    .u8(ImageKindCode[e.kind])
    .u8(0)
    .u32(e.fragmentIndex)
    .u64(e.offset)
    .u64(e.totalSize ?? 0)
    .u64(e.firstSequence)
    .string(e.backupId);
}

export function readImageEntry(r: ByteReader): ImageEntry {
  const tag = r.u16('tag');
  const flagsAt = r.pos;
  const flags = r.u16('flags');
  const copy = r.u16('copy');
  const kindAt = r.pos;
  const kind = nameOfCode(ImageKindCode, r.u8('kind'));
  r.u8('reserved');
  const fragmentIndex = r.u32('fragmentIndex');
  const offset = r.u64('offset');
  const totalSize = r.u64('totalSize');
  const firstSequence = r.u64('firstSequence');
  const backupId = r.string('backupId', MAX_BACKUP_ID_BYTES);
  if (kind === undefined)
    throw new TapeFormatError('BAD_FIELD', 'unknown image kind', { field: 'kind', offset: kindAt });
  const continuation = (flags & EntryFlag.continuation) !== 0;
  const fromOtherMedium = (flags & EntryFlag.fromOtherMedium) !== 0;
  const known = EntryFlag.continuation | EntryFlag.fromOtherMedium | EntryFlag.sizeKnown;
  if ((flags & ~known) !== 0 || continuation !== fragmentIndex > 0 || (fromOtherMedium && !continuation)) {
    throw new TapeFormatError('BAD_FIELD', `inconsistent image entry flags ${flags}`, {
      field: 'flags',
      offset: flagsAt,
      backupId,
      copy,
    });
  }
  if (copy === 0 || backupId.length === 0) {
    throw new TapeFormatError('BAD_FIELD', 'image entry without backup id or copy number', {
      field: copy === 0 ? 'copy' : 'backupId',
      offset: flagsAt,
    });
  }
  return {
    tag,
    backupId,
    copy,
    kind,
    fragmentIndex,
    offset,
    totalSize: (flags & EntryFlag.sizeKnown) !== 0 ? totalSize : undefined,
    firstSequence,
    fromOtherMedium,
  };
}
