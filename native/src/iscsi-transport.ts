/**
 * `ScsiTransport` over one iSCSI session (libiscsi in the addon). Connection loss, refused
 * connections, failed logins and deadlines become `ScsiTransportError` / `ScsiTimeoutError` with
 * the errno-like code the addon reports (`ECONNREFUSED`, `ELOGIN`, `ECONNRESET`, ...).
 */
import { type ScsiError, ScsiTimeoutError, ScsiTransportError } from '@tapedup/scsi';
import { type IscsiHandle, isNativeCallError, type NativeAddon, nativeAddon } from './addon';
import type { CdbCommand, CdbResponse, ScsiTransport } from './transport';

export interface IscsiTarget {
  host: string;
  port: number;
  targetIqn: string;
  lun: number;
}

export interface IscsiTransportOptions extends IscsiTarget {
  /** Our initiator name. Default `iqn.2024-01.io.tapedup:initiator`. */
  initiatorIqn?: string | undefined;
  /** Deadline for TCP connect + login. Default 10 s. */
  connectTimeoutMs?: number | undefined;
  /** The addon; tests may inject one. Default: the built addon. */
  addon?: NativeAddon | undefined;
}

export const DEFAULT_INITIATOR_IQN = 'iqn.2024-01.io.tapedup:initiator';

/** `iscsi://host:port/iqn/lun` */
export function iscsiName(target: IscsiTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `iscsi://${host}:${target.port}/${target.targetIqn}/${target.lun}`;
}

/** Maps an addon failure to the transport error the contract promises. */
export function iscsiError(error: unknown, name: string, what: string, opcode?: number): ScsiError {
  if (isNativeCallError(error)) {
    const fields = { cause: error, ...(opcode === undefined ? {} : { opcode }) };
    if (error.code === 'ETIMEDOUT')
      return new ScsiTimeoutError(`${name}: ${what} timed out: ${error.message}`, fields);
    return new ScsiTransportError(`${name}: ${what} failed: ${error.message}`, {
      ...fields,
      errno: error.code,
    });
  }
  return new ScsiTransportError(`${name}: ${what} failed: ${String(error)}`, { cause: error });
}

export class IscsiTransport implements ScsiTransport {
  readonly name: string;
  readonly #options: IscsiTransportOptions;
  #addon: NativeAddon | undefined;
  #handle: IscsiHandle | undefined;
  readonly #connectTimeoutMs: number;

  constructor(options: IscsiTransportOptions) {
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new RangeError(`port must be an integer in 1..65535 (got ${options.port})`);
    }
    if (!Number.isInteger(options.lun) || options.lun < 0 || options.lun > 16383) {
      throw new RangeError(`lun must be an integer in 0..16383 (got ${options.lun})`);
    }
    this.#options = options;
    this.#addon = options.addon;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.name = iscsiName(options);
  }

  #native(): NativeAddon {
    this.#addon ??= nativeAddon();
    return this.#addon;
  }

  async connect(): Promise<void> {
    const addon = this.#native();
    const o = this.#options;
    this.#handle ??= addon.iscsiCreate(
      `${o.host}:${o.port}`,
      o.targetIqn,
      o.initiatorIqn ?? DEFAULT_INITIATOR_IQN,
      o.lun,
    );
    try {
      await addon.iscsiConnect(this.#handle, this.#connectTimeoutMs);
    } catch (error) {
      throw iscsiError(error, this.name, 'connect and login');
    }
  }

  async execute(command: CdbCommand): Promise<CdbResponse> {
    const handle = this.#handle;
    if (handle === undefined) {
      throw new ScsiTransportError(`${this.name}: not connected`, {
        errno: 'ENOTCONN',
        opcode: command.cdb[0],
      });
    }
    try {
      const r = await this.#native().iscsiExecute(
        handle,
        command.cdb,
        command.dataOut ?? null,
        command.dataInLength ?? 0,
        command.timeoutMs,
      );
      const requested = command.dataInLength ?? 0;
      return {
        status: r.status,
        sense: r.sense,
        data: r.data,
        transferred: Math.max(0, requested - r.residual),
      };
    } catch (error) {
      throw iscsiError(error, this.name, `command ${hexOpcode(command.cdb)}`, command.cdb[0]);
    }
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    try {
      await this.#native().iscsiDisconnect(handle, 2000);
    } catch {
      // Logging out of a session that is already gone is not a failure of close().
    }
  }
}

function hexOpcode(cdb: Uint8Array): string {
  return `${(cdb[0] ?? 0).toString(16).padStart(2, '0')}h`;
}
