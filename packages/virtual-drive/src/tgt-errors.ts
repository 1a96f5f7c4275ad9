/**
 * Errors raised by the tgt cartridge file and its format codec. Callers branch on `code`
 * (and `offset` / `reason` for a corrupt file), never on the message text.
 */

/** Why a cartridge file was rejected while walking or decoding it. */
export type CartridgeCorruptReason =
  | 'short-file'
  | 'short-read'
  | 'header-checksum'
  | 'bad-bot'
  | 'bad-version'
  | 'bad-link'
  | 'bad-block-number'
  | 'bad-block-type'
  | 'unsupported-block-type'
  | 'bad-size';

/** The cartridge file is not a valid tgt SSC backing store (or is damaged at `offset`). */
export class CartridgeCorruptError extends Error {
  override readonly name = 'CartridgeCorruptError';
  readonly code = 'CARTRIDGE_CORRUPT';
  constructor(
    message: string,
    /** Byte offset in the file of the structure that failed validation. */
    readonly offset: number,
    readonly reason: CartridgeCorruptReason,
    readonly path?: string,
  ) {
    super(`${message} (offset ${offset}${path === undefined ? '' : ` in ${path}`})`);
  }
}

/** A write or truncate was attempted on a write-protected cartridge. */
export class CartridgeWriteProtectedError extends Error {
  override readonly name = 'CartridgeWriteProtectedError';
  readonly code = 'WRITE_PROTECTED';
  constructor(readonly barcode: string) {
    super(`cartridge ${barcode} is write protected`);
  }
}

/** The handle was used after `close()`. */
export class CartridgeClosedError extends Error {
  override readonly name = 'CartridgeClosedError';
  readonly code = 'CARTRIDGE_CLOSED';
  constructor(readonly barcode: string) {
    super(`cartridge ${barcode} is closed`);
  }
}

/** A MediumStore call with an argument outside its contract (bad index, bad length, not a data block). */
export class CartridgeArgumentError extends Error {
  override readonly name = 'CartridgeArgumentError';
  readonly code = 'INVALID_ARGUMENT';
  constructor(
    message: string,
    readonly argument: string,
  ) {
    super(message);
  }
}

/** An option given to `create` / `open` is invalid; `option` names it. */
export class CartridgeOptionError extends Error {
  override readonly name = 'CartridgeOptionError';
  readonly code = 'INVALID_OPTION';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
  }
}
