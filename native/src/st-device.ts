/**
 * A locally attached drive through the Linux st driver (`st:/dev/nstN`, the non-rewinding node).
 * st hides sense data behind errno, so errors are classified from errno plus the MTIOCGET status
 * bits read right after the failure. Immediate filemarks are MTWEOFI, synchronous ones MTWEOF, a
 * flush is MTWEOF with count 0. st has no INQUIRY or READ BLOCK LIMITS of its own: the identity
 * comes from sysfs and the block size limit from the options.
 *
 * The syscalls are injected (`StSyscalls`) so the errno mapping is tested without a drive. st calls
 * cannot be cancelled; when a call overruns its deadline the promise rejects with
 * `ScsiTimeoutError` and the device refuses further commands until the stuck call returns.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  type DriveIdentity,
  InvalidArgumentError,
  type ReadResult,
  ScsiError,
  type ScsiErrorCategory,
  ScsiTimeoutError,
  ScsiTransportError,
  type SpaceResult,
  type SpaceUnit,
  type TapeDevice,
  type TapeDeviceCapabilities,
  type TapePosition,
  UnsupportedOperationError,
  type WriteFilemarksOptions,
  type WriteResult,
} from '@tapedup/scsi';
import { isNativeCallError, type MtGet, type MtOps, nativeAddon } from './addon';
import { type DeviceLogger, silentLogger } from './logger';
import { SerialQueue } from './serial-queue';

/** The st calls the device needs; failures reject with an errno-style `code` (`EIO`, `ENOSPC`, ...). */
export interface StSyscalls {
  readonly ops: MtOps;
  open(path: string, readOnly: boolean): Promise<number>;
  close(fd: number): Promise<void>;
  write(fd: number, block: Uint8Array): Promise<number>;
  read(fd: number, maxLength: number): Promise<Uint8Array>;
  mtop(fd: number, op: number, count: number): Promise<void>;
  mtpos(fd: number): Promise<number>;
  mtget(fd: number): Promise<MtGet>;
  /** SCSI identity of the drive behind the st node (sysfs). */
  identity(path: string): Promise<DriveIdentity>;
}

/** GMT_* status bits of `mtget.gstat` (linux/mtio.h). */
export const Gmt = {
  EOF: 0x8000_0000,
  BOT: 0x4000_0000,
  EOT: 0x2000_0000,
  EOD: 0x0800_0000,
  WR_PROT: 0x0400_0000,
  ONLINE: 0x0100_0000,
  DR_OPEN: 0x0004_0000,
} as const;

const has = (gstat: number, bit: number): boolean => ((gstat >>> 0) & bit) >>> 0 !== 0;

/** Reads vendor/model/rev of the SCSI device behind /dev/nstN from sysfs. */
export async function sysfsIdentity(path: string): Promise<DriveIdentity> {
  const node = basename(path).replace(/^n/, '');
  const dir = `/sys/class/scsi_tape/${node}/device`;
  const field = async (name: string): Promise<string> => (await readFile(`${dir}/${name}`, 'utf8')).trim();
  const [vendor, product, revision] = await Promise.all([field('vendor'), field('model'), field('rev')]);
  return { peripheralDeviceType: 1, vendor, product, revision, serial: '' };
}

/** The real syscalls, from the addon (loaded on first use). */
export function nativeStSyscalls(): StSyscalls {
  return {
    get ops() {
      return nativeAddon().stConstants;
    },
    open: (path, readOnly) => nativeAddon().stOpen(path, readOnly),
    close: (fd) => nativeAddon().stClose(fd),
    write: (fd, block) => nativeAddon().stWrite(fd, block),
    read: (fd, maxLength) => nativeAddon().stRead(fd, maxLength),
    mtop: (fd, op, count) => nativeAddon().stMtop(fd, op, count),
    mtpos: (fd) => nativeAddon().stMtpos(fd),
    mtget: (fd) => nativeAddon().stMtget(fd),
    identity: sysfsIdentity,
  };
}

export type StOperation = 'open' | 'write' | 'read' | 'filemark' | 'space' | 'position' | 'other';

/**
 * The `ScsiError` for an st failure: the errno, refined by the status bits MTIOCGET reported right
 * after it (when it could be read). Pure, so every row is tested without a drive.
 */
export function stErrorFromErrno(
  errno: string,
  operation: StOperation,
  name: string,
  gstat?: number,
  cause?: unknown,
): ScsiError {
  const at = (category: ScsiErrorCategory, code: string, text: string, retryable = false): ScsiError =>
    new ScsiError(`${name}: ${operation}: ${text} (${errno})`, { code, category, retryable, cause });
  const bits = gstat ?? 0;
  switch (errno) {
    case 'ENOSPC':
      return operation === 'write' || operation === 'filemark'
        ? at('volume-overflow', 'ST_END_OF_MEDIUM', 'end of medium')
        : at('other', 'ST_ENOSPC', 'no space');
    case 'EROFS':
    case 'EACCES':
      return has(bits, Gmt.WR_PROT) || errno === 'EROFS' || operation !== 'open'
        ? at('data-protect', 'ST_WRITE_PROTECTED', 'the medium is write protected')
        : new ScsiTransportError(`${name}: open: permission denied (${errno})`, {
            errno,
            retryable: false,
            cause,
          });
    case 'ENOMEDIUM':
      return at('not-ready', 'ST_NO_MEDIUM', 'no medium loaded', true);
    case 'EIO':
      if ((operation === 'read' || operation === 'space') && has(bits, Gmt.EOD)) {
        return at('end-of-data', 'ST_END_OF_DATA', 'end of data');
      }
      if ((operation === 'write' || operation === 'filemark') && has(bits, Gmt.EOT)) {
        return at('volume-overflow', 'ST_END_OF_MEDIUM', 'end of medium');
      }
      if (has(bits, Gmt.DR_OPEN) || (gstat !== undefined && !has(bits, Gmt.ONLINE))) {
        return at('not-ready', 'ST_NOT_READY', 'the drive is not ready', true);
      }
      // st does not pass sense data up; an I/O error on tape is a medium or drive failure.
      return at('medium', 'ST_EIO', 'I/O error');
    case 'EINVAL':
      return at('illegal-request', 'ST_EINVAL', 'invalid request (block size or unsupported operation)');
    case 'ENOMEM':
      return at('other', 'ST_BLOCK_TOO_LONG', 'the block is longer than the read buffer');
    case 'EBUSY':
      return new ScsiTransportError(`${name}: ${operation}: the device is in use (EBUSY)`, { errno, cause });
    case 'ETIMEDOUT':
      return new ScsiTimeoutError(`${name}: ${operation} timed out`, { cause });
    default:
      return new ScsiTransportError(`${name}: ${operation} failed (${errno})`, {
        errno,
        retryable: errno !== 'ENOENT' && errno !== 'ENXIO' && errno !== 'ENODEV',
        cause,
      });
  }
}

export interface StTapeDeviceOptions {
  /** `/dev/nstN` (use the non-rewinding node: the rewinding one rewinds on every close). */
  path: string;
  syscalls?: StSyscalls | undefined;
  logger?: DeviceLogger | undefined;
  /** Largest block written or read; st does not report the drive's limit. Default 1 MiB. */
  maxBlockSize?: number | undefined;
  /** Deadline per call. Default 15 minutes; a REWIND of a full LTO cartridge takes minutes. */
  timeoutMs?: number | undefined;
  /** Rewind at open. Default false: st keeps the position across opens of the non-rewinding node. */
  rewindOnOpen?: boolean | undefined;
}

export class StTapeDevice implements TapeDevice {
  readonly name: string;
  readonly #path: string;
  readonly #sys: StSyscalls;
  readonly #log: DeviceLogger;
  readonly #maxBlockSize: number;
  readonly #timeoutMs: number;
  readonly #rewindOnOpen: boolean;
  readonly #queue = new SerialQueue();
  #fd: number | undefined;
  #everOpened = false;
  #identity: DriveIdentity | undefined;
  #caps: TapeDeviceCapabilities | undefined;
  /** A call overran its deadline and has not returned yet. */
  #stuck: Promise<unknown> | undefined;
  /** st returned ENOSPC once: the next write is the one st lets through past early warning. */
  #pastEarlyWarning = false;

  constructor(options: StTapeDeviceOptions) {
    if (typeof options.path !== 'string' || options.path.length === 0) {
      throw new InvalidArgumentError('path', options.path, 'a device path such as /dev/nst0');
    }
    const maxBlockSize = options.maxBlockSize ?? 1024 * 1024;
    if (!Number.isInteger(maxBlockSize) || maxBlockSize < 1 || maxBlockSize > 16 * 1024 * 1024) {
      throw new InvalidArgumentError('maxBlockSize', maxBlockSize, 'an integer in 1..16777216');
    }
    const timeoutMs = options.timeoutMs ?? 15 * 60_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
      throw new InvalidArgumentError('timeoutMs', timeoutMs, 'a positive integer');
    }
    this.#path = options.path;
    this.name = `st:${options.path}`;
    this.#sys = options.syscalls ?? nativeStSyscalls();
    this.#log = options.logger ?? silentLogger;
    this.#maxBlockSize = maxBlockSize;
    this.#timeoutMs = timeoutMs;
    this.#rewindOnOpen = options.rewindOnOpen ?? false;
  }

  open(): Promise<void> {
    return this.#queue.run(async () => {
      if (this.#fd !== undefined) return;
      const fd = await this.#call('open', () => this.#sys.open(this.#path, false));
      try {
        this.#identity = await this.#sys.identity(this.#path).catch((error: unknown) => {
          this.#log.info(
            { device: this.name, error: String(error) },
            'drive identity unavailable from sysfs',
          );
          return {
            peripheralDeviceType: 1,
            vendor: 'UNKNOWN',
            product: 'st device',
            revision: '',
            serial: '',
          };
        });
        // Variable block mode: one write(2) is one tape block.
        await this.#call('other', () => this.#sys.mtop(fd, this.#sys.ops.MTSETBLK, 0), fd);
        if (this.#rewindOnOpen)
          await this.#call('position', () => this.#sys.mtop(fd, this.#sys.ops.MTREW, 1), fd);
      } catch (error) {
        await this.#sys.close(fd).catch(() => undefined);
        throw error;
      }
      this.#fd = fd;
      this.#everOpened = true;
      this.#caps = {
        immediateFilemarks: true,
        readPosition: true,
        bufferedCounts: false,
        locate: true,
        spaceToEndOfData: true,
        appendOnly: false,
        allowOverwrite: false,
        earlyWarning: true,
        maxBlockSize: this.#maxBlockSize,
        minBlockSize: 1,
      };
      this.#log.info(
        { device: this.name, capabilities: this.#caps },
        'st device opened; append-only mode and ALLOW OVERWRITE need sg: (st cannot send them)',
      );
    });
  }

  close(): Promise<void> {
    return this.#queue.run(async () => {
      const fd = this.#fd;
      if (fd === undefined) return;
      this.#fd = undefined;
      await this.#call('other', () => this.#sys.close(fd));
    });
  }

  capabilities(): TapeDeviceCapabilities {
    if (this.#caps === undefined || this.#fd === undefined) throw this.#notOpen();
    return { ...this.#caps };
  }

  inquiry(): Promise<DriveIdentity> {
    return this.#command(async () => ({ ...(this.#identity as DriveIdentity) }));
  }

  testUnitReady(): Promise<void> {
    return this.#command(async (fd) => {
      const status = await this.#call('other', () => this.#sys.mtget(fd), fd);
      if (has(status.gstat, Gmt.DR_OPEN) || !has(status.gstat, Gmt.ONLINE)) {
        throw new ScsiError(`${this.name}: the drive is not ready (no medium or offline)`, {
          code: 'ST_NOT_READY',
          category: 'not-ready',
          retryable: true,
        });
      }
    });
  }

  writeBlock(data: Uint8Array): Promise<WriteResult> {
    return this.#command(async (fd) => {
      if (!(data instanceof Uint8Array) || data.length < 1 || data.length > this.#maxBlockSize) {
        throw new InvalidArgumentError(
          'data',
          data?.length,
          `a Uint8Array of 1..${this.#maxBlockSize} bytes`,
        );
      }
      try {
        const written = await this.#call('write', () => this.#sys.write(fd, data), fd);
        if (written !== data.length) {
          throw new ScsiError(`${this.name}: short write (${written} of ${data.length} bytes)`, {
            code: 'ST_SHORT_WRITE',
            category: 'volume-overflow',
            retryable: false,
          });
        }
        const warned = this.#pastEarlyWarning;
        this.#pastEarlyWarning = false;
        return { earlyWarning: warned };
      } catch (error) {
        // st refuses the first write past early warning with ENOSPC and lets the next one through
        // (so that trailers can be written): retry once and report the early warning.
        if (error instanceof ScsiError && error.code === 'ST_END_OF_MEDIUM' && !this.#pastEarlyWarning) {
          this.#pastEarlyWarning = true;
          this.#log.warn(
            { device: this.name },
            'early warning reached; retrying the write once as st allows',
          );
          const written = await this.#call('write', () => this.#sys.write(fd, data), fd);
          if (written === data.length) return { earlyWarning: true };
        }
        throw error;
      }
    });
  }

  writeFilemarks(count: number, options: WriteFilemarksOptions): Promise<WriteResult> {
    return this.#command(async (fd) => {
      if (!Number.isInteger(count) || count < 0 || count > 0xff_ffff) {
        throw new InvalidArgumentError('count', count, 'an integer in 0..16777215');
      }
      if (typeof options?.immediate !== 'boolean') {
        throw new InvalidArgumentError('options.immediate', options?.immediate, 'a boolean');
      }
      const op = options.immediate ? this.#sys.ops.MTWEOFI : this.#sys.ops.MTWEOF;
      if (options.immediate && count === 0) return { earlyWarning: false };
      await this.#call('filemark', () => this.#sys.mtop(fd, op, count), fd);
      const status = await this.#call('other', () => this.#sys.mtget(fd), fd);
      return { earlyWarning: has(status.gstat, Gmt.EOT) };
    });
  }

  readBlock(maxLength: number): Promise<ReadResult> {
    return this.#command(async (fd) => {
      if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > 16 * 1024 * 1024) {
        throw new InvalidArgumentError('maxLength', maxLength, 'an integer in 1..16777216');
      }
      let data: Uint8Array;
      try {
        data = await this.#call('read', () => this.#sys.read(fd, maxLength), fd);
      } catch (error) {
        if (error instanceof ScsiError && error.code === 'ST_END_OF_DATA') return { kind: 'end-of-data' };
        if (error instanceof ScsiError && error.code === 'ST_BLOCK_TOO_LONG')
          return this.#rereadLong(fd, maxLength);
        throw error;
      }
      if (data.length > 0) return { kind: 'data', data, overlength: false, blockLength: data.length };
      // A zero-length read is a filemark (st has moved past it) or end of data.
      const status = await this.#call('other', () => this.#sys.mtget(fd), fd);
      return has(status.gstat, Gmt.EOD) ? { kind: 'end-of-data' } : { kind: 'filemark' };
    });
  }

  /** st answers ENOMEM for a block longer than the buffer: back over it and read it whole. */
  async #rereadLong(fd: number, maxLength: number): Promise<ReadResult> {
    await this.#call('space', () => this.#sys.mtop(fd, this.#sys.ops.MTBSR, 1), fd);
    const whole = await this.#call('read', () => this.#sys.read(fd, this.#maxBlockSize), fd);
    return { kind: 'data', data: whole.slice(0, maxLength), overlength: true, blockLength: whole.length };
  }

  space(unit: SpaceUnit, count: number): Promise<SpaceResult> {
    return this.#command(async (fd) => {
      if (!Number.isInteger(count) || Math.abs(count) > 0x7fff_ffff) {
        throw new InvalidArgumentError('count', count, 'a 32-bit signed integer');
      }
      const ops = this.#sys.ops;
      let op: number;
      if (unit === 'end-of-data') op = ops.MTEOM;
      else if (unit === 'blocks') op = count >= 0 ? ops.MTFSR : ops.MTBSR;
      else if (unit === 'filemarks') op = count >= 0 ? ops.MTFSF : ops.MTBSF;
      else throw new InvalidArgumentError('unit', unit, "'blocks' | 'filemarks' | 'end-of-data'");
      if (unit !== 'end-of-data' && count === 0) return { spaced: 0 };
      const n = unit === 'end-of-data' ? 1 : Math.abs(count);
      try {
        await this.#withDeadline('space', () => this.#sys.mtop(fd, op, n));
        return { spaced: unit === 'end-of-data' ? 0 : n };
      } catch (error) {
        if (error instanceof ScsiError) throw error;
        const errno = isNativeCallError(error) ? error.code : 'EIO';
        const status = await this.#sys.mtget(fd).catch(() => undefined);
        if (errno === 'EIO' && status !== undefined) {
          const spaced = Math.max(0, n - Math.abs(status.resid));
          if (has(status.gstat, Gmt.EOD)) return { spaced, stoppedAt: 'end-of-data' };
          if (has(status.gstat, Gmt.BOT) && count < 0) return { spaced, stoppedAt: 'bot' };
          if (has(status.gstat, Gmt.EOF) && unit === 'blocks') return { spaced, stoppedAt: 'filemark' };
        }
        throw stErrorFromErrno(errno, 'space', this.name, status?.gstat, error);
      }
    });
  }

  locate(blockNumber: number, partition?: number): Promise<void> {
    return this.#command(async (fd) => {
      if (partition !== undefined && partition !== 0)
        throw new UnsupportedOperationError('partitions', this.name);
      if (!Number.isInteger(blockNumber) || blockNumber < 0 || blockNumber > 0x7fff_ffff) {
        throw new InvalidArgumentError('blockNumber', blockNumber, 'an integer in 0..2147483647');
      }
      await this.#call('position', () => this.#sys.mtop(fd, this.#sys.ops.MTSEEK, blockNumber), fd);
    });
  }

  readPosition(): Promise<TapePosition> {
    return this.#command(async (fd) => {
      const blockNumber = await this.#call('position', () => this.#sys.mtpos(fd), fd);
      const status = await this.#call('other', () => this.#sys.mtget(fd), fd);
      return {
        partition: 0,
        blockNumber,
        fileNumber: status.fileno >= 0 ? status.fileno : undefined,
        bop: has(status.gstat, Gmt.BOT),
        eop: has(status.gstat, Gmt.EOT),
        blocksInBuffer: undefined,
        bytesInBuffer: undefined,
      };
    });
  }

  rewind(): Promise<void> {
    return this.#command(async (fd) => {
      await this.#call('position', () => this.#sys.mtop(fd, this.#sys.ops.MTREW, 1), fd);
    });
  }

  load(): Promise<void> {
    return this.#command(async (fd) => {
      await this.#call('position', () => this.#sys.mtop(fd, this.#sys.ops.MTLOAD, 1), fd);
    });
  }

  unload(): Promise<void> {
    return this.#command(async (fd) => {
      await this.#call('position', () => this.#sys.mtop(fd, this.#sys.ops.MTUNLOAD, 1), fd);
    });
  }

  setAppendOnly(_enabled: boolean): Promise<void> {
    return this.#command(async () => {
      throw new UnsupportedOperationError('append-only mode (use sg: for MODE SELECT)', this.name);
    });
  }

  allowOverwrite(_blockNumber: number, _partition?: number): Promise<void> {
    return this.#command(async () => {
      throw new UnsupportedOperationError('ALLOW OVERWRITE (use sg:)', this.name);
    });
  }

  #notOpen(): ScsiError {
    return new ScsiError(`${this.name} is ${this.#everOpened ? 'closed' : 'not open'}`, {
      code: this.#everOpened ? 'DEVICE_CLOSED' : 'DEVICE_NOT_OPEN',
      category: 'not-ready',
      retryable: false,
    });
  }

  #command<T>(job: (fd: number) => Promise<T>): Promise<T> {
    return this.#queue.run(async () => {
      const fd = this.#fd;
      if (fd === undefined) throw this.#notOpen();
      if (this.#stuck !== undefined) {
        throw new ScsiTimeoutError(
          `${this.name}: an earlier call overran its deadline and has not returned`,
          {
            code: 'ST_CALL_STUCK',
          },
        );
      }
      return job(fd);
    });
  }

  /**
   * One syscall with the deadline; a failure becomes a typed error, classified with the status
   * bits read just after it.
   */
  async #call<T>(operation: StOperation, call: () => Promise<T>, fd?: number): Promise<T> {
    try {
      return await this.#withDeadline(operation, call);
    } catch (error) {
      if (error instanceof ScsiError) throw error;
      const errno = isNativeCallError(error) ? error.code : 'EUNKNOWN';
      const status = fd === undefined ? undefined : await this.#sys.mtget(fd).catch(() => undefined);
      throw stErrorFromErrno(errno, operation, this.name, status?.gstat, error);
    }
  }

  /** Races a call against the deadline; the raw failure passes through. */
  async #withDeadline<T>(operation: StOperation, call: () => Promise<T>): Promise<T> {
    const pending = call();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#stuck = pending;
        const clear = (): void => {
          this.#stuck = undefined;
        };
        pending.then(clear, clear);
        reject(
          new ScsiTimeoutError(`${this.name}: ${operation} did not return within ${this.#timeoutMs} ms`),
        );
      }, this.#timeoutMs);
    });
    try {
      return await Promise.race([pending, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}
