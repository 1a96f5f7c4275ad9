/**
 * The `TapeDevice` contract: what every drive implementation (virtual, iSCSI,
 * SG_IO, st) promises to a tape writer. Types only; no implementation here.
 *
 * General rules that hold for every method:
 * - Every method that talks to the drive returns a promise and never blocks the
 *   event loop. Every such call has a deadline; when it passes the promise rejects
 *   with a `ScsiTimeoutError` (category `transport`). A device never hangs forever.
 * - Commands are executed strictly in call order. A caller may issue the next
 *   command before the previous promise settles; the device queues it.
 * - Failures reject with a `ScsiError` (or subclass). The `category` of the error
 *   is the contract; the message is for humans.
 * - **Deferred errors.** A drive with a write buffer acknowledges writes and
 *   immediate filemarks before the data reaches the medium. When buffered data
 *   later fails to reach the medium, the drive reports it on the *next* command
 *   (or on the next synchronous filemark) as an error with `deferred: true`
 *   (sense response code 71h/73h). A deferred error belongs to data written since
 *   the last good synchronisation, never to the command that carried it: the
 *   caller must treat every write since the last good sync as lost.
 * - After a synchronous filemark (`writeFilemarks(n, { immediate: false })`,
 *   including `n = 0`) resolves, everything written before it is on the medium.
 *   That is the only proof of durability the contract gives.
 * - Positions are logical object (block) numbers as SSC counts them: every data
 *   block and every filemark occupies one logical object, counted from 0 at BOT.
 */

/** What the device honours; discovered at open (INQUIRY, MODE SENSE, probes) and fixed until close. */
export interface TapeDeviceCapabilities {
  /** WRITE FILEMARKS with IMMED=1 returns before the buffer is flushed. tgt ignores IMMED: false there. */
  immediateFilemarks: boolean;
  /** READ POSITION returns the real logical object number (tgt answers zeros: false there). */
  readPosition: boolean;
  /** READ POSITION reports the blocks and bytes still in the drive buffer. */
  bufferedCounts: boolean;
  /** LOCATE(10/16) is supported. Without it, positioning uses REWIND + SPACE. */
  locate: boolean;
  /** SPACE to end of data (code 3) is supported. */
  spaceToEndOfData: boolean;
  /** The Device Configuration Extension append-only WRITE MODE can be enabled. */
  appendOnly: boolean;
  /** ALLOW OVERWRITE (82h) is supported. */
  allowOverwrite: boolean;
  /** Writes near the end of the medium succeed with EOM set (early warning) before VOLUME OVERFLOW. */
  earlyWarning: boolean;
  /** Largest variable block the device accepts (READ BLOCK LIMITS). */
  maxBlockSize: number;
  /** Smallest block the device accepts (READ BLOCK LIMITS); usually 1. */
  minBlockSize: number;
}

/** The identity of the drive (standard INQUIRY + unit serial number VPD page). */
export interface DriveIdentity {
  /** SPC peripheral device type; 1 = sequential-access (tape). */
  peripheralDeviceType: number;
  vendor: string;
  product: string;
  revision: string;
  serial: string;
}

/** Where the drive is. `blockNumber` counts data blocks and filemarks from BOT (SSC logical objects). */
export interface TapePosition {
  partition: number;
  /** Logical object number of the next object to be read or written (host side, including buffered writes). */
  blockNumber: number;
  /** Filemarks between BOT and this position, when the device reports it (long form); otherwise undefined. */
  fileNumber?: number | undefined;
  /** Beginning of partition. */
  bop: boolean;
  /** Between early warning and end of partition. */
  eop: boolean;
  /** Blocks written by the host but still in the drive buffer, when the device reports it. */
  blocksInBuffer?: number | undefined;
  /** Bytes written by the host but still in the drive buffer, when the device reports it. */
  bytesInBuffer?: number | undefined;
}

/** Result of a write or filemark command that succeeded. */
export interface WriteResult {
  /** The early-warning point has been passed: finish the current file and move to another medium. */
  earlyWarning: boolean;
}

/** Result of a read: a data block, a filemark (the position is now after it) or end of data. */
export type ReadResult =
  | {
      kind: 'data';
      data: Uint8Array;
      /** The block was longer than the requested length; `data` holds the first `maxLength` bytes. */
      overlength: boolean;
      /** The block's real length (equal to `data.length` unless `overlength`). */
      blockLength: number;
    }
  | { kind: 'filemark' }
  | { kind: 'end-of-data' };

export type SpaceUnit = 'blocks' | 'filemarks' | 'end-of-data';

/** Result of SPACE. A space that stops early (BOT, EOD, a filemark while spacing blocks) is not an error. */
export interface SpaceResult {
  /** Objects actually spaced over (absolute value). */
  spaced: number;
  /** Why the space stopped early, when it did. */
  stoppedAt?: 'filemark' | 'bot' | 'end-of-data' | undefined;
}

export interface WriteFilemarksOptions {
  /**
   * IMMED=1: return once the marks are in the drive buffer (~3 ms). IMMED=0 (false): return only
   * when every block and mark before them is on the medium (1–2 s); errors of buffered data
   * surface here. With `immediate: false` and `count: 0` the command is a pure flush.
   */
  immediate: boolean;
}

export interface TapeDevice {
  /** Human-readable device name, e.g. `virtual:/srv/lib#drive0` or `iscsi://127.0.0.1:3260/iqn.../1`. */
  readonly name: string;

  /**
   * Opens the device and discovers its capabilities. Rejects with `not-ready` when no medium is
   * loaded and the device cannot load one, or `transport` when the device cannot be reached.
   * Holds the device exclusively until `close`.
   */
  open(): Promise<void>;

  /** Releases the device. Does not flush: callers that need durability sync first. Idempotent. */
  close(): Promise<void>;

  /** Identity of the drive. Valid after `open`. */
  inquiry(): Promise<DriveIdentity>;

  /** Capabilities discovered at open. Throws if called before `open` resolved. */
  capabilities(): TapeDeviceCapabilities;

  /** TEST UNIT READY. Resolves when ready; rejects `not-ready` or `unit-attention` (which it then clears). */
  testUnitReady(): Promise<void>;

  /**
   * Writes one variable-length block at the current position. Writing anywhere but at end of data
   * erases everything after the new block (as tape does) unless append-only mode refuses it.
   * Resolves when the block is accepted into the drive buffer (backpressure: not before it fits).
   * Resolves `{ earlyWarning: true }` past early warning.
   * Rejects: `volume-overflow` past the physical end; `data-protect` on a write-protected cartridge or
   * an unauthorised overwrite in append-only mode; `medium`/`hardware` (possibly `deferred`).
   */
  writeBlock(data: Uint8Array): Promise<WriteResult>;

  /**
   * WRITE FILEMARKS(6). `count` 0..2^24-1. See {@link WriteFilemarksOptions} for IMMED.
   * Rejects like `writeBlock`; a synchronous call also rejects with any deferred error of buffered data.
   */
  writeFilemarks(count: number, options: WriteFilemarksOptions): Promise<WriteResult>;

  /**
   * Reads the next block (variable mode). A block longer than `maxLength` yields its first `maxLength`
   * bytes with `overlength: true`, and the position moves past it. Meeting a filemark yields
   * `{ kind: 'filemark' }` with the position after it; end of data yields `{ kind: 'end-of-data' }`
   * with the position unchanged. Rejects `medium`, `hardware`, `blank-check` (blank medium).
   */
  readBlock(maxLength: number): Promise<ReadResult>;

  /**
   * SPACE(6). Positive counts move towards EOD, negative towards BOT. Spacing blocks stops after a
   * filemark it meets (the position is then past it, in the direction of travel) and reports
   * `stoppedAt: 'filemark'`; any space stops at BOT or EOD and reports it. `end-of-data` ignores `count`.
   */
  space(unit: SpaceUnit, count: number): Promise<SpaceResult>;

  /**
   * LOCATE to a logical object number. Rejects `illegal-request` (UnsupportedOperationError) when
   * `capabilities().locate` is false; `blank-check`/`end-of-data` beyond EOD.
   */
  locate(blockNumber: number, partition?: number): Promise<void>;

  /**
   * READ POSITION. When `capabilities().readPosition` is false the device returns the position it
   * tracked itself by counting objects since the last absolute positioning (REWIND/LOCATE/EOD),
   * which is exact as long as no other initiator moved the tape.
   */
  readPosition(): Promise<TapePosition>;

  /** REWIND to BOT (partition 0). Synchronous: resolves when at BOT. */
  rewind(): Promise<void>;

  /** LOAD (threads the medium, position BOT). */
  load(): Promise<void>;

  /** UNLOAD (rewinds and ejects). Flushes the buffer first, as drives do. */
  unload(): Promise<void>;

  /**
   * Turns SSC-4 append-only mode on or off (Device Configuration Extension mode page 10h/01h,
   * WRITE MODE = 1). In append-only mode a write or filemark that would overwrite existing data
   * (anywhere but EOD) fails with category `data-protect` unless `allowOverwrite` authorised exactly
   * that position. Rejects `illegal-request` when unsupported.
   */
  setAppendOnly(enabled: boolean): Promise<void>;

  /**
   * ALLOW OVERWRITE (82h) for the current position: the next write or filemark may overwrite the
   * object at `blockNumber`, which must equal the current position. The authorisation ends with any
   * command that moves the medium. Rejects `illegal-request` when unsupported or the position differs.
   */
  allowOverwrite(blockNumber: number, partition?: number): Promise<void>;
}
