/** Machine-readable reasons a block or a tape fails to decode. */
export type TapeFormatErrorCode =
  /** The block does not start with a known magic. */
  | 'BAD_MAGIC'
  /** A CRC32C does not match (field `header`, `payload` or `record`). */
  | 'BAD_CRC'
  /** The format version is not one this reader understands. */
  | 'BAD_VERSION'
  /** The block is shorter than its structure says. */
  | 'TRUNCATED'
  /** The block is longer than its structure says. */
  | 'TRAILING_BYTES'
  /** A field holds a value the format does not allow. */
  | 'BAD_FIELD'
  /** An argument passed to an encoder or reader is invalid (names the option in `field`). */
  | 'INVALID_ARGUMENT'
  /** The device returned a block longer than the reader's buffer. */
  | 'OVERLENGTH_BLOCK'
  /** Tape file 0 does not hold a volume label. */
  | 'NO_LABEL'
  /** A block appears where the format does not allow it (e.g. data before a fragment header). */
  | 'UNEXPECTED_BLOCK'
  /** A data block's sequence number is not the next one for its image. */
  | 'SEQUENCE_GAP'
  /** A data block names a tag that no header or image start record defined. */
  | 'UNKNOWN_TAG'
  /** A fragment's offset or sequence does not continue the image where the previous fragment stopped. */
  | 'DISCONTINUITY'
  /** The image's bytes, block count or SHA-256 differ from its trailer. */
  | 'TRAILER_MISMATCH'
  /** The image was not found on the media given. */
  | 'IMAGE_NOT_FOUND'
  /** The image starts but its end (trailer) was not found on the media given. */
  | 'INCOMPLETE_IMAGE'
  /** The image copy ended with an aborted trailer. */
  | 'IMAGE_ABORTED'
  /** An object was used in a state that does not allow the call (e.g. a framer after finish). */
  | 'INVALID_STATE';

export interface TapeFormatErrorFields {
  /** Which field or part of the structure is at fault (`payload`, `header`, `magic`, an option name…). */
  field?: string | undefined;
  /** Byte offset within the block where the problem was found. */
  offset?: number | undefined;
  /** Logical object number of the block on tape, when read from a device. */
  blockNumber?: number | undefined;
  /** Tape file number (filemarks before the block), when read from a device. */
  tapeFile?: number | undefined;
  /** Image tag of the data block, when known. */
  tag?: number | undefined;
  /** Sequence number of the data block, when known. */
  sequence?: number | undefined;
  /** The image concerned, when known. */
  backupId?: string | undefined;
  copy?: number | undefined;
  /** Device name, when read from a device. */
  device?: string | undefined;
}

/** A format violation. Callers branch on `code` (and the location fields), never on the message. */
export class TapeFormatError extends Error {
  override readonly name = 'TapeFormatError';
  readonly code: TapeFormatErrorCode;
  readonly field: string | undefined;
  readonly offset: number | undefined;
  blockNumber: number | undefined;
  tapeFile: number | undefined;
  readonly tag: number | undefined;
  readonly sequence: number | undefined;
  readonly backupId: string | undefined;
  readonly copy: number | undefined;
  device: string | undefined;

  constructor(code: TapeFormatErrorCode, message: string, fields: TapeFormatErrorFields = {}) {
    super(message);
    this.code = code;
    this.field = fields.field;
    this.offset = fields.offset;
    this.blockNumber = fields.blockNumber;
    this.tapeFile = fields.tapeFile;
    this.tag = fields.tag;
    this.sequence = fields.sequence;
    this.backupId = fields.backupId;
    this.copy = fields.copy;
    this.device = fields.device;
  }

  /** Adds where on tape the block was found (the decoders do not know it). Returns `this`. */
  at(location: { blockNumber?: number; tapeFile?: number; device?: string }): this {
    this.blockNumber ??= location.blockNumber;
    this.tapeFile ??= location.tapeFile;
    this.device ??= location.device;
    return this;
  }

  /** A plain object for logs and protocol messages. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      field: this.field,
      offset: this.offset,
      blockNumber: this.blockNumber,
      tapeFile: this.tapeFile,
      tag: this.tag,
      sequence: this.sequence,
      backupId: this.backupId,
      copy: this.copy,
      device: this.device,
    };
  }
}

export function isTapeFormatError(value: unknown): value is TapeFormatError {
  return value instanceof TapeFormatError;
}
