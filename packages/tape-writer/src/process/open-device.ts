/**
 * Opens the drive a spec names. `virtual:<library-dir>#<drive>` is built here (a VirtualDrive on a
 * scaled real clock, cartridges moved by the VirtualLibrary); `iscsi://`, `sg:` and `st:` come from
 * the native package, imported only when such a spec is used so the writer runs without the addon.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DriveSpec } from '@tapedup/protocol';
import { ScsiError, ScsiTransportError, type TapeDevice } from '@tapedup/scsi';
import {
  type FaultPlan,
  MemoryMedium,
  type ProfileName,
  parseVirtualDriveSpec,
  RealClock,
  VirtualDrive,
  VirtualLibrary,
} from '@tapedup/virtual-drive';
import type { MediaChanger } from '../engine/medium';
import type { EngineLogger } from '../engine/types';
import { VirtualLibraryChanger } from '../media/library-changer';
import { LoadedMediumChanger } from '../media/loaded-medium-changer';

export interface OpenedDrive {
  device: TapeDevice;
  changer: MediaChanger;
  /** The protocol `DriveSpec` of `hello`. */
  spec: DriveSpec;
  /** Barcode of the cartridge in the drive at start, if known. */
  medium: string | undefined;
  /** Where this drive's lock file goes. */
  lockPath: string;
  close(): Promise<void>;
}

export interface OpenDeviceOptions {
  clockScale: number;
  /** Timing profile of a virtual drive (default LTO-9; ignored by other transports). */
  profile?: ProfileName;
  logger: EngineLogger;
  /** Directory for lock files of non-virtual drives (default /run/tapedup or the temp dir). */
  lockDir?: string;
  /** Loads the native package (tests replace it). */
  loadNative?: () => Promise<{ openDeviceSpec(spec: string): Promise<TapeDevice> }>;
  /** Faults a virtual drive injects (ignored by other transports; the options refuse them there). */
  faults?: FaultPlan;
  /**
   * How long a real device keeps trying to reconnect, once open, while its target refuses the
   * connection (an iSCSI target restarting), before the command fails. Default 5 minutes.
   */
  reconnectWindowMs?: number;
}

export class DeviceOpenError extends Error {
  override readonly name = 'DeviceOpenError';
  readonly code: 'NO_LIBRARY' | 'UNKNOWN_DRIVE' | 'NATIVE_UNAVAILABLE';
  constructor(code: DeviceOpenError['code'], message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

/**
 * The lock file of the drive a spec names: in the library directory for a virtual drive, else in
 * `lockDir` (default /run/tapedup, or the temp directory where /run does not exist).
 */
export function lockPathFor(spec: string, lockDir?: string): string {
  if (spec.startsWith('virtual:')) {
    const parsed = parseVirtualDriveSpec(spec);
    return join(resolve(parsed.libraryDir), `drive-${parsed.drive}.writer.lock`);
  }
  const dir =
    lockDir ?? (existsSync('/run') ? '/run/tapedup' : join(process.env.TMPDIR ?? '/tmp', 'tapedup'));
  return join(dir, `drive-${spec.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200)}.lock`);
}

/** The `DriveSpec` transport of a device spec. */
function transportOf(spec: string): DriveSpec['transport'] {
  if (spec.startsWith('virtual:')) return 'virtual';
  if (spec.startsWith('iscsi://')) return 'iscsi';
  if (spec.startsWith('sg:')) return 'sg';
  return 'st';
}

export async function openDevice(spec: string, options: OpenDeviceOptions): Promise<OpenedDrive> {
  const transport = transportOf(spec);
  if (transport === 'virtual') return openVirtual(spec, options);
  // The native package is bundled into the writer but evaluated only here, when a real device is
  // used; it finds its addon file through the package (see native/src/addon.ts), not the bundle.
  const load = options.loadNative ?? (() => import('@tapedup/native'));
  let native: Awaited<ReturnType<typeof load>>;
  try {
    native = await load();
  } catch (cause) {
    throw new DeviceOpenError(
      'NATIVE_UNAVAILABLE',
      `${spec}: the native device package cannot be loaded`,
      cause,
    );
  }
  // Opening fails at once on a wrong path or an unreachable target (the writer then exits with that
  // typed error and is restarted with backoff); once open, a target that goes away is waited for.
  const device = new ReconnectingDevice(await native.openDeviceSpec(spec), {
    windowMs: options.reconnectWindowMs ?? DEFAULT_RECONNECT_WINDOW_MS,
    logger: options.logger,
  });
  const identity = await device.inquiry();
  return {
    device,
    changer: new LoadedMediumChanger(device),
    spec: {
      name: spec.slice(0, 256),
      transport,
      vendor: identity.vendor.slice(0, 64),
      product: identity.product.slice(0, 64),
      revision: identity.revision.slice(0, 64),
      serial: identity.serial.slice(0, 64),
    },
    medium: undefined,
    lockPath: lockPathFor(spec, options.lockDir),
    close: () => device.close(),
  };
}

async function openVirtual(spec: string, options: OpenDeviceOptions): Promise<OpenedDrive> {
  const parsed = parseVirtualDriveSpec(spec);
  const dir = resolve(parsed.libraryDir);
  if (!existsSync(join(dir, 'library.json'))) {
    throw new DeviceOpenError('NO_LIBRARY', `${spec}: no virtual library in ${dir}`);
  }
  const library = await VirtualLibrary.open(dir);
  if (!(await library.drives()).some((d) => d.name === parsed.drive)) {
    throw new DeviceOpenError('UNKNOWN_DRIVE', `${spec}: the library has no drive "${parsed.drive}"`);
  }
  const drive = new VirtualDrive({
    name: spec,
    clock: new RealClock({ scale: options.clockScale }),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
    logger: options.logger.child({ component: 'virtual-drive' }),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  });
  const changer = new VirtualLibraryChanger(library, parsed.drive, drive);
  const mounted = await library.mountedIn(parsed.drive);
  if (mounted !== undefined) {
    await drive.loadMedium(await library.openMedium(mounted));
    await drive.open();
  } else {
    // The virtual drive opens only with a cartridge inside; an empty drive opens on a placeholder
    // that is taken out again, so capabilities are known before the first mount.
    await drive.loadMedium(new MemoryMedium({ barcode: 'PLACEHOLDER', capacityBytes: 1 }));
    await drive.open();
    await drive.unloadMedium();
  }
  const identity = await drive.inquiry().catch(() => undefined);
  return {
    device: drive,
    changer,
    spec: {
      name: spec.slice(0, 256),
      transport: 'virtual',
      vendor: identity?.vendor ?? 'TAPEDUP',
      product: identity?.product ?? 'VIRTUAL',
      revision: identity?.revision ?? '',
      serial: identity?.serial ?? '',
    },
    medium: mounted,
    lockPath: lockPathFor(spec),
    close: async () => {
      // Leave the cartridge mounted in the library; flush and close our handle to its file.
      const store = drive.medium;
      if (store !== undefined) {
        await drive.unloadMedium().catch(() => undefined);
        await store.close().catch(() => undefined);
      }
      await drive.close();
    },
  };
}

export const DEFAULT_RECONNECT_WINDOW_MS = 5 * 60_000;

/**
 * Transport errors a device raises only while connecting, before any command reached the drive:
 * retrying the command after such an error can neither repeat nor skip anything on tape.
 */
const CONNECT_ERRNOS = new Set(['ECONNREFUSED', 'ELOGIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);

function isConnectFailure(error: unknown): error is ScsiError {
  return (
    error instanceof ScsiError &&
    error.category === 'transport' &&
    CONNECT_ERRNOS.has(String((error as { errno?: unknown }).errno))
  );
}

/** Commands that depend on where the medium is: never sent first on a fresh connection. */
const POSITION_DEPENDENT: ReadonlySet<string> = new Set([
  'writeBlock',
  'writeFilemarks',
  'readBlock',
  'space',
]);

export interface ReconnectingDeviceOptions {
  /** How long one command keeps retrying a refused connection before it fails, ms. */
  windowMs: number;
  logger: EngineLogger;
  /** First delay between attempts, ms (doubles up to `maxDelayMs`). Default 100. */
  initialDelayMs?: number;
  /** Default 5000. */
  maxDelayMs?: number;
  /** Waits `ms` (tests inject their own). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * A real device whose target may go away and come back (an iSCSI target restarting). A command
 * that fails while connecting — nothing was sent — is tried again, with growing delays, until the
 * connection is back or `windowMs` has passed; any other failure, including a connection lost in
 * the middle of a command, is passed on at once, so the batch it hits fails as it must. After a
 * reconnect the device knows no position: the writer repositions from its catalog position first.
 */
export class ReconnectingDevice implements TapeDevice {
  readonly name: string;
  readonly #device: TapeDevice;
  readonly #o: Required<Omit<ReconnectingDeviceOptions, 'logger'>> & { logger: EngineLogger };

  constructor(device: TapeDevice, options: ReconnectingDeviceOptions) {
    this.#device = device;
    this.name = device.name;
    this.#o = {
      initialDelayMs: 100,
      maxDelayMs: 5000,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      now: Date.now,
      ...options,
    };
  }

  async #retry<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const started = this.#o.now();
    let delay = this.#o.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt > 1 && POSITION_DEPENDENT.has(operation)) {
          // A new connection (the target may have restarted) says nothing of where the medium is:
          // wait for it without moving anything, then fail the command unsent so the writer
          // repositions from its last good position before it writes or reads again.
          await this.#device.testUnitReady().catch((error: unknown) => {
            if (isConnectFailure(error)) throw error;
          });
          this.#o.logger.info({ device: this.name, operation, attempt }, 'device reconnected');
          throw new ScsiTransportError(
            `${this.name}: reconnected; the position is unknown, ${operation} was not sent`,
            { errno: 'RECONNECTED' },
          );
        }
        const result = await run();
        if (attempt > 1) this.#o.logger.info({ device: this.name, operation, attempt }, 'device reconnected');
        return result;
      } catch (error) {
        if (!isConnectFailure(error) || this.#o.now() - started + delay > this.#o.windowMs) throw error;
        this.#o.logger.warn(
          { device: this.name, operation, attempt, code: error.code, retryInMs: delay },
          'device unreachable; retrying',
        );
        await this.#o.sleep(delay);
        delay = Math.min(this.#o.maxDelayMs, delay * 2);
      }
    }
  }

  open() {
    return this.#device.open();
  }
  close() {
    return this.#device.close();
  }
  capabilities() {
    return this.#device.capabilities();
  }
  inquiry() {
    return this.#retry('inquiry', () => this.#device.inquiry());
  }
  testUnitReady() {
    return this.#retry('testUnitReady', () => this.#device.testUnitReady());
  }
  writeBlock(...args: Parameters<TapeDevice['writeBlock']>) {
    return this.#retry('writeBlock', () => this.#device.writeBlock(...args));
  }
  writeFilemarks(...args: Parameters<TapeDevice['writeFilemarks']>) {
    return this.#retry('writeFilemarks', () => this.#device.writeFilemarks(...args));
  }
  readBlock(...args: Parameters<TapeDevice['readBlock']>) {
    return this.#retry('readBlock', () => this.#device.readBlock(...args));
  }
  space(...args: Parameters<TapeDevice['space']>) {
    return this.#retry('space', () => this.#device.space(...args));
  }
  locate(...args: Parameters<TapeDevice['locate']>) {
    return this.#retry('locate', () => this.#device.locate(...args));
  }
  readPosition() {
    return this.#retry('readPosition', () => this.#device.readPosition());
  }
  rewind() {
    return this.#retry('rewind', () => this.#device.rewind());
  }
  load() {
    return this.#retry('load', () => this.#device.load());
  }
  unload() {
    return this.#retry('unload', () => this.#device.unload());
  }
  setAppendOnly(...args: Parameters<TapeDevice['setAppendOnly']>) {
    return this.#retry('setAppendOnly', () => this.#device.setAppendOnly(...args));
  }
  allowOverwrite(...args: Parameters<TapeDevice['allowOverwrite']>) {
    return this.#retry('allowOverwrite', () => this.#device.allowOverwrite(...args));
  }
}
