/**
 * The one place that loads the native addon (`build/Release/tapedup_native.node`). Everything else
 * uses the typed wrappers exported here, so a missing or broken build surfaces as one typed error,
 * `NativeAddonUnavailableError`, with the reason, never as a crash at import time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Names an addon file to load instead of the package's own build (a relocated installation). */
export const ADDON_PATH_ENV = 'TAPEDUP_NATIVE_ADDON';

/**
 * The package's directory. This module is also bundled into runnable entry points (the tape writer's
 * dist/main.js), where `import.meta.url` is the bundle, not this file: the package is therefore
 * found by name, through the dependency the bundling package declares on it. Run from source, the
 * name resolves to this package too (self-reference through its `exports`).
 */
function packageRoot(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('@tapedup/native/package.json'));
  } catch {
    return join(dirname(fileURLToPath(import.meta.url)), '..');
  }
}

const buildDir = join(packageRoot(), 'build');

/**
 * The addon file: `$TAPEDUP_NATIVE_ADDON` when set, else where `node-gyp rebuild` (the package's
 * install script) builds it.
 */
export const ADDON_PATH = process.env[ADDON_PATH_ENV] || join(buildDir, 'Release', 'tapedup_native.node');
const UNAVAILABLE_REASON_PATH = join(buildDir, 'UNAVAILABLE');

/** Opaque handle of one iSCSI session (a native external). */
export interface IscsiHandle {
  readonly __brand: 'IscsiHandle';
}

/** Result of one SCSI command over iSCSI. `data` is the whole data-in buffer as allocated. */
export interface IscsiCommandResult {
  /** SCSI status byte (0 GOOD, 2 CHECK CONDITION, 8 BUSY, ...). */
  status: number;
  /** Raw sense bytes (empty unless CHECK CONDITION). */
  sense: Uint8Array;
  /** Data-in buffer, `dataInLength` bytes; how much of it is valid depends on the command. */
  data: Uint8Array;
  /** Residual count from the SCSI Response (underflow), as the target reported it. */
  residual: number;
}

/** The sg_io_hdr fields SG_IO hands back, unchanged. */
export interface SgIoResult {
  status: number;
  hostStatus: number;
  driverStatus: number;
  resid: number;
  duration: number;
  info: number;
  sense: Uint8Array;
  /** `dataInLength - resid` bytes of data-in. */
  data: Uint8Array;
}

/** struct mtget as MTIOCGET returns it; `gstat` holds the GMT_* status bits. */
export interface MtGet {
  type: number;
  resid: number;
  dsreg: number;
  gstat: number;
  erreg: number;
  fileno: number;
  blkno: number;
}

/** MTIOCTOP operation numbers, read from the kernel headers at build time. */
export interface MtOps {
  MTFSF: number;
  MTBSF: number;
  MTFSR: number;
  MTBSR: number;
  MTWEOF: number;
  MTWEOFI: number;
  MTREW: number;
  MTOFFL: number;
  MTEOM: number;
  MTSETBLK: number;
  MTSEEK: number;
  MTLOAD: number;
  MTUNLOAD: number;
}

/**
 * The addon's functions. Every function that touches a device returns a promise settled from a
 * libuv worker thread; failures reject with an `Error` whose `code` is an errno name (`EIO`,
 * `ETIMEDOUT`, `ECONNREFUSED`, `ELOGIN`, ...) and whose `errno` is the number when there is one.
 */
export interface NativeAddon {
  iscsiCreate(portal: string, targetIqn: string, initiatorIqn: string, lun: number): IscsiHandle;
  iscsiConnect(handle: IscsiHandle, timeoutMs: number): Promise<void>;
  iscsiExecute(
    handle: IscsiHandle,
    cdb: Uint8Array,
    dataOut: Uint8Array | null,
    dataInLength: number,
    timeoutMs: number,
  ): Promise<IscsiCommandResult>;
  iscsiDisconnect(handle: IscsiHandle, timeoutMs: number): Promise<void>;
  sgOpen(path: string): Promise<number>;
  sgExecute(
    fd: number,
    cdb: Uint8Array,
    dataOut: Uint8Array | null,
    dataInLength: number,
    timeoutMs: number,
  ): Promise<SgIoResult>;
  sgClose(fd: number): Promise<void>;
  stOpen(path: string, readOnly: boolean): Promise<number>;
  stClose(fd: number): Promise<void>;
  stWrite(fd: number, block: Uint8Array): Promise<number>;
  stRead(fd: number, maxLength: number): Promise<Uint8Array>;
  stMtop(fd: number, op: number, count: number): Promise<void>;
  stMtpos(fd: number): Promise<number>;
  stMtget(fd: number): Promise<MtGet>;
  readonly stConstants: MtOps;
}

/** The addon cannot be used: not built (no libiscsi-dev at install time) or failed to load. */
export class NativeAddonUnavailableError extends Error {
  override readonly name = 'NativeAddonUnavailableError';
  readonly code = 'NATIVE_ADDON_UNAVAILABLE';
  readonly reason: string;
  readonly path: string;
  constructor(reason: string, path: string, cause?: unknown) {
    super(`the tapedup native addon is unavailable: ${reason}`, cause === undefined ? undefined : { cause });
    this.reason = reason;
    this.path = path;
  }
}

/** An error thrown by an addon call: errno-style `code`, optional numeric `errno`. */
export interface NativeCallError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
}

export function isNativeCallError(value: unknown): value is NativeCallError {
  return value instanceof Error && typeof (value as { code?: unknown }).code === 'string';
}

let cached: { addon: NativeAddon } | { error: NativeAddonUnavailableError } | undefined;

function load(): { addon: NativeAddon } | { error: NativeAddonUnavailableError } {
  if (!existsSync(ADDON_PATH)) {
    if (process.env[ADDON_PATH_ENV]) {
      return { error: new NativeAddonUnavailableError(`${ADDON_PATH_ENV} names no file`, ADDON_PATH) };
    }
    const recorded = existsSync(UNAVAILABLE_REASON_PATH)
      ? readFileSync(UNAVAILABLE_REASON_PATH, 'utf8').trim()
      : 'not built; run `pnpm install` (or `pnpm --filter @tapedup/native run build:addon`)';
    return { error: new NativeAddonUnavailableError(recorded, ADDON_PATH) };
  }
  try {
    const required = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    return { addon: required };
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    return { error: new NativeAddonUnavailableError(`failed to load: ${message}`, ADDON_PATH, cause) };
  }
}

/** The addon, loaded once. Throws `NativeAddonUnavailableError` when it cannot be used. */
export function nativeAddon(): NativeAddon {
  cached ??= load();
  if ('error' in cached) throw cached.error;
  return cached.addon;
}

/** Whether the addon can be loaded, and if not, why (for skipping tests with a named reason). */
export function nativeAddonStatus(): { available: true } | { available: false; reason: string } {
  cached ??= load();
  return 'error' in cached ? { available: false, reason: cached.error.reason } : { available: true };
}
