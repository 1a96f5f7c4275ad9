/**
 * `ScsiTransport` over the Linux SCSI generic driver (ioctl SG_IO on /dev/sgN). The syscalls are
 * injected (`SgSyscalls`): the addon provides the real ones, tests provide fakes, so the mapping of
 * errno, host status and driver status to typed errors is tested without a drive.
 */
import { type ScsiError, ScsiTimeoutError, ScsiTransportError } from '@tapedup/scsi';
import { isNativeCallError, nativeAddon, type SgIoResult } from './addon';
import type { CdbCommand, CdbResponse, ScsiTransport } from './transport';

/** The three calls an SG_IO transport needs; errors reject with an errno-style `code`. */
export interface SgSyscalls {
  open(path: string): Promise<number>;
  execute(
    fd: number,
    cdb: Uint8Array,
    dataOut: Uint8Array | null,
    dataInLength: number,
    timeoutMs: number,
  ): Promise<SgIoResult>;
  close(fd: number): Promise<void>;
}

/** The real syscalls, from the addon (loaded on first use). */
export function nativeSgSyscalls(): SgSyscalls {
  return {
    open: (path) => nativeAddon().sgOpen(path),
    execute: (fd, cdb, out, inLen, timeoutMs) => nativeAddon().sgExecute(fd, cdb, out, inLen, timeoutMs),
    close: (fd) => nativeAddon().sgClose(fd),
  };
}

/** Linux host_status values (include/scsi/scsi.h, DID_*). */
export const HostStatus: Readonly<Record<number, string>> = {
  1: 'DID_NO_CONNECT',
  2: 'DID_BUS_BUSY',
  3: 'DID_TIME_OUT',
  4: 'DID_BAD_TARGET',
  5: 'DID_ABORT',
  6: 'DID_PARITY',
  7: 'DID_ERROR',
  8: 'DID_RESET',
  9: 'DID_BAD_INTR',
  10: 'DID_PASSTHROUGH',
  11: 'DID_SOFT_ERROR',
  12: 'DID_IMM_RETRY',
  13: 'DID_REQUEUE',
  14: 'DID_TRANSPORT_DISRUPTED',
  15: 'DID_TRANSPORT_FAILFAST',
  17: 'DID_TRANSPORT_MARGINAL',
};
const DID_TIME_OUT = 0x03;
/** driver_status low nibble (DRIVER_*); 0x08 (DRIVER_SENSE) only says sense data is present. */
const DRIVER_TIMEOUT = 0x06;
const DRIVER_MASK = 0x0f;

/**
 * Interprets one SG_IO answer: a command that reached the device (any SCSI status, with sense)
 * becomes a `CdbResponse`; a failure of the path becomes the error to throw.
 */
export function interpretSgIo(
  result: SgIoResult,
  command: CdbCommand,
  name: string,
): { response: CdbResponse } | { error: ScsiError } {
  const opcode = command.cdb[0];
  const where = `${name}: opcode ${(opcode ?? 0).toString(16).padStart(2, '0')}h`;
  if (result.hostStatus === DID_TIME_OUT || (result.driverStatus & DRIVER_MASK) === DRIVER_TIMEOUT) {
    return {
      error: new ScsiTimeoutError(
        `${where} timed out after ${result.duration} ms (limit ${command.timeoutMs} ms)`,
        {
          ...(opcode === undefined ? {} : { opcode }),
        },
      ),
    };
  }
  if (result.hostStatus !== 0) {
    const host = HostStatus[result.hostStatus] ?? `HOST_${result.hostStatus.toString(16).padStart(2, '0')}`;
    return {
      error: new ScsiTransportError(`${where}: host adapter reported ${host}`, {
        errno: host,
        ...(opcode === undefined ? {} : { opcode }),
      }),
    };
  }
  const driver = result.driverStatus & DRIVER_MASK;
  if (driver !== 0 && driver !== 0x08) {
    return {
      error: new ScsiTransportError(`${where}: driver status ${driver.toString(16)}h`, {
        errno: `DRIVER_${driver.toString(16).toUpperCase()}`,
        ...(opcode === undefined ? {} : { opcode }),
      }),
    };
  }
  const requested = command.dataInLength ?? 0;
  return {
    response: {
      status: result.status,
      sense: result.sense,
      data: result.data,
      transferred: requested > 0 ? Math.max(0, requested - result.resid) : 0,
    },
  };
}

/** Turns a rejected syscall into a transport error carrying the errno name. */
export function syscallError(error: unknown, what: string): ScsiError {
  if (isNativeCallError(error)) {
    if (error.code === 'ETIMEDOUT')
      return new ScsiTimeoutError(`${what}: ${error.message}`, { cause: error });
    return new ScsiTransportError(`${what}: ${error.message}`, { errno: error.code, cause: error });
  }
  return new ScsiTransportError(`${what}: ${String(error)}`, { cause: error });
}

export interface SgTransportOptions {
  /** `/dev/sgN`. */
  path: string;
  syscalls?: SgSyscalls | undefined;
}

export class SgTransport implements ScsiTransport {
  readonly name: string;
  readonly #path: string;
  readonly #sys: SgSyscalls;
  #fd: number | undefined;

  constructor(options: SgTransportOptions) {
    if (typeof options.path !== 'string' || options.path.length === 0) {
      throw new TypeError('path must be a non-empty device path such as /dev/sg3');
    }
    this.#path = options.path;
    this.#sys = options.syscalls ?? nativeSgSyscalls();
    this.name = `sg:${options.path}`;
  }

  async connect(): Promise<void> {
    if (this.#fd !== undefined) {
      const old = this.#fd;
      this.#fd = undefined;
      await this.#sys.close(old).catch(() => undefined);
    }
    try {
      this.#fd = await this.#sys.open(this.#path);
    } catch (error) {
      throw syscallError(error, `${this.name}: open`);
    }
  }

  async execute(command: CdbCommand): Promise<CdbResponse> {
    const fd = this.#fd;
    if (fd === undefined) {
      throw new ScsiTransportError(`${this.name}: not open`, { errno: 'EBADF', opcode: command.cdb[0] });
    }
    let result: SgIoResult;
    try {
      result = await this.#sys.execute(
        fd,
        command.cdb,
        command.dataOut ?? null,
        command.dataInLength ?? 0,
        command.timeoutMs,
      );
    } catch (error) {
      throw syscallError(error, `${this.name}: SG_IO`);
    }
    const outcome = interpretSgIo(result, command, this.name);
    if ('error' in outcome) throw outcome.error;
    return outcome.response;
  }

  async close(): Promise<void> {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    try {
      await this.#sys.close(fd);
    } catch (error) {
      throw syscallError(error, `${this.name}: close`);
    }
  }
}
