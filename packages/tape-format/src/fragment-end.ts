import { ByteWriter, checkInteger } from './bytes';
import { EndFlag, type FragmentEndReason, FragmentEndReasonCode, Magic, nameOfCode } from './constants';
import { closeRecord, encodeRecord, openRecord } from './envelope';
import { TapeFormatError } from './errors';

/** Per-image accounting of one fragment, in its fragment end record. */
export interface FragmentEndEntry {
  tag: number;
  /** No trailer for this image in this fragment: it continues in a later fragment. */
  continues: boolean;
  /** The later fragment is on another medium (implies `continues`). */
  continuesOnOtherMedium: boolean;
  /** Data blocks of the image in this fragment. */
  blocks: number;
  /** Payload bytes of the image in this fragment. */
  bytes: number;
}

/**
 * The last block of a fragment, before its filemark. Optional for readers (a fragment cut short by a
 * failure has none) but always written by tapedup; it says why the fragment ended and which images go on.
 */
export interface FragmentEnd {
  tapeFile: number;
  reason: FragmentEndReason;
  images: FragmentEndEntry[];
}

export function encodeFragmentEnd(end: FragmentEnd): Uint8Array {
  checkInteger(end.tapeFile, 'tapeFile', 1, 0xffffffff);
  if (!(end.reason in FragmentEndReasonCode)) {
    throw new TapeFormatError('INVALID_ARGUMENT', `unknown reason ${end.reason}`, { field: 'reason' });
  }
  checkInteger(end.images.length, 'images.length', 0, 0xffff);
  const w = new ByteWriter()
    .u32(end.tapeFile)
    .u8(FragmentEndReasonCode[end.reason])
    .u8(0)
    .u16(end.images.length);
  end.images.forEach((e, i) => {
    checkInteger(e.tag, `images[${i}].tag`, 0, 0xffff);
    checkInteger(e.blocks, `images[${i}].blocks`, 0, Number.MAX_SAFE_INTEGER);
    checkInteger(e.bytes, `images[${i}].bytes`, 0, Number.MAX_SAFE_INTEGER);
    if (e.continuesOnOtherMedium && !e.continues) {
      throw new TapeFormatError(
        'INVALID_ARGUMENT',
        `images[${i}]: continuesOnOtherMedium requires continues`,
        {
          field: `images[${i}].continuesOnOtherMedium`,
        },
      );
    }
    const flags =
      (e.continues ? EndFlag.continues : 0) | (e.continuesOnOtherMedium ? EndFlag.continuesOnOtherMedium : 0);
    w.u16(e.tag).u16(flags).u64(e.blocks).u64(e.bytes);
  });
  return encodeRecord(Magic.fragmentEnd, w.finish());
}

export function decodeFragmentEnd(block: Uint8Array): FragmentEnd {
  const r = openRecord(block, Magic.fragmentEnd);
  const tapeFile = r.u32('tapeFile');
  const reasonAt = r.pos;
  const reason = nameOfCode(FragmentEndReasonCode, r.u8('reason'));
  r.u8('reserved');
  const count = r.u16('imageCount');
  const images: FragmentEndEntry[] = [];
  for (let i = 0; i < count; i++) {
    const tag = r.u16('tag');
    const flagsAt = r.pos;
    const flags = r.u16('flags');
    const blocks = r.u64('blocks');
    const bytes = r.u64('bytes');
    const continues = (flags & EndFlag.continues) !== 0;
    const continuesOnOtherMedium = (flags & EndFlag.continuesOnOtherMedium) !== 0;
    if (
      (flags & ~(EndFlag.continues | EndFlag.continuesOnOtherMedium)) !== 0 ||
      (continuesOnOtherMedium && !continues)
    ) {
      throw new TapeFormatError('BAD_FIELD', `inconsistent fragment end flags ${flags}`, {
        field: 'flags',
        offset: flagsAt,
        tag,
      });
    }
    images.push({ tag, continues, continuesOnOtherMedium, blocks, bytes });
  }
  closeRecord(r, Magic.fragmentEnd);
  if (reason === undefined) {
    throw new TapeFormatError('BAD_FIELD', 'unknown fragment end reason', {
      field: 'reason',
      offset: reasonAt,
    });
  }
  return { tapeFile, reason, images };
}
