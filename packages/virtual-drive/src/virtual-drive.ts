import {
  type DriveIdentity,
  type ReadResult,
  ScsiError,
  ScsiTimeoutError,
  type SpaceResult,
  type SpaceUnit,
  type TapeDevice,
  type TapeDeviceCapabilities,
  type TapePosition,
  type WriteFilemarksOptions,
  type WriteResult,
} from '@tapedup/scsi';
import { BlockSlabs } from './block-slabs';
import type { Clock } from './clock';
import { DriveBuffer } from './drive-buffer';
import type {
  BufferSample,
  CommandLogEntry,
  DriveLogger,
  DriveStats,
  VirtualDriveOptions,
} from './drive-types';
import { FAULT_KINDS, FaultInjector, type FaultKind, type ScriptedFault } from './faults';
import type { MediumStore } from './medium';
import { canNumberFiles } from './medium-extensions';
import { type DriveProfile, makeProfile } from './profile';
import {
  appendOnlyViolation,
  endOfData,
  invalidField,
  mediumChanged,
  mediumNotPresent,
  notLoaded,
  notOpen,
  Opcode,
  readError,
  resetOccurred,
  unsupportedCommand,
  volumeOverflow,
  writeError,
  writeProtected,
} from './sense';
import { type StoreWriteFailure, StoreWriter } from './store-writer';

const NEVER = new Promise<never>(() => {});
const COMMAND_DONE = Symbol('command done');
const MAX_FILEMARKS = 0xffffff;
const MAX_SPACE = 0x7fffff;
/**
 * Data the head wrote that may wait for the store while WRITE commands go on (see `StoreWriter`):
 * enough to gather many blocks into one file write, small enough to keep the host's memory bounded.
 */
const STORE_BACKLOG_BYTES = 4 * 1024 * 1024;

type CommandClass = 'write' | 'filemark' | 'sync';

/**
 * A virtual SSC tape drive: the `TapeDevice` contract over a `MediumStore`, with an LTO-like timing
 * model (buffer drained at the media rate, immediate vs synchronous filemarks, backhitch), end of
 * medium, append-only mode, durability and fault injection. All time is model time from the injected
 * `Clock`; all persistence goes through the `MediumStore`.
 *
 * The buffer is lazy: what the head wrote by model time `t` is handed to the store at the start of the
 * next command (or a flush), which is indistinguishable from a background writer to any observer.
 */
export class VirtualDrive implements TapeDevice {
  readonly name: string;
  readonly profile: DriveProfile;
  readonly faults: FaultInjector;
  readonly #clock: Clock;
  readonly #logger: DriveLogger | undefined;
  readonly #caps: TapeDeviceCapabilities;
  readonly #timeoutMs: number;
  readonly #serial: string;
  readonly #logLimit: number;
  readonly #onSample: ((s: BufferSample) => void) | undefined;
  readonly #onCommand: ((e: CommandLogEntry) => void) | undefined;

  #buffer: DriveBuffer;
  #store: MediumStore | undefined;
  #threaded = false;
  #opened = false;
  #closed = false;
  #pos = 0;
  #appendOnly = false;
  #overwriteAt: number | undefined;
  #pendingAttention: ((opcode?: number) => ScsiError) | undefined;
  #deferred: ScsiError | undefined;
  /** Something was written since the tape last stopped with everything on the medium. */
  #dirty = false;
  /** Something reached the store since its last sync(). */
  #unsynced = false;
  /** Bumped by power loss and resets: commands in flight notice and give up. */
  #epoch = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #seq = 0;
  /** The command log; trimmed to `#logLimit` entries in bulk, so keeping it costs O(1) per command. */
  #log: CommandLogEntry[] = [];
  #writer: StoreWriter | undefined;
  readonly #slabs = new BlockSlabs();
  readonly stats: DriveStats;

  constructor(options: VirtualDriveOptions) {
    if (typeof options !== 'object' || options === null)
      throw new TypeError('VirtualDrive options are required');
    if (typeof options.name !== 'string' || options.name.length === 0) {
      throw new TypeError('VirtualDrive option "name" must be a non-empty string');
    }
    const clock = options.clock;
    if (!clock || typeof clock.now !== 'function' || typeof clock.until !== 'function') {
      throw new TypeError('VirtualDrive option "clock" must be a Clock');
    }
    const timeout = options.commandTimeoutMs ?? 20 * 60_000;
    if (!(timeout > 0))
      throw new RangeError('VirtualDrive option "commandTimeoutMs" must be a positive number');
    const logLimit = options.commandLogLimit ?? 10_000;
    if (!Number.isSafeInteger(logLimit) || logLimit < 0) {
      throw new RangeError('VirtualDrive option "commandLogLimit" must be a non-negative integer');
    }
    if (options.medium !== undefined && typeof options.medium?.info !== 'function') {
      throw new TypeError('VirtualDrive option "medium" must be a MediumStore');
    }
    this.name = options.name;
    this.#clock = clock;
    this.profile = makeProfile(options.profile ?? 'LTO-9');
    this.faults = new FaultInjector(options.faults ?? {});
    this.#logger = options.logger;
    this.#timeoutMs = timeout;
    this.#logLimit = logLimit;
    this.#onSample = options.onBufferSample;
    this.#onCommand = options.onCommand;
    this.#serial = options.serial ?? serialFromName(options.name);
    const appendOnly = options.appendOnlySupported ?? true;
    const allowOverwrite = options.allowOverwriteSupported ?? appendOnly;
    if (allowOverwrite && !appendOnly) {
      throw new RangeError('VirtualDrive option "allowOverwriteSupported" requires "appendOnlySupported"');
    }
    this.#caps = Object.freeze({
      immediateFilemarks: true,
      readPosition: true,
      bufferedCounts: true,
      locate: true,
      spaceToEndOfData: true,
      appendOnly,
      allowOverwrite,
      earlyWarning: true,
      maxBlockSize: this.profile.maxBlockSize,
      minBlockSize: 1,
    });
    this.#buffer = this.#newBuffer();
    this.stats = {
      commands: 0,
      bytesWritten: 0,
      blocksWritten: 0,
      bytesRead: 0,
      blocksRead: 0,
      immediateFilemarks: 0,
      synchronousFilemarks: 0,
      syncs: 0,
      totalSyncMs: 0,
      maxSyncMs: 0,
      flushes: 0,
      backhitches: 0,
      bytesOnMedium: 0,
      deferredErrors: 0,
      timeouts: 0,
      bytesLost: 0,
      objectsLost: 0,
      faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
    };
    if (options.medium) {
      this.#store = options.medium;
      this.#threaded = true;
    }
  }

  // ---------------------------------------------------------------- observation (not SCSI commands)

  /** The most recent commands (bounded by `commandLogLimit`), oldest first. */
  get commandLog(): ReadonlyArray<CommandLogEntry> {
    if (this.#log.length > this.#logLimit) this.#log.splice(0, this.#log.length - this.#logLimit);
    return this.#log;
  }

  /** The cartridge in the drive, if any. */
  get medium(): MediumStore | undefined {
    return this.#store;
  }

  /** A cartridge is in the drive and threaded (ready). */
  get loaded(): boolean {
    return this.#store !== undefined && this.#threaded;
  }

  /** MODE SENSE view: variable block mode (0), the append-only WRITE MODE, write protection. */
  modeSense(): { blockSize: number; appendOnly: boolean; writeProtected: boolean; bufferedMode: boolean } {
    return {
      blockSize: 0,
      appendOnly: this.#appendOnly,
      writeProtected: this.#store?.info().writeProtected ?? false,
      bufferedMode: true,
    };
  }

  /** Arms a scripted fault from now on. */
  injectFault(fault: ScriptedFault): void {
    this.faults.arm(fault);
  }

  // ---------------------------------------------------------------- library side

  /** Inserts a cartridge; the drive threads it (load time) and reports a medium change to an open host. */
  loadMedium(store: MediumStore): Promise<void> {
    return this.#command('loadMedium', { barcode: store.info().barcode }, { open: false }, async () => {
      if (this.#store)
        throw new ScsiError(`${this.name}: a cartridge is already in the drive`, {
          code: 'MEDIUM_PRESENT',
          category: 'illegal-request',
          retryable: false,
        });
      this.#store = store;
      await this.#sleep(this.profile.loadMs);
      this.#threaded = true;
      this.#resetMediumState();
      if (this.#opened) this.#pendingAttention = mediumChanged;
    });
  }

  /**
   * Ejects the cartridge and returns it. Buffered data is written first; a deferred error that
   * surfaces then stays pending for the host's next command rather than being lost.
   */
  unloadMedium(): Promise<MediumStore | undefined> {
    return this.#command('unloadMedium', {}, { open: false }, async () => {
      const store = this.#store;
      if (!store) return undefined;
      if (this.#threaded) {
        await this.#waitDrained();
        await this.#syncStore();
        await this.#sleep(this.#windMs(this.#bytesAtPos(), 0) + this.profile.unloadMs);
      }
      this.#store = undefined;
      this.#threaded = false;
      this.#resetMediumState();
      return store;
    });
  }

  /**
   * Power loss: everything the head has not written yet is gone, the tape is no longer threaded and
   * the next command reports UNIT ATTENTION 29/00. What already reached the store stays there (it is
   * the store's business whether it was durable). Commands in flight fail.
   */
  async powerLoss(): Promise<void> {
    await this.#takeDrained();
    this.#epoch++;
    this.#drop();
    this.#deferred = undefined;
    this.#threaded = false;
    this.#appendOnly = false;
    this.#resetMediumState();
    this.#pendingAttention = resetOccurred;
    this.#logger?.warn({ drive: this.name }, 'power loss: drive buffer dropped');
  }

  /** A bus/target reset: the next command reports UNIT ATTENTION 29/00. Buffered data is still written. */
  reset(): void {
    this.#pendingAttention = resetOccurred;
  }

  // ---------------------------------------------------------------- TapeDevice

  async open(): Promise<void> {
    if (this.#closed) throw notOpen(this.name);
    if (!this.#store) throw mediumNotPresent();
    this.#opened = true;
  }

  async close(): Promise<void> {
    if (!this.#opened) {
      this.#closed = true;
      return;
    }
    this.#opened = false;
    this.#closed = true;
  }

  inquiry(): Promise<DriveIdentity> {
    return this.#command('inquiry', {}, {}, async () => ({
      peripheralDeviceType: 1,
      vendor: 'TAPEDUP',
      product: `VIRTUAL ${this.profile.name}`.slice(0, 16),
      revision: '0100',
      serial: this.#serial,
    }));
  }

  capabilities(): TapeDeviceCapabilities {
    if (!this.#opened) throw notOpen(this.name);
    return this.#caps;
  }

  testUnitReady(): Promise<void> {
    return this.#command('testUnitReady', {}, {}, async () => {
      await this.#begin(Opcode.TEST_UNIT_READY, []);
    });
  }

  writeBlock(data: Uint8Array): Promise<WriteResult> {
    if (!(data instanceof Uint8Array))
      return Promise.reject(new TypeError('writeBlock: data must be a Uint8Array'));
    return this.#command('writeBlock', { length: data.length }, {}, () => this.#write(data.length, 1, data));
  }

  /**
   * Writes `blocks` as consecutive WRITE commands, in order, exactly as that many `writeBlock` calls
   * would (each is a `writeBlock` entry in the command log and in the stats, meets the fault
   * injector and the timing model on its own), but as one turn of the command queue under one
   * deadline: a host that has several blocks at hand saves a round trip per block. Stops after the
   * first block that reports early warning: `written` says how many were written. A block that
   * fails rejects the call; the blocks before it were written. (A command that hangs times out as
   * the whole call, so its own log entry stays open.)
   */
  writeBlocks(blocks: readonly Uint8Array[]): Promise<{ written: number; earlyWarning: boolean }> {
    if (!Array.isArray(blocks) || blocks.length === 0 || !blocks.every((b) => b instanceof Uint8Array)) {
      return Promise.reject(new TypeError('writeBlocks: blocks must be a non-empty array of Uint8Array'));
    }
    return this.#enqueue(async () => {
      if (!this.#opened) throw notOpen(this.name);
      return this.#withDeadline('writeBlocks', this.#writeEach(blocks));
    });
  }

  async #writeEach(blocks: readonly Uint8Array[]): Promise<{ written: number; earlyWarning: boolean }> {
    let written = 0;
    for (const data of blocks) {
      const result = await this.#logged('writeBlock', { length: data.length }, () =>
        this.#write(data.length, 1, data),
      );
      written += 1;
      if (result.earlyWarning) return { written, earlyWarning: true };
    }
    return { written, earlyWarning: false };
  }

  /**
   * Writes `count` blocks of `length` zero bytes as one command (synthetic payload): the simulator's way
   * to push terabytes without a call per block. Times and counts exactly as `count` writes would,
   * except that the host side is one transfer. Fails as a whole with VOLUME OVERFLOW if it does not fit.
   */
  writeSyntheticBlocks(length: number, count: number): Promise<WriteResult> {
    if (!Number.isSafeInteger(count) || count < 1) {
      return Promise.reject(new RangeError('writeSyntheticBlocks: count must be a positive integer'));
    }
    return this.#command('writeSyntheticBlocks', { length, count }, {}, () =>
      this.#write(length, count, undefined),
    );
  }

  writeFilemarks(count: number, options: WriteFilemarksOptions): Promise<WriteResult> {
    if (!Number.isInteger(count) || count < 0 || count > MAX_FILEMARKS) {
      return Promise.reject(invalidField(`filemark count ${count}`, Opcode.WRITE_FILEMARKS_6));
    }
    const immediate = options?.immediate;
    if (typeof immediate !== 'boolean') {
      return Promise.reject(new TypeError('writeFilemarks: options.immediate must be a boolean'));
    }
    return this.#command('writeFilemarks', { count, immediate }, {}, () =>
      this.#writeFilemarks(count, immediate),
    );
  }

  readBlock(maxLength: number): Promise<ReadResult> {
    if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > 0xffffff) {
      return Promise.reject(invalidField(`read length ${maxLength}`, Opcode.READ_6));
    }
    return this.#command('readBlock', { maxLength }, {}, async () => {
      await this.#begin(Opcode.READ_6, []);
      await this.#flush();
      this.#overwriteAt = undefined;
      const store = this.#store!;
      const obj = store.objectAt(this.#pos);
      if (!obj) return { kind: 'end-of-data' } as const;
      if (obj.kind === 'filemark') {
        this.#pos++;
        return { kind: 'filemark' } as const;
      }
      let bytes: Uint8Array;
      try {
        bytes = await this.#clock.io(store.readData(this.#pos));
      } catch (error) {
        throw wrapStoreError(error, () => readError(Opcode.READ_6, `object ${this.#pos}`));
      }
      await this.#sleep(this.#buffer.durationMs(obj.length));
      this.#pos++;
      this.stats.blocksRead++;
      this.stats.bytesRead += obj.length;
      const overlength = obj.length > maxLength;
      return {
        kind: 'data',
        data: overlength ? bytes.subarray(0, maxLength) : bytes,
        overlength,
        blockLength: obj.length,
      } as const;
    });
  }

  space(unit: SpaceUnit, count: number): Promise<SpaceResult> {
    if (unit !== 'blocks' && unit !== 'filemarks' && unit !== 'end-of-data') {
      return Promise.reject(invalidField(`space unit ${String(unit)}`, Opcode.SPACE_6));
    }
    if (!Number.isInteger(count) || Math.abs(count) > MAX_SPACE) {
      return Promise.reject(invalidField(`space count ${count}`, Opcode.SPACE_6));
    }
    return this.#command('space', { unit, count }, {}, async () => {
      await this.#begin(Opcode.SPACE_6, []);
      await this.#flush();
      this.#overwriteAt = undefined;
      const from = this.#pos;
      const result = this.#spaceTarget(unit, count);
      await this.#moveTo(result.to, from);
      return result.stoppedAt === undefined
        ? { spaced: result.spaced }
        : { spaced: result.spaced, stoppedAt: result.stoppedAt };
    });
  }

  locate(blockNumber: number, partition = 0): Promise<void> {
    if (!Number.isSafeInteger(blockNumber) || blockNumber < 0) {
      return Promise.reject(invalidField(`logical object ${blockNumber}`, Opcode.LOCATE_10));
    }
    return this.#command('locate', { blockNumber, partition }, {}, async () => {
      await this.#begin(Opcode.LOCATE_10, []);
      if (partition !== 0) throw invalidField(`partition ${partition}`, Opcode.LOCATE_10);
      await this.#flush();
      this.#overwriteAt = undefined;
      const eod = this.#store!.objectCount();
      await this.#moveTo(Math.min(blockNumber, eod), this.#pos);
      if (blockNumber > eod) throw endOfData(Opcode.LOCATE_10);
    });
  }

  readPosition(): Promise<TapePosition> {
    return this.#command('readPosition', {}, {}, async () => {
      await this.#begin(Opcode.READ_POSITION, []);
      const store = this.#store!;
      const onMedium = Math.min(this.#pos, store.objectCount());
      let fileNumber: number | undefined;
      if (canNumberFiles(store)) fileNumber = store.filemarksBefore(onMedium) + this.#bufferedFilemarks();
      return {
        partition: 0,
        blockNumber: this.#pos,
        fileNumber,
        bop: this.#pos === 0,
        eop: this.#bytesAtPos() > this.#earlyWarningPoint(),
        blocksInBuffer: this.#buffer.objects,
        bytesInBuffer: this.#buffer.bytes,
      };
    });
  }

  rewind(): Promise<void> {
    return this.#command('rewind', {}, {}, async () => {
      await this.#begin(Opcode.REWIND, []);
      await this.#flush();
      this.#overwriteAt = undefined;
      await this.#moveTo(0, this.#pos);
    });
  }

  load(): Promise<void> {
    return this.#command('load', {}, {}, async () => {
      await this.#begin(Opcode.LOAD_UNLOAD, [], false);
      if (!this.#store) throw mediumNotPresent(Opcode.LOAD_UNLOAD);
      if (this.#threaded) {
        // LOAD on a loaded medium positions at BOT.
        await this.#flush();
        await this.#moveTo(0, this.#pos);
      } else {
        await this.#sleep(this.profile.loadMs);
        this.#threaded = true;
        this.#resetMediumState();
      }
    });
  }

  unload(): Promise<void> {
    return this.#command('unload', {}, {}, async () => {
      await this.#begin(Opcode.LOAD_UNLOAD, []);
      await this.#flush();
      await this.#sleep(this.#windMs(this.#bytesAtPos(), 0) + this.profile.unloadMs);
      this.#threaded = false;
      this.#resetMediumState();
    });
  }

  setAppendOnly(enabled: boolean): Promise<void> {
    return this.#command('setAppendOnly', { enabled }, {}, async () => {
      if (!this.#caps.appendOnly) throw unsupportedCommand('append-only write mode', Opcode.MODE_SELECT_6);
      await this.#begin(Opcode.MODE_SELECT_6, []);
      this.#appendOnly = enabled;
    });
  }

  allowOverwrite(blockNumber: number, partition = 0): Promise<void> {
    return this.#command('allowOverwrite', { blockNumber, partition }, {}, async () => {
      if (!this.#caps.allowOverwrite) throw unsupportedCommand('ALLOW OVERWRITE', Opcode.ALLOW_OVERWRITE);
      await this.#begin(Opcode.ALLOW_OVERWRITE, []);
      if (partition !== 0 || blockNumber !== this.#pos) {
        throw invalidField(
          `ALLOW OVERWRITE for object ${blockNumber} but the position is ${this.#pos}`,
          Opcode.ALLOW_OVERWRITE,
        );
      }
      this.#overwriteAt = blockNumber;
    });
  }

  // ---------------------------------------------------------------- command machinery

  /**
   * Runs commands one at a time in call order, each under the command deadline, and records it.
   * A command that never finishes (a hang) becomes a `ScsiTimeoutError`; the queue moves on.
   */
  #command<T>(
    op: string,
    args: Record<string, unknown>,
    opts: { open?: boolean },
    body: () => Promise<T>,
  ): Promise<T> {
    return this.#enqueue(async () => {
      if ((opts.open ?? true) && !this.#opened) throw notOpen(this.name);
      return this.#logged(op, args, () => this.#withDeadline(op, body()));
    });
  }

  /** Runs `work` after every command called before it. */
  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work, work);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Runs one command's body with its log entry, its count and a buffer sample. */
  async #logged<T>(op: string, args: Record<string, unknown>, body: () => Promise<T>): Promise<T> {
    const entry: CommandLogEntry = { seq: ++this.#seq, op, args, start: this.#clock.now(), end: 0 };
    this.stats.commands++;
    try {
      const result = await body();
      entry.result = summarise(result);
      return result;
    } catch (error) {
      if (error instanceof ScsiError) {
        entry.error = {
          code: error.code,
          category: error.category,
          deferred: error.deferred,
          senseKey: error.senseKey,
          asc: error.asc,
          ascq: error.ascq,
        };
        this.#logger?.warn({ drive: this.name, op, err: error.toJSON() }, 'command failed');
      }
      throw error;
    } finally {
      entry.end = this.#clock.now();
      this.#record(entry);
      this.#sample();
    }
  }

  async #withDeadline<T>(op: string, work: Promise<T>): Promise<T> {
    const abort = new AbortController();
    work.catch(() => undefined);
    const deadline = this.#clock.sleep(this.#timeoutMs, abort.signal).then(() => {
      this.stats.timeouts++;
      throw new ScsiTimeoutError(`${this.name}: ${op} did not complete within ${this.#timeoutMs} ms`);
    });
    deadline.catch(() => undefined);
    try {
      return await Promise.race([work, deadline]);
    } finally {
      // A constant reason: the default one builds a DOMException per command.
      abort.abort(COMMAND_DONE);
    }
  }

  #record(entry: CommandLogEntry): void {
    if (this.#logLimit > 0) {
      this.#log.push(entry);
      // Trim only once the log is twice its limit: a splice per command would move the whole log.
      if (this.#log.length >= 2 * this.#logLimit) this.#log.splice(0, this.#log.length - this.#logLimit);
    }
    this.#onCommand?.(entry);
    if (this.#logger !== undefined && this.#debugEnabled()) {
      this.#logger.debug({ drive: this.name, ...entry }, 'command');
    }
  }

  /** A pino logger says whether debug is on; building the entry for a disabled level costs per command. */
  #debugEnabled(): boolean {
    const logger = this.#logger as
      | (DriveLogger & { isLevelEnabled?: (level: string) => boolean })
      | undefined;
    return typeof logger?.isLevelEnabled === 'function' ? logger.isLevelEnabled('debug') : true;
  }

  #sample(): void {
    this.#onSample?.({ time: this.#clock.now(), bytes: this.#buffer.bytes, objects: this.#buffer.objects });
  }

  /**
   * The common start of a command: faults, pending unit attention, readiness, then what the head wrote
   * meanwhile, and a deferred error if that (or anything earlier) failed. Returns the faults that struck.
   * `streaming` (WRITE and immediate WRITE FILEMARKS): the command need not wait for the store to hold
   * what the head wrote, only for its backlog to be within bounds; every other command sees the
   * store complete.
   */
  async #begin(
    opcode: number,
    classes: CommandClass[],
    needMedium = true,
    bytes = 0,
    streaming = false,
  ): Promise<Set<FaultKind>> {
    const kinds = this.faults.check({
      ops: classes,
      barcode: this.#store?.info().barcode,
      byteStart: this.#store && this.#threaded ? this.#bytesAtPos() : 0,
      byteLength: bytes,
    });
    for (const k of kinds) this.stats.faults[k]++;
    if (kinds.size > 0) this.#logger?.info({ drive: this.name, faults: [...kinds] }, 'fault injected');
    if (kinds.has('hang')) await NEVER;
    if (kinds.has('unit-attention')) this.reset();
    const attention = this.#pendingAttention;
    if (attention) {
      this.#pendingAttention = undefined;
      throw attention(opcode);
    }
    if (needMedium) {
      if (!this.#store) throw mediumNotPresent(opcode);
      if (!this.#threaded) throw notLoaded(opcode);
    }
    await this.#takeDrained(streaming);
    this.#raiseDeferred();
    return kinds;
  }

  #raiseDeferred(): void {
    const deferred = this.#deferred;
    if (deferred) {
      this.#deferred = undefined;
      throw deferred;
    }
  }

  /**
   * Hands what the head wrote by now to the store; a faulted run becomes a pending deferred error.
   * With `streaming` the store writes in the background (see {@link StoreWriter}); otherwise, or
   * when its backlog is over the bound, this waits until the store holds everything.
   */
  async #takeDrained(streaming = false): Promise<void> {
    const store = this.#store;
    if (!store || !this.#threaded) return;
    const now = this.#clock.now();
    const { drained, faulted } = this.#buffer.take(now);
    if (faulted) {
      this.#onDeferredFault(now, 'buffered data could not be written');
    }
    const writer = this.#writerFor(store);
    if (drained.length > 0) {
      this.#unsynced = true;
      for (const p of drained) this.stats.bytesOnMedium += p.length * p.count;
      writer.push(drained);
    }
    if (!streaming || faulted || writer.overLimit) await writer.settle();
    if (faulted) this.#pos = store.objectCount();
  }

  /** The background writer of `store` (a new one after a cartridge change). */
  #writerFor(store: MediumStore): StoreWriter {
    if (this.#writer?.store !== store) {
      this.#writer = new StoreWriter(
        store,
        this.#clock,
        STORE_BACKLOG_BYTES,
        (failure) => this.#onStoreFailure(store, failure),
        (piece) => this.#slabs.release(piece.slab),
      );
    }
    return this.#writer;
  }

  /** The store refused buffered data: for the host this is a deferred write error. */
  #onStoreFailure(store: MediumStore, failure: StoreWriteFailure): void {
    this.#drop();
    this.stats.bytesOnMedium -= failure.bytes;
    this.stats.bytesLost += failure.bytes;
    this.stats.objectsLost += failure.objects;
    if (this.#store === store) this.#pos = store.objectCount();
    this.#deferred ??= writeError(true, undefined, `medium store append failed: ${errorText(failure.error)}`);
    this.stats.deferredErrors++;
  }

  #onDeferredFault(now: number, detail: string): void {
    const lost = this.#buffer.dropAll(now);
    this.stats.bytesLost += lost.bytes;
    this.stats.objectsLost += lost.objects;
    this.stats.deferredErrors++;
    this.#deferred ??= writeError(true, undefined, detail);
    this.#logger?.warn({ drive: this.name, lost }, 'deferred write error');
  }

  #drop(): void {
    const lost = this.#buffer.dropAll(this.#clock.now());
    this.stats.bytesLost += lost.bytes;
    this.stats.objectsLost += lost.objects;
  }

  /** Waits until the head has written everything buffered and hands it to the store. */
  async #waitDrained(): Promise<void> {
    await this.#sleepUntil(this.#buffer.drainedBy);
    await this.#takeDrained();
  }

  /** A flush forced by a read or a move: drain, make it durable, report a deferred error. */
  async #flush(): Promise<void> {
    if (this.#dirty || !this.#buffer.empty) {
      this.stats.flushes++;
      await this.#waitDrained();
      this.#raiseDeferred();
      await this.#syncStore();
      this.#buffer.stop();
      this.#dirty = false;
    }
  }

  async #syncStore(): Promise<void> {
    const store = this.#store;
    if (!store || !this.#unsynced) return;
    try {
      await this.#clock.io(store.sync());
    } catch (error) {
      throw wrapStoreError(error, () =>
        writeError(false, Opcode.WRITE_FILEMARKS_6, `medium store sync failed: ${errorText(error)}`),
      );
    }
    this.#unsynced = false;
  }

  async #sleep(ms: number): Promise<void> {
    await this.#sleepUntil(this.#clock.now() + ms);
  }

  async #sleepUntil(time: number): Promise<void> {
    const epoch = this.#epoch;
    await this.#clock.until(time);
    if (epoch !== this.#epoch) throw resetOccurred();
  }

  // ---------------------------------------------------------------- writing

  async #write(length: number, count: number, data: Uint8Array | undefined): Promise<WriteResult> {
    const opcode = Opcode.WRITE_6;
    if (!Number.isInteger(length) || length < this.#caps.minBlockSize || length > this.#caps.maxBlockSize) {
      throw invalidField(
        `block length ${length} outside ${this.#caps.minBlockSize}..${this.#caps.maxBlockSize}`,
        opcode,
      );
    }
    const total = length * count;
    const kinds = await this.#begin(opcode, ['write'], true, total, true);
    this.#checkWritable(opcode, kinds);
    await this.#prepareOverwrite(opcode);
    const before = this.#bytesAtPos();
    if (before + total > this.#store!.info().capacityBytes) throw volumeOverflow(count, opcode);
    // Keep a copy only when the medium stores bytes: the caller may reuse its buffer, and a
    // synthetic medium would throw the copy away.
    const copy = data && this.#store!.info().storesData ? this.#slabs.copy(data) : undefined;
    this.#buffer.enqueue(this.#clock.now(), {
      kind: 'data',
      length,
      count,
      data: copy?.data,
      slab: copy?.slab,
      faulted: kinds.has('deferred-error'),
    });
    this.#afterEnqueue(count);
    this.stats.blocksWritten += count;
    this.stats.bytesWritten += total;
    // Backpressure: the command completes when its last byte is in the buffer.
    await this.#sleepUntil(this.#buffer.acceptTime(this.#clock.now()));
    return { earlyWarning: before + total > this.#earlyWarningPoint() };
  }

  async #writeFilemarks(count: number, immediate: boolean): Promise<WriteResult> {
    const opcode = Opcode.WRITE_FILEMARKS_6;
    const classes: CommandClass[] = [];
    if (count > 0) classes.push('filemark');
    if (!immediate) classes.push('sync');
    const started = this.#clock.now();
    const kinds = await this.#begin(opcode, classes, true, 0, immediate);
    if (count > 0) {
      this.#checkWritable(opcode, kinds);
      await this.#prepareOverwrite(opcode);
      this.#buffer.enqueue(this.#clock.now(), {
        kind: 'filemark',
        length: 0,
        count,
        faulted: kinds.has('deferred-error'),
      });
      this.#afterEnqueue(count);
    }
    const earlyWarning = this.#bytesAtPos() > this.#earlyWarningPoint();
    if (immediate) {
      this.stats.immediateFilemarks += count;
      await this.#sleep(this.profile.immediateFilemarkMs);
      return { earlyWarning };
    }
    this.stats.synchronousFilemarks += count;
    try {
      await this.#synchronise(kinds);
    } finally {
      const took = this.#clock.now() - started;
      this.stats.syncs++;
      this.stats.totalSyncMs += took;
      this.stats.maxSyncMs = Math.max(this.stats.maxSyncMs, took);
    }
    return { earlyWarning };
  }

  /** The synchronous part of WRITE FILEMARKS: drain, make durable, stop the tape. */
  async #synchronise(kinds: Set<FaultKind>): Promise<void> {
    const hadWork = this.#dirty || !this.#buffer.empty;
    if (kinds.has('sync-failure')) {
      await this.#sleepUntil(this.#buffer.drainedBy);
      this.#drop();
      this.#pos = this.#store!.objectCount();
      this.#dirty = false;
      throw writeError(false, Opcode.WRITE_FILEMARKS_6, 'synchronisation failed; buffered data lost');
    }
    await this.#waitDrained();
    this.#raiseDeferred();
    await this.#syncStore();
    if (hadWork) await this.#sleep(this.profile.syncOverheadMs);
    this.#buffer.stop();
    this.#dirty = false;
    if (kinds.has('position-lost')) {
      this.#pos = Math.max(0, this.#pos - 1);
      this.#logger?.warn({ drive: this.name, position: this.#pos }, 'position lost after sync');
    }
  }

  #checkWritable(opcode: number, kinds: Set<FaultKind>): void {
    if (this.#store!.info().writeProtected) throw writeProtected(opcode);
    if (kinds.has('bad-cartridge')) throw writeError(false, opcode, 'cartridge cannot be written');
    if (kinds.has('write-error')) throw writeError(false, opcode, 'write failed');
  }

  /**
   * A write anywhere but at end of data erases what follows, unless append-only mode refuses it.
   * While the buffer holds data the position is at end of data, so only an idle drive can get here.
   */
  async #prepareOverwrite(opcode: number): Promise<void> {
    const store = this.#store!;
    const authorised = this.#overwriteAt === this.#pos;
    this.#overwriteAt = undefined;
    if (!this.#buffer.empty || this.#pos >= store.objectCount()) return;
    if (this.#appendOnly && !authorised) throw appendOnlyViolation(this.#pos, opcode);
    try {
      await this.#clock.io(store.truncate(this.#pos));
    } catch (error) {
      throw wrapStoreError(error, () =>
        writeError(false, opcode, `medium store truncate failed: ${errorText(error)}`),
      );
    }
    this.#unsynced = true;
  }

  #afterEnqueue(count: number): void {
    this.#pos += count;
    this.#dirty = true;
    this.stats.backhitches = this.#buffer.backhitches;
  }

  // ---------------------------------------------------------------- positioning

  #spaceTarget(
    unit: SpaceUnit,
    count: number,
  ): { to: number; spaced: number; stoppedAt?: 'filemark' | 'bot' | 'end-of-data' } {
    const store = this.#store!;
    let p = this.#pos;
    if (unit === 'end-of-data') return { to: store.objectCount(), spaced: 0 };
    let spaced = 0;
    if (unit === 'blocks') {
      if (count >= 0) {
        while (spaced < count) {
          const obj = store.objectAt(p);
          if (!obj) return { to: p, spaced, stoppedAt: 'end-of-data' };
          p++;
          if (obj.kind === 'filemark') return { to: p, spaced, stoppedAt: 'filemark' };
          spaced++;
        }
      } else {
        while (spaced < -count) {
          if (p === 0) return { to: 0, spaced, stoppedAt: 'bot' };
          const obj = store.objectAt(p - 1);
          if (obj?.kind === 'filemark') return { to: p - 1, spaced, stoppedAt: 'filemark' };
          p--;
          spaced++;
        }
      }
      return { to: p, spaced };
    }
    if (count >= 0) {
      while (spaced < count) {
        const obj = store.objectAt(p);
        if (!obj) return { to: p, spaced, stoppedAt: 'end-of-data' };
        p++;
        if (obj.kind === 'filemark') spaced++;
      }
    } else {
      while (spaced < -count) {
        if (p === 0) return { to: 0, spaced, stoppedAt: 'bot' };
        p--;
        if (store.objectAt(p)?.kind === 'filemark') spaced++;
      }
    }
    return { to: p, spaced };
  }

  /** Moves the tape to object `to`, taking time that grows with the distance. */
  async #moveTo(to: number, from: number): Promise<void> {
    const store = this.#store!;
    const ms = this.#windMs(store.bytesBefore(from), store.bytesBefore(to));
    this.#pos = to;
    this.#buffer.stop();
    await this.#sleep(ms);
  }

  /** High-speed positioning: a fixed start/stop cost plus the fraction of the tape length travelled. */
  #windMs(fromBytes: number, toBytes: number): number {
    const distance = Math.abs(toBytes - fromBytes);
    if (distance === 0) return 0;
    const capacity = this.#store?.info().capacityBytes ?? this.profile.capacityBytes;
    return this.profile.positionBaseMs + (this.profile.fullWindMs * distance) / capacity;
  }

  // ---------------------------------------------------------------- accounting

  /** User-data bytes before the host position (on the medium plus in the buffer). */
  #bytesAtPos(): number {
    const store = this.#store!;
    // Objects on their way to the store sit between it and the buffer: the position is at their end.
    const writing = this.#writer?.store === store ? this.#writer : undefined;
    if (this.#buffer.empty && (writing === undefined || writing.objects === 0)) {
      return store.bytesBefore(this.#pos);
    }
    return store.bytesBefore(store.objectCount()) + (writing?.bytes ?? 0) + this.#buffer.bytes;
  }

  #earlyWarningPoint(): number {
    const capacity = this.#store!.info().capacityBytes;
    return capacity - Math.min(this.profile.earlyWarningBytes, capacity / 10);
  }

  /** Filemarks still in the buffer count towards the host's file number. */
  #bufferedFilemarks(): number {
    const writing = this.#writer?.store === this.#store ? (this.#writer?.filemarks ?? 0) : 0;
    return (this.#buffer.empty ? 0 : this.#buffer.filemarks) + writing;
  }

  #resetMediumState(): void {
    this.#pos = 0;
    this.#overwriteAt = undefined;
    this.#dirty = false;
    this.#buffer.stop();
  }

  #newBuffer(): DriveBuffer {
    return new DriveBuffer(
      this.profile.mediaRateBytesPerSec,
      this.profile.bufferBytes,
      this.profile.backhitchMs,
    );
  }
}

function wrapStoreError(error: unknown, make: () => ScsiError): ScsiError {
  if (error instanceof ScsiError) return error;
  return make();
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What the command log keeps of a result: never the data bytes. */
function summarise(result: unknown): unknown {
  if (result && typeof result === 'object' && 'kind' in result) {
    const r = result as ReadResult;
    return r.kind === 'data'
      ? { kind: 'data', blockLength: r.blockLength, overlength: r.overlength }
      : { kind: r.kind };
  }
  return result;
}

function serialFromName(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return `VD${h.toString(16).toUpperCase().padStart(8, '0')}`;
}
