/**
 * The virtual tape library: a directory of tgt cartridge files with a state file describing
 * barcodes, pools, media states and which named drive holds which cartridge.
 *
 * ```
 * <dir>/library.json            state (replaced atomically: temp file, fsync, rename)
 * <dir>/library.lock            O_EXCL lock file held around every read-modify-write of the state
 * <dir>/cartridges/<BARCODE>.img
 * ```
 * Several processes (the coordinator and one writer per drive) may open the same library: every
 * change takes the lock, re-reads the state, applies the change and writes the state back, so no
 * update is lost; reads use the last state written (a rename makes it whole or absent, never torn).
 */

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CartridgeMountedError,
  DriveEmptyError,
  DriveOccupiedError,
  InvalidBarcodeError,
  LibraryOptionError,
  LibraryStateError,
  NoScratchMediaError,
  UnknownCartridgeError,
  UnknownDriveError,
  UnknownPoolError,
} from './library-errors';
import { acquireLock } from './library-lock';
import { TgtCartridgeFile } from './tgt-cartridge';

/**
 * Media states, as a media manager keeps them:
 * - `scratch`: blank or expired, free for allocation;
 * - `active`: allocated to a pool and being written;
 * - `full`: end of medium reached; readable, never chosen for writing;
 * - `frozen`: taken out of service after errors; readable only (opened write protected).
 */
export type MediaState = 'scratch' | 'active' | 'full' | 'frozen';
export const MEDIA_STATES: ReadonlyArray<MediaState> = ['scratch', 'active', 'full', 'frozen'];

export interface CartridgeRecord {
  barcode: string;
  pool: string;
  state: MediaState;
  /** Why the state last changed, when the caller said. */
  reason?: string;
  /** The drive holding the cartridge, if mounted. */
  drive?: string;
  /** Refuse writes when the cartridge is opened (tgt keeps no such flag in the file). */
  writeProtected: boolean;
  capacityBytes: number;
  /** Wall-clock ms of the last state change. */
  updatedAt: number;
}

export interface DriveRecord {
  name: string;
  barcode?: string;
}

export interface VirtualLibraryOptions {
  /** Cartridges created per pool on first use; default `{ default: 4 }`. */
  pools?: Record<string, number>;
  /** Capacity of each new cartridge in bytes; default LTO-9 native, 18 TB (files grow only as written). */
  capacityBytes?: number;
  /** Leading letters of generated barcodes (1-5 of A-Z 0-9); default `TD` (TD0001L9, TD0002L9, ...). */
  barcodePrefix?: string;
  /** Media identifier after the number (0-2 of A-Z 0-9); default `L9`. */
  mediaSuffix?: string;
  /** Drives named `drive0`..`drive<n-1>` (a count), or explicit names; default 2. */
  drives?: number | ReadonlyArray<string>;
  /** How long a call waits for another process's lock before `LibraryLockedError`; default 10 s. */
  lockTimeoutMs?: number;
  /** Wall clock in ms for `updatedAt` and cartridge serial numbers; default `Date.now`. */
  now?: () => number;
}

interface LibraryState {
  version: 1;
  drives: string[];
  pools: string[];
  cartridges: CartridgeRecord[];
}

const STATE_FILE = 'library.json';
const LOCK_FILE = 'library.lock';
const CARTRIDGE_DIR = 'cartridges';
const LTO_LABEL_DIGITS = 6;
const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const BARCODE_PATTERN = /^[A-Za-z0-9_-]{1,31}$/;
const DEFAULT_CAPACITY = 18_000_000_000_000;

interface ResolvedOptions {
  pools: [string, number][];
  capacityBytes: number;
  barcodePrefix: string;
  mediaSuffix: string;
  drives: string[];
  lockTimeoutMs: number;
  now: () => number;
}

export class VirtualLibrary {
  private constructor(
    /** The library directory. */
    readonly dir: string,
    private readonly options: ResolvedOptions,
  ) {}

  /**
   * Opens the library in `dir`, creating it (directory, cartridges, state) on first use. Creation
   * options (`pools`, `capacityBytes`, `barcodePrefix`, `mediaSuffix`, `drives`) apply only then;
   * an existing library keeps what it was created with.
   */
  static async open(dir: string, options: VirtualLibraryOptions = {}): Promise<VirtualLibrary> {
    const library = new VirtualLibrary(dir, resolveOptions(options));
    await mkdir(join(dir, CARTRIDGE_DIR), { recursive: true });
    if ((await library.readStateIfAny()) === undefined) await library.withLock(async () => undefined);
    return library;
  }

  /** All cartridges, by barcode. */
  async list(): Promise<CartridgeRecord[]> {
    return (await this.readState()).cartridges.map((c) => ({ ...c }));
  }

  /** The record of one cartridge. */
  async cartridge(barcode: string): Promise<CartridgeRecord> {
    return { ...findCartridge(await this.readState(), checkBarcode(barcode)) };
  }

  /** The drives and what each holds. */
  async drives(): Promise<DriveRecord[]> {
    const state = await this.readState();
    return state.drives.map((name) => {
      const held = state.cartridges.find((c) => c.drive === name);
      return held === undefined ? { name } : { name, barcode: held.barcode };
    });
  }

  /** Pool names. */
  async pools(): Promise<string[]> {
    return [...(await this.readState()).pools];
  }

  /**
   * Takes the scratch cartridge with the lowest barcode in `pool` (skipping `exclude`), marks it
   * `active` and returns its barcode. Throws `NoScratchMediaError` when there is none.
   */
  allocateScratch(pool: string, options: { exclude?: ReadonlyArray<string> } = {}): Promise<string> {
    const exclude = new Set(options.exclude ?? []);
    return this.withLock((state) => {
      if (!state.pools.includes(pool)) throw new UnknownPoolError(pool);
      const chosen = state.cartridges.find(
        (c) => c.pool === pool && c.state === 'scratch' && !exclude.has(c.barcode),
      );
      if (chosen === undefined) throw new NoScratchMediaError(pool);
      chosen.state = 'active';
      chosen.reason = 'allocated from scratch';
      chosen.updatedAt = this.options.now();
      return chosen.barcode;
    });
  }

  async setState(barcode: string, state: MediaState, reason?: string): Promise<void> {
    checkBarcode(barcode);
    if (!MEDIA_STATES.includes(state)) {
      throw new LibraryOptionError(
        'state',
        `must be one of ${MEDIA_STATES.join(', ')}, got ${JSON.stringify(state)}`,
      );
    }
    await this.withLock((s) => {
      const record = findCartridge(s, barcode);
      record.state = state;
      if (reason === undefined) delete record.reason;
      else record.reason = reason;
      record.updatedAt = this.options.now();
    });
  }

  async setWriteProtected(barcode: string, writeProtected: boolean): Promise<void> {
    checkBarcode(barcode);
    await this.withLock((s) => {
      const record = findCartridge(s, barcode);
      record.writeProtected = writeProtected;
      record.updatedAt = this.options.now();
    });
  }

  /**
   * Loads `barcode` into `drive`. A drive holds at most one cartridge and a cartridge sits in at most
   * one drive; mounting a cartridge into the drive that already holds it is a no-op.
   */
  async mount(drive: string, barcode: string): Promise<void> {
    checkBarcode(barcode);
    await this.withLock((state) => {
      if (!state.drives.includes(drive)) throw new UnknownDriveError(drive);
      const record = findCartridge(state, barcode);
      if (record.drive === drive) return;
      if (record.drive !== undefined) throw new CartridgeMountedError(barcode, record.drive);
      const occupant = state.cartridges.find((c) => c.drive === drive);
      if (occupant !== undefined) throw new DriveOccupiedError(drive, occupant.barcode);
      record.drive = drive;
    });
  }

  /** Unloads `drive`, returning the barcode it held. */
  unmount(drive: string): Promise<string> {
    return this.withLock((state) => {
      if (!state.drives.includes(drive)) throw new UnknownDriveError(drive);
      const occupant = state.cartridges.find((c) => c.drive === drive);
      if (occupant === undefined) throw new DriveEmptyError(drive);
      delete occupant.drive;
      return occupant.barcode;
    });
  }

  /** The barcode in `drive`, or undefined when it is empty. */
  async mountedIn(drive: string): Promise<string | undefined> {
    const state = await this.readState();
    if (!state.drives.includes(drive)) throw new UnknownDriveError(drive);
    return state.cartridges.find((c) => c.drive === drive)?.barcode;
  }

  /**
   * Opens the cartridge file. It is write protected when the record says so or the medium is
   * frozen. The caller owns the handle and must close it.
   */
  async openMedium(barcode: string): Promise<TgtCartridgeFile> {
    const record = findCartridge(await this.readState(), checkBarcode(barcode));
    return TgtCartridgeFile.open(this.cartridgePath(barcode), {
      writeProtected: record.writeProtected || record.state === 'frozen',
    });
  }

  /** `<dir>/cartridges/<barcode>.img`, after checking the barcode cannot leave that directory. */
  cartridgePath(barcode: string): string {
    return join(this.dir, CARTRIDGE_DIR, `${checkBarcode(barcode)}.img`);
  }

  private get statePath(): string {
    return join(this.dir, STATE_FILE);
  }

  private async readState(): Promise<LibraryState> {
    const state = await this.readStateIfAny();
    if (state === undefined) throw new LibraryStateError(this.statePath, 'missing');
    return state;
  }

  private async readStateIfAny(): Promise<LibraryState | undefined> {
    let text: string;
    try {
      text = await readFile(this.statePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return parseState(this.statePath, text);
  }

  /**
   * Runs `change` on the current state under the lock and writes the result back. Creates the
   * library first when there is no state yet (so two processes opening a new directory create it once).
   */
  private async withLock<T>(change: (state: LibraryState) => T): Promise<T> {
    const release = await acquireLock(join(this.dir, LOCK_FILE), { timeoutMs: this.options.lockTimeoutMs });
    try {
      const state = (await this.readStateIfAny()) ?? (await this.createCartridges());
      const result = change(state);
      await this.writeState(state);
      return result;
    } finally {
      await release();
    }
  }

  /** Creates every cartridge file (reusing any a crashed earlier creation left) and returns the new state. */
  private async createCartridges(): Promise<LibraryState> {
    const { pools, barcodePrefix, mediaSuffix, capacityBytes, drives, now } = this.options;
    const digits = LTO_LABEL_DIGITS - barcodePrefix.length;
    const cartridges: CartridgeRecord[] = [];
    let serial = 1;
    for (const [pool, count] of pools) {
      for (let k = 0; k < count; k += 1) {
        const barcode = `${barcodePrefix}${String(serial).padStart(digits, '0')}${mediaSuffix}`;
        serial += 1;
        const path = this.cartridgePath(barcode);
        try {
          await (
            await TgtCartridgeFile.create(path, { barcode, capacityBytes, mediaPool: pool, now })
          ).close();
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          await (await TgtCartridgeFile.open(path, { writeProtected: true })).close();
        }
        cartridges.push({
          barcode,
          pool,
          state: 'scratch',
          writeProtected: false,
          capacityBytes,
          updatedAt: now(),
        });
      }
    }
    return { version: 1, drives: [...drives], pools: pools.map(([name]) => name), cartridges };
  }

  private async writeState(state: LibraryState): Promise<void> {
    const temporary = `${this.statePath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(temporary, 'wx', 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await handle.datasync();
    } catch (error) {
      await handle.close();
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    await handle.close();
    await rename(temporary, this.statePath);
    // Make the rename itself durable.
    const directory = await open(this.dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }
}

function checkBarcode(barcode: string): string {
  if (typeof barcode !== 'string' || !BARCODE_PATTERN.test(barcode))
    throw new InvalidBarcodeError(String(barcode));
  return barcode;
}

function findCartridge(state: LibraryState, barcode: string): CartridgeRecord {
  const record = state.cartridges.find((c) => c.barcode === barcode);
  if (record === undefined) throw new UnknownCartridgeError(barcode);
  return record;
}

function parseState(path: string, text: string): LibraryState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LibraryStateError(path, `not JSON (${(error as Error).message})`);
  }
  const state = parsed as Partial<LibraryState> | null;
  if (typeof state !== 'object' || state === null || state.version !== 1) {
    throw new LibraryStateError(path, 'expected an object with version 1');
  }
  if (!Array.isArray(state.drives) || !Array.isArray(state.pools) || !Array.isArray(state.cartridges)) {
    throw new LibraryStateError(path, 'drives, pools and cartridges must be arrays');
  }
  for (const c of state.cartridges as unknown[]) {
    const r = c as Partial<CartridgeRecord> | null;
    if (
      typeof r !== 'object' ||
      r === null ||
      typeof r.barcode !== 'string' ||
      !BARCODE_PATTERN.test(r.barcode) ||
      typeof r.pool !== 'string' ||
      !MEDIA_STATES.includes(r.state as MediaState)
    ) {
      throw new LibraryStateError(path, `bad cartridge entry ${JSON.stringify(c)}`);
    }
  }
  return state as LibraryState;
}

function resolveOptions(options: VirtualLibraryOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null)
    throw new LibraryOptionError('options', 'must be an object');
  const pools = Object.entries(options.pools ?? { default: 4 });
  if (options.pools !== undefined && (typeof options.pools !== 'object' || options.pools === null)) {
    throw new LibraryOptionError('pools', 'must be an object mapping pool names to cartridge counts');
  }
  if (pools.length === 0) throw new LibraryOptionError('pools', 'must name at least one pool');
  for (const [name, count] of pools) {
    if (!NAME_PATTERN.test(name))
      throw new LibraryOptionError('pools', `pool name ${JSON.stringify(name)} must match ${NAME_PATTERN}`);
    if (!Number.isInteger(count) || count < 0) {
      throw new LibraryOptionError(`pools.${name}`, `must be a non-negative integer, got ${count}`);
    }
  }
  const barcodePrefix = options.barcodePrefix ?? 'TD';
  if (typeof barcodePrefix !== 'string' || !/^[A-Z0-9]{1,5}$/.test(barcodePrefix)) {
    throw new LibraryOptionError(
      'barcodePrefix',
      `must be 1-5 characters of A-Z 0-9, got ${JSON.stringify(barcodePrefix)}`,
    );
  }
  const mediaSuffix = options.mediaSuffix ?? 'L9';
  if (typeof mediaSuffix !== 'string' || !/^[A-Z0-9]{0,2}$/.test(mediaSuffix)) {
    throw new LibraryOptionError(
      'mediaSuffix',
      `must be 0-2 characters of A-Z 0-9, got ${JSON.stringify(mediaSuffix)}`,
    );
  }
  const total = pools.reduce((sum, [, count]) => sum + count, 0);
  const limit = 10 ** (LTO_LABEL_DIGITS - barcodePrefix.length) - 1;
  if (total > limit) {
    throw new LibraryOptionError(
      'pools',
      `${total} cartridges do not fit the ${limit} numbers barcodePrefix ${barcodePrefix} leaves`,
    );
  }
  const capacityBytes = options.capacityBytes ?? DEFAULT_CAPACITY;
  if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 1) {
    throw new LibraryOptionError('capacityBytes', `must be a positive integer, got ${capacityBytes}`);
  }
  const drivesOption = options.drives ?? 2;
  let drives: string[];
  if (typeof drivesOption === 'number') {
    if (!Number.isInteger(drivesOption) || drivesOption < 1 || drivesOption > 256) {
      throw new LibraryOptionError(
        'drives',
        `must be an integer in [1, 256] or a list of names, got ${drivesOption}`,
      );
    }
    drives = Array.from({ length: drivesOption }, (_, k) => `drive${k}`);
  } else if (Array.isArray(drivesOption) && drivesOption.length > 0) {
    drives = [...drivesOption];
    for (const name of drives) {
      if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
        throw new LibraryOptionError(
          'drives',
          `drive name ${JSON.stringify(name)} must match ${NAME_PATTERN}`,
        );
      }
    }
    if (new Set(drives).size !== drives.length)
      throw new LibraryOptionError('drives', 'names must be unique');
  } else {
    throw new LibraryOptionError('drives', 'must be a drive count or a non-empty list of names');
  }
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  if (typeof lockTimeoutMs !== 'number' || !(lockTimeoutMs >= 0) || !Number.isFinite(lockTimeoutMs)) {
    throw new LibraryOptionError('lockTimeoutMs', `must be a non-negative number, got ${lockTimeoutMs}`);
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function')
    throw new LibraryOptionError('now', 'must be a function returning milliseconds');
  return { pools, capacityBytes, barcodePrefix, mediaSuffix, drives, lockTimeoutMs, now };
}
