/**
 * CDB builders for the SSC-4 stream commands. Pure: each returns a fresh CDB and throws
 * `InvalidArgumentError` naming the option when a value does not fit its field or a combination
 * is one the standard forbids. The CONTROL byte (last byte) is always 0.
 */
import { checkBool, checkInt, checkS64, checkU64, putU16, putU24, putU32, putU64 } from './bytes';
import { InvalidArgumentError } from './errors';
import { Opcode } from './opcodes';

const U24_MAX = 0xff_ffff;
const U32_MAX = 0xffff_ffff;

export interface ImmediateOption {
  /** IMMED=1: return as soon as the command is accepted, before the operation completes. */
  immediate?: boolean;
}

/** REWIND (SSC-4). */
export function rewindCdb(options: ImmediateOption = {}): Uint8Array {
  const immed = checkBool('immediate', options.immediate);
  return new Uint8Array([Opcode.REWIND, immed ? 0x01 : 0, 0, 0, 0, 0]);
}

export interface LoadUnloadOptions extends ImmediateOption {
  /** LOAD=1 loads (threads) the medium; LOAD=0 unloads it. */
  load: boolean;
  /** RETEN=1: retension (wind to end and back) as part of the operation. */
  retension?: boolean;
  /** EOT=1 (unload only): unload at the end of the medium instead of rewinding first. */
  endOfTape?: boolean;
  /** HOLD=1: keep the medium in the drive (load: do not thread; unload: do not eject). */
  hold?: boolean;
}

/** LOAD UNLOAD (SSC-4). */
export function loadUnloadCdb(options: LoadUnloadOptions): Uint8Array {
  if (typeof options.load !== 'boolean') throw new InvalidArgumentError('load', options.load, 'a boolean');
  const immed = checkBool('immediate', options.immediate);
  const reten = checkBool('retension', options.retension);
  const eot = checkBool('endOfTape', options.endOfTape);
  const hold = checkBool('hold', options.hold);
  // SSC-4: EOT=1 together with LOAD=1 is an invalid field in the CDB.
  if (eot && options.load) throw new InvalidArgumentError('endOfTape', eot, 'false when load is true');
  const byte4 = (hold ? 0x08 : 0) | (eot ? 0x04 : 0) | (reten ? 0x02 : 0) | (options.load ? 0x01 : 0);
  return new Uint8Array([Opcode.LOAD_UNLOAD, immed ? 0x01 : 0, 0, 0, byte4, 0]);
}

export interface ReadBlockLimitsOptions {
  /** MLOI=1: ask for the maximum logical object identifier (20-byte answer) instead of block limits. */
  maximumLogicalObjectIdentifier?: boolean;
}

/** READ BLOCK LIMITS (SSC-4). */
export function readBlockLimitsCdb(options: ReadBlockLimitsOptions = {}): Uint8Array {
  const mloi = checkBool('maximumLogicalObjectIdentifier', options.maximumLogicalObjectIdentifier);
  return new Uint8Array([Opcode.READ_BLOCK_LIMITS, mloi ? 0x01 : 0, 0, 0, 0, 0]);
}

export interface Read6Options {
  /**
   * Variable mode (fixed=false): the block length in bytes to accept. Fixed mode: the number of
   * blocks. 0..FFFFFFh.
   */
  transferLength: number;
  /** FIXED=1: fixed-block mode using the block length from the mode block descriptor. */
  fixed?: boolean;
  /** SILI=1: suppress the incorrect-length indication for blocks shorter or longer than requested. */
  suppressIncorrectLength?: boolean;
}

/** READ(6) (SSC-4). */
export function read6Cdb(options: Read6Options): Uint8Array {
  const length = checkInt('transferLength', options.transferLength, 0, U24_MAX);
  const fixed = checkBool('fixed', options.fixed);
  const sili = checkBool('suppressIncorrectLength', options.suppressIncorrectLength);
  // SSC-4: FIXED=1 with SILI=1 is an invalid field in the CDB.
  if (fixed && sili) throw new InvalidArgumentError('suppressIncorrectLength', sili, 'false in fixed mode');
  const cdb = new Uint8Array(6);
  cdb[0] = Opcode.READ_6;
  cdb[1] = (sili ? 0x02 : 0) | (fixed ? 0x01 : 0);
  putU24(cdb, 2, length);
  return cdb;
}

export interface Write6Options {
  /** Variable mode: the block length in bytes. Fixed mode: the number of blocks. 0..FFFFFFh. */
  transferLength: number;
  /** FIXED=1: fixed-block mode. */
  fixed?: boolean;
}

/** WRITE(6) (SSC-4). */
export function write6Cdb(options: Write6Options): Uint8Array {
  const length = checkInt('transferLength', options.transferLength, 0, U24_MAX);
  const fixed = checkBool('fixed', options.fixed);
  const cdb = new Uint8Array(6);
  cdb[0] = Opcode.WRITE_6;
  cdb[1] = fixed ? 0x01 : 0;
  putU24(cdb, 2, length);
  return cdb;
}

export interface WriteFilemarks6Options extends ImmediateOption {
  /** Number of marks, 0..FFFFFFh. 0 with IMMED=0 only flushes the buffer to the medium. */
  count: number;
  /** WSMK=1: write setmarks instead of filemarks (obsolete in SSC-3 and later). */
  setmarks?: boolean;
}

/**
 * WRITE FILEMARKS(6) (SSC-4). With IMMED=0 it is the synchronising command: it returns only
 * when every buffered object before it is on the medium, and reports deferred errors.
 */
export function writeFilemarks6Cdb(options: WriteFilemarks6Options): Uint8Array {
  const count = checkInt('count', options.count, 0, U24_MAX);
  const immed = checkBool('immediate', options.immediate);
  const wsmk = checkBool('setmarks', options.setmarks);
  const cdb = new Uint8Array(6);
  cdb[0] = Opcode.WRITE_FILEMARKS_6;
  cdb[1] = (wsmk ? 0x02 : 0) | (immed ? 0x01 : 0);
  putU24(cdb, 2, count);
  return cdb;
}

/** SPACE codes (SSC-4 table "CODE field definition"). */
export const SpaceCode = {
  BLOCKS: 0,
  FILEMARKS: 1,
  SEQUENTIAL_FILEMARKS: 2,
  END_OF_DATA: 3,
} as const;
export type SpaceCode = (typeof SpaceCode)[keyof typeof SpaceCode];

const SPACE_CODES = new Set<number>(Object.values(SpaceCode));

export interface Space6Options {
  code: SpaceCode;
  /**
   * Signed count, -800000h..7FFFFFh; negative spaces towards BOP. Sent as 24-bit two's complement.
   * Ignored by the device for END_OF_DATA; defaults to 0.
   */
  count?: number;
}

function checkSpaceCode(code: number): number {
  if (!SPACE_CODES.has(code)) throw new InvalidArgumentError('code', code, 'a SpaceCode (0..3)');
  return code;
}

/** SPACE(6) (SSC-4). */
export function space6Cdb(options: Space6Options): Uint8Array {
  const code = checkSpaceCode(options.code);
  const count = checkInt('count', options.count ?? 0, -0x80_0000, 0x7f_ffff);
  const cdb = new Uint8Array(6);
  cdb[0] = Opcode.SPACE_6;
  cdb[1] = code;
  putU24(cdb, 2, count & U24_MAX);
  return cdb;
}

export interface Space16Options {
  code: SpaceCode;
  /** Signed 64-bit count (number or bigint); negative spaces towards BOP. Defaults to 0. */
  count?: number | bigint;
}

/** SPACE(16) (SSC-4). PARAMETER LENGTH is 0: no parameter data is sent. */
export function space16Cdb(options: Space16Options): Uint8Array {
  const code = checkSpaceCode(options.code);
  const count = checkS64('count', options.count ?? 0);
  const cdb = new Uint8Array(16);
  cdb[0] = Opcode.SPACE_16;
  cdb[1] = code;
  putU64(cdb, 4, count);
  return cdb;
}

export interface Locate10Options extends ImmediateOption {
  /** Logical object identifier (block address) to locate to, 0..FFFFFFFFh. */
  blockAddress: number;
  /** Partition to change to; sets CP=1. Omit to stay in the current partition. */
  partition?: number;
  /** BT=1: `blockAddress` is a vendor-specific device block address instead of a logical one. */
  blockAddressType?: boolean;
}

/** LOCATE(10) (SSC-4). */
export function locate10Cdb(options: Locate10Options): Uint8Array {
  const address = checkInt('blockAddress', options.blockAddress, 0, U32_MAX);
  const immed = checkBool('immediate', options.immediate);
  const bt = checkBool('blockAddressType', options.blockAddressType);
  const cp = options.partition !== undefined;
  const partition = cp ? checkInt('partition', options.partition ?? 0, 0, 0xff) : 0;
  const cdb = new Uint8Array(10);
  cdb[0] = Opcode.LOCATE_10;
  cdb[1] = (bt ? 0x04 : 0) | (cp ? 0x02 : 0) | (immed ? 0x01 : 0);
  putU32(cdb, 3, address);
  cdb[8] = partition;
  return cdb;
}

/** LOCATE(16) destination type (DEST_TYPE field). */
export type LocateDestination = 'logical-object' | 'logical-file' | 'end-of-data';
const DEST_TYPE: Record<LocateDestination, number> = {
  'logical-object': 0,
  'logical-file': 1,
  'end-of-data': 3,
};

export interface Locate16Options extends ImmediateOption {
  /** Logical object identifier or logical file identifier, 0..2^64-1 (number or bigint). */
  logicalIdentifier: number | bigint;
  /** What `logicalIdentifier` counts. Default `logical-object`. */
  destination?: LocateDestination;
  /** Partition to change to; sets CP=1. */
  partition?: number;
}

/** LOCATE(16) (SSC-4). */
export function locate16Cdb(options: Locate16Options): Uint8Array {
  const identifier = checkU64('logicalIdentifier', options.logicalIdentifier);
  const immed = checkBool('immediate', options.immediate);
  const destType = DEST_TYPE[options.destination ?? 'logical-object'];
  if (destType === undefined) {
    throw new InvalidArgumentError(
      'destination',
      options.destination,
      'logical-object | logical-file | end-of-data',
    );
  }
  const cp = options.partition !== undefined;
  const partition = cp ? checkInt('partition', options.partition ?? 0, 0, 0xff) : 0;
  const cdb = new Uint8Array(16);
  cdb[0] = Opcode.LOCATE_16;
  cdb[1] = (destType << 3) | (cp ? 0x02 : 0) | (immed ? 0x01 : 0);
  cdb[3] = partition;
  putU64(cdb, 4, identifier);
  return cdb;
}

/** READ POSITION service actions (SSC-4 table "READ POSITION service action codes"). */
export const ReadPositionForm = {
  SHORT: 0x00,
  SHORT_VENDOR: 0x01,
  LONG: 0x06,
  EXTENDED: 0x08,
} as const;
export type ReadPositionForm = (typeof ReadPositionForm)[keyof typeof ReadPositionForm];

export interface ReadPositionOptions {
  /** Service action; default LONG (the form that carries the file number). */
  form?: ReadPositionForm;
  /**
   * Only the extended form takes an allocation length (default 32); for the short and long
   * forms SSC requires the field to be zero.
   */
  allocationLength?: number;
}

/** READ POSITION (SSC-4). */
export function readPositionCdb(options: ReadPositionOptions = {}): Uint8Array {
  const form = options.form ?? ReadPositionForm.LONG;
  if (!Object.values(ReadPositionForm).includes(form)) {
    throw new InvalidArgumentError('form', form, 'a ReadPositionForm (00h, 01h, 06h or 08h)');
  }
  const allocationLength =
    form === ReadPositionForm.EXTENDED
      ? checkInt('allocationLength', options.allocationLength ?? 32, 0, 0xffff)
      : checkInt('allocationLength', options.allocationLength ?? 0, 0, 0);
  const cdb = new Uint8Array(10);
  cdb[0] = Opcode.READ_POSITION;
  cdb[1] = form;
  putU16(cdb, 7, allocationLength);
  return cdb;
}

/** ALLOW OVERWRITE field values (SSC-4). */
export const AllowOverwriteMode = {
  /** Cancel a previous authorisation. */
  DISABLED: 0,
  /** Allow one overwrite at the given position (which must be the current one). */
  CURRENT_POSITION: 1,
  /** Allow a FORMAT MEDIUM. */
  FORMAT: 2,
} as const;
export type AllowOverwriteMode = (typeof AllowOverwriteMode)[keyof typeof AllowOverwriteMode];

export interface AllowOverwriteOptions {
  mode: AllowOverwriteMode;
  /** Partition of the logical object. */
  partition: number;
  /** Logical object identifier the next write may overwrite, 0..2^64-1. */
  logicalObjectIdentifier: number | bigint;
}

/** ALLOW OVERWRITE (82h, SSC-4): authorises one overwrite in append-only mode. 16-byte CDB. */
export function allowOverwriteCdb(options: AllowOverwriteOptions): Uint8Array {
  const mode = checkInt('mode', options.mode, 0, 2);
  const partition = checkInt('partition', options.partition, 0, 0xff);
  const identifier = checkU64('logicalObjectIdentifier', options.logicalObjectIdentifier);
  const cdb = new Uint8Array(16);
  cdb[0] = Opcode.ALLOW_OVERWRITE;
  cdb[2] = mode;
  cdb[3] = partition;
  putU64(cdb, 4, identifier);
  return cdb;
}

export interface EraseOptions extends ImmediateOption {
  /** LONG=1: erase from the current position to the end of the partition (slow). LONG=0 writes EOD. */
  long?: boolean;
}

/** ERASE(6) (SSC-4). */
export function erase6Cdb(options: EraseOptions = {}): Uint8Array {
  const immed = checkBool('immediate', options.immediate);
  const long = checkBool('long', options.long);
  return new Uint8Array([Opcode.ERASE_6, (immed ? 0x02 : 0) | (long ? 0x01 : 0), 0, 0, 0, 0]);
}
