import { ScsiError, SenseKey } from '@tapedup/scsi';

/**
 * The sense data the virtual drive reports, as `ScsiError`s with the sense key and ASC/ASCQ a real
 * SSC drive would return. Kept in one place so the mapping can be read against SPC-4 / SSC-4.
 */

/** SCSI operation codes, recorded on each error for logs. */
export const Opcode = {
  TEST_UNIT_READY: 0x00,
  REWIND: 0x01,
  READ_6: 0x08,
  WRITE_6: 0x0a,
  WRITE_FILEMARKS_6: 0x10,
  SPACE_6: 0x11,
  INQUIRY: 0x12,
  MODE_SELECT_6: 0x15,
  LOAD_UNLOAD: 0x1b,
  LOCATE_10: 0x2b,
  READ_POSITION: 0x34,
  ALLOW_OVERWRITE: 0x82,
} as const;

export function mediumNotPresent(opcode?: number): ScsiError {
  return new ScsiError('medium not present', { senseKey: SenseKey.NOT_READY, asc: 0x3a, ascq: 0x00, opcode });
}

/** LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED: a cartridge is in but not loaded. */
export function notLoaded(opcode?: number): ScsiError {
  return new ScsiError('medium not loaded (LOAD required)', {
    senseKey: SenseKey.NOT_READY,
    asc: 0x04,
    ascq: 0x02,
    opcode,
  });
}

/** 29/00 POWER ON, RESET, OR BUS DEVICE RESET OCCURRED. */
export function resetOccurred(opcode?: number): ScsiError {
  return new ScsiError('power on, reset, or bus device reset occurred', {
    senseKey: SenseKey.UNIT_ATTENTION,
    asc: 0x29,
    ascq: 0x00,
    opcode,
  });
}

/** 28/00 NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED. */
export function mediumChanged(opcode?: number): ScsiError {
  return new ScsiError('not ready to ready change, medium may have changed', {
    senseKey: SenseKey.UNIT_ATTENTION,
    asc: 0x28,
    ascq: 0x00,
    opcode,
  });
}

/** 0C/00 WRITE ERROR, current (this command) or deferred (buffered data written earlier). */
export function writeError(deferred: boolean, opcode: number | undefined, detail: string): ScsiError {
  return new ScsiError(`${deferred ? 'deferred ' : ''}write error: ${detail}`, {
    code: deferred ? 'DEFERRED_WRITE_ERROR' : 'MEDIUM_ERROR',
    senseKey: SenseKey.MEDIUM_ERROR,
    asc: 0x0c,
    ascq: 0x00,
    deferred,
    opcode,
  });
}

/** 11/00 UNRECOVERED READ ERROR. */
export function readError(opcode: number | undefined, detail: string): ScsiError {
  return new ScsiError(`unrecovered read error: ${detail}`, {
    senseKey: SenseKey.MEDIUM_ERROR,
    asc: 0x11,
    ascq: 0x00,
    opcode,
  });
}

/** 27/00 WRITE PROTECTED. */
export function writeProtected(opcode?: number): ScsiError {
  return new ScsiError('write protected', { senseKey: SenseKey.DATA_PROTECT, asc: 0x27, ascq: 0x00, opcode });
}

/**
 * Append-only mode refused an overwrite. Drives in SSC-4 append-only mode report DATA PROTECT with
 * 5Ah/02h OPERATOR SELECTED WRITE PROTECT (see packages/scsi/src/asc-table.ts for the source); the
 * `code` says what actually happened so a writer does not have to know the mapping.
 */
export function appendOnlyViolation(position: number, opcode?: number): ScsiError {
  return new ScsiError(`append-only mode: overwrite at object ${position} not allowed`, {
    code: 'APPEND_ONLY_VIOLATION',
    senseKey: SenseKey.DATA_PROTECT,
    asc: 0x5a,
    ascq: 0x02,
    information: position,
    opcode,
  });
}

/** VOLUME OVERFLOW with EOM set, 00/02 END-OF-PARTITION/MEDIUM DETECTED. */
export function volumeOverflow(residue: number, opcode?: number): ScsiError {
  return new ScsiError('end of partition/medium reached, write not completed', {
    senseKey: SenseKey.VOLUME_OVERFLOW,
    asc: 0x00,
    ascq: 0x02,
    eom: true,
    information: residue,
    opcode,
  });
}

/** BLANK CHECK 00/05 END-OF-DATA DETECTED. */
export function endOfData(opcode?: number): ScsiError {
  return new ScsiError('end of data detected', {
    senseKey: SenseKey.BLANK_CHECK,
    asc: 0x00,
    ascq: 0x05,
    opcode,
  });
}

/** 24/00 INVALID FIELD IN CDB. */
export function invalidField(detail: string, opcode?: number): ScsiError {
  return new ScsiError(`invalid field in CDB: ${detail}`, {
    senseKey: SenseKey.ILLEGAL_REQUEST,
    asc: 0x24,
    ascq: 0x00,
    opcode,
  });
}

/** 20/00 INVALID COMMAND OPERATION CODE: the drive does not implement the command. */
export function unsupportedCommand(what: string, opcode?: number): ScsiError {
  return new ScsiError(`command not supported: ${what}`, {
    code: 'UNSUPPORTED',
    senseKey: SenseKey.ILLEGAL_REQUEST,
    asc: 0x20,
    ascq: 0x00,
    opcode,
  });
}

/** The device handle is closed or was never opened (no SCSI command was sent). */
export function notOpen(name: string): ScsiError {
  return new ScsiError(`${name} is not open`, {
    code: 'DEVICE_NOT_OPEN',
    category: 'not-ready',
    retryable: false,
  });
}
