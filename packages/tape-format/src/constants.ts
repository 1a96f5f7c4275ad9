/**
 * Numbers that define the tapedup on-tape format, version 1. Every multi-byte integer on tape is
 * big-endian. See docs/tape-format.md for the byte layout of each structure.
 */

/** The format version this package writes and the only one it reads. */
export const FORMAT_VERSION = 1;

/** Four ASCII bytes at offset 0 of every block; they name the structure the block holds. */
export const Magic = {
  volumeLabel: 'TDVL',
  fragmentHeader: 'TDFH',
  imageStart: 'TDIS',
  dataBlock: 'TDDB',
  imageTrailer: 'TDIT',
  fragmentEnd: 'TDFE',
  emptyHeader: 'TDEH',
} as const;
export type MagicName = keyof typeof Magic;

/** Bytes of the envelope around a metadata record: magic, version, flags, body length, then the trailing CRC. */
export const RECORD_PREFIX_LENGTH = 12;
export const RECORD_OVERHEAD = RECORD_PREFIX_LENGTH + 4;

/** Bytes of the header in front of every data block payload. */
export const DATA_HEADER_LENGTH = 32;

/** Default payload bytes per data block (256 KiB). */
export const DEFAULT_BLOCK_PAYLOAD_SIZE = 256 * 1024;
/** Smallest payload size a writer may configure. */
export const MIN_BLOCK_PAYLOAD_SIZE = 512;
/** Largest payload size the format allows; a device's maxBlockSize may lower it further. */
export const MAX_BLOCK_PAYLOAD_SIZE = 16 * 1024 * 1024;

/** Length limits of the UTF-8 strings on tape, in bytes. */
export const MAX_BACKUP_ID_BYTES = 1024;
export const MAX_BARCODE_BYTES = 32;
export const MAX_POOL_BYTES = 255;

/** Bytes of the fixed part of an image entry (the backup id follows as a length-prefixed string). */
export const IMAGE_ENTRY_FIXED_LENGTH = 36;

/** Image entry flags (fragment header and image start record). */
export const EntryFlag = {
  /** This fragment does not begin the image: an earlier fragment holds bytes before `offset`. */
  continuation: 0x0001,
  /** The previous fragment of the image is on another medium (spanning). Implies `continuation`. */
  fromOtherMedium: 0x0002,
  /** `totalSize` holds the image's size. */
  sizeKnown: 0x0004,
} as const;

/** Fragment end entry flags. */
export const EndFlag = {
  /** The image has no trailer in this fragment: it continues in a later fragment. */
  continues: 0x0001,
  /** The later fragment is on another medium (the fragment ended at early warning). */
  continuesOnOtherMedium: 0x0002,
} as const;

/** What an image is, as recorded on tape. */
export const ImageKindCode = { disk: 0, stream: 1 } as const;
export type ImageKind = keyof typeof ImageKindCode;

/** Trailer status codes. */
export const TrailerStatusCode = { complete: 0, aborted: 1 } as const;
export type TrailerStatus = keyof typeof TrailerStatusCode;

/** Why a fragment ended (recorded in the fragment end record; the writer's filemark choice follows it). */
export const FragmentEndReasonCode = {
  unspecified: 0,
  'image-complete': 1,
  checkpoint: 2,
  'data-complete-metadata-follows': 3,
  'max-fragment-size': 4,
  'next-image-start': 5,
  'image-failure': 6,
  'end-of-medium': 7,
} as const;
export type FragmentEndReason = keyof typeof FragmentEndReasonCode;

/** Reverse lookup of a code table; undefined for a code the table does not hold. */
export function nameOfCode<T extends Record<string, number>>(table: T, code: number): keyof T | undefined {
  for (const [name, value] of Object.entries(table)) if (value === code) return name;
  return undefined;
}
