/** Typed errors of the virtual library; callers branch on `code`. */

export class LibraryError extends Error {
  override readonly name: string = 'LibraryError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A library option is invalid; `option` names it. */
export class LibraryOptionError extends LibraryError {
  override readonly name = 'LibraryOptionError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super('INVALID_OPTION', `${option}: ${message}`);
  }
}

/** A barcode that is malformed or would escape the cartridges directory. */
export class InvalidBarcodeError extends LibraryError {
  override readonly name = 'InvalidBarcodeError';
  constructor(readonly barcode: string) {
    super('INVALID_BARCODE', `invalid barcode ${JSON.stringify(barcode)}: use 1-31 of A-Z a-z 0-9 _ -`);
  }
}

export class UnknownCartridgeError extends LibraryError {
  override readonly name = 'UnknownCartridgeError';
  constructor(readonly barcode: string) {
    super('UNKNOWN_CARTRIDGE', `no cartridge ${barcode} in the library`);
  }
}

export class UnknownDriveError extends LibraryError {
  override readonly name = 'UnknownDriveError';
  constructor(readonly drive: string) {
    super('UNKNOWN_DRIVE', `no drive ${JSON.stringify(drive)} in the library`);
  }
}

/** The pool has no scratch cartridge left (after exclusions). */
export class NoScratchMediaError extends LibraryError {
  override readonly name = 'NoScratchMediaError';
  constructor(readonly pool: string) {
    super('NO_SCRATCH_MEDIA', `pool ${pool} has no scratch cartridge`);
  }
}

export class UnknownPoolError extends LibraryError {
  override readonly name = 'UnknownPoolError';
  constructor(readonly pool: string) {
    super('UNKNOWN_POOL', `no pool ${JSON.stringify(pool)} in the library`);
  }
}

/** The drive already holds another cartridge. */
export class DriveOccupiedError extends LibraryError {
  override readonly name = 'DriveOccupiedError';
  constructor(
    readonly drive: string,
    readonly mounted: string,
  ) {
    super('DRIVE_OCCUPIED', `drive ${drive} already holds ${mounted}`);
  }
}

/** Unmount of a drive that holds nothing. */
export class DriveEmptyError extends LibraryError {
  override readonly name = 'DriveEmptyError';
  constructor(readonly drive: string) {
    super('DRIVE_EMPTY', `drive ${drive} holds no cartridge`);
  }
}

/** The cartridge is mounted in another drive. */
export class CartridgeMountedError extends LibraryError {
  override readonly name = 'CartridgeMountedError';
  constructor(
    readonly barcode: string,
    readonly drive: string,
  ) {
    super('CARTRIDGE_MOUNTED', `cartridge ${barcode} is mounted in ${drive}`);
  }
}

/** Another process held the library lock for longer than `lockTimeoutMs`. */
export class LibraryLockedError extends LibraryError {
  override readonly name = 'LibraryLockedError';
  constructor(
    readonly lockPath: string,
    readonly holderPid: number | undefined,
  ) {
    super('LIBRARY_LOCKED', `library lock ${lockPath} is held by pid ${holderPid ?? 'unknown'}`);
  }
}

/** The state file cannot be parsed or does not describe a library. */
export class LibraryStateError extends LibraryError {
  override readonly name = 'LibraryStateError';
  constructor(
    readonly statePath: string,
    detail: string,
  ) {
    super('LIBRARY_STATE_CORRUPT', `library state ${statePath} is invalid: ${detail}`);
  }
}
