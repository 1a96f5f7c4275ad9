/**
 * The writer engine: executes the duplicator's commands on one drive. No sockets, no timers, no file
 * system: the drive, the clock, the logger, the sources and the report sink are injected, so the same
 * code runs in the tape-writer process and in the discrete-event simulator.
 *
 * Work is a FIFO of steps (copies to write, syncs, mounts, shutdown) run one at a time; a new step
 * wakes the loop at once (no polling). The {@link Batch} keeps what was written since the last good
 * sync: a copy is reported committed only when a synchronous filemark returned GOOD and the
 * position read back matched; any error since that sync fails every copy of the batch.
 */
import { randomUUID } from 'node:crypto';
import { type MessageOf, makeMessage, type WriterToDuplicator } from '@tapedup/protocol';
import { ScsiError, type TapeDevice, type TapeDeviceCapabilities } from '@tapedup/scsi';
import {
  DATA_HEADER_LENGTH,
  DEFAULT_BLOCK_PAYLOAD_SIZE,
  encodeFragmentEnd,
  encodeFragmentHeader,
  type FragmentEndReason,
} from '@tapedup/tape-format';
import { Batch, type WrittenCopy } from '../batch';
import { SourceError } from '../dsu';
import type { ImageSource, SourceEvent, SourceOpener } from '../sources/types';
import { senseOf, WriterError } from './errors';
import { type FilemarkKind, filemarkFor, fragmentEndReasonFor, type ImageOutcome } from './filemark-policy';
import {
  DATA_START,
  type FilePosition,
  type MediaChanger,
  type PreparedMedium,
  positionAfterLastFilemark,
  positionAt,
  prepareMedium,
} from './medium';
import { WriterCounters, type WriterCountersSnapshot } from './stats';
import type {
  Command,
  EngineLogger,
  EngineState,
  Step,
  SyntheticBlockWriter,
  WriterEngineOptions,
} from './types';

type ItemStep = Extract<Step, { kind: 'item' }>;

/** The fragment's single image in the current (non-MPX) layout. */
const TAG = 0;

function canWriteSynthetic(device: TapeDevice): device is TapeDevice & SyntheticBlockWriter {
  return typeof (device as Partial<SyntheticBlockWriter>).writeSyntheticBlocks === 'function';
}

function largestPowerOfTwoAtMost(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

export class WriterEngine {
  readonly driveId: string;
  readonly counters = new WriterCounters();
  readonly #device: TapeDevice;
  readonly #clock: { now(): number };
  readonly #log: EngineLogger;
  readonly #sources: SourceOpener;
  readonly #changer: MediaChanger;
  readonly #report: (message: WriterToDuplicator) => void;
  readonly #appendOnlyWanted: boolean;
  readonly #idPrefix: string;
  readonly #newLabelId: () => string;
  readonly #requestedPayloadSize: number;
  #caps: TapeDeviceCapabilities | undefined;
  #payloadSize = DEFAULT_BLOCK_PAYLOAD_SIZE;

  #queue: Step[] = [];
  #wake: (() => void) | undefined;
  #idleWaiters: (() => void)[] = [];
  #busy = false;
  #running: Promise<void> | undefined;
  #stopped = false;
  #stopNow = false;
  #state: EngineState = 'idle';
  #messageSeq = 0;
  #mountSeq = 0;

  #medium: PreparedMedium | undefined;
  #appendOnly = false;
  #batch: Batch | undefined;
  /** The drive is at `#batch.expected`; false after a failed repositioning. */
  #positioned = false;
  /** Mounted without a known resume point: find the end of the written data before writing. */
  #fresh = false;
  #full = false;
  /** The drive could not return to the last good position; cleared by the next successful move. */
  #driveFailed = false;
  /** Copies being written when a shutdown stopped the writer mid-image. */
  #abandoned: string[] = [];

  constructor(options: WriterEngineOptions) {
    if (typeof options.driveId !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(options.driveId)) {
      throw new TypeError('writer engine option "driveId" must be a SafeId (1..128 of [A-Za-z0-9._:-])');
    }
    for (const key of ['device', 'clock', 'logger', 'sources', 'changer', 'report'] as const) {
      if (options[key] === undefined || options[key] === null) {
        throw new TypeError(`writer engine option "${key}" is required`);
      }
    }
    const size = options.blockPayloadSize ?? DEFAULT_BLOCK_PAYLOAD_SIZE;
    if (!Number.isSafeInteger(size) || size < 512 || (size & (size - 1)) !== 0) {
      throw new RangeError(
        `writer engine option "blockPayloadSize" must be a power of two >= 512, got ${size}`,
      );
    }
    this.driveId = options.driveId;
    this.#device = options.device;
    this.#clock = options.clock;
    this.#log = options.logger.child({ driveId: options.driveId });
    this.#sources = options.sources;
    this.#changer = options.changer;
    this.#report = options.report;
    this.#appendOnlyWanted = options.appendOnly ?? false;
    this.#idPrefix = options.idPrefix ?? options.driveId;
    this.#newLabelId = options.newLabelId ?? randomUUID;
    this.#requestedPayloadSize = size;
  }

  // ------------------------------------------------------------------ public surface

  /** Current state (heartbeat). */
  get state(): EngineState {
    return this.#state;
  }

  /** Barcode of the mounted cartridge, when the writer has one ready. */
  get medium(): string | undefined {
    return this.#medium?.barcode;
  }

  /** Copies written since the last good sync. */
  get pending(): readonly WrittenCopy[] {
    return this.#batch?.copies ?? [];
  }

  /** Where the writer will write next, when it knows. */
  get expectedPosition(): { medium: string; fileNumber: number; blockNumber: number } | undefined {
    return this.#positioned ? this.#batch?.expected : undefined;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  stats(): WriterCountersSnapshot {
    return this.counters.snapshot();
  }

  /** Starts the work loop; resolves when the engine stopped (after a shutdown). */
  start(): Promise<void> {
    this.#caps ??= this.#device.capabilities();
    this.#payloadSize = Math.min(
      this.#requestedPayloadSize,
      largestPowerOfTwoAtMost(this.#caps.maxBlockSize - DATA_HEADER_LENGTH),
    );
    this.#running ??= this.#loop();
    return this.#running;
  }

  /** Resolves when no work is queued or running. */
  whenIdle(): Promise<void> {
    if (!this.#busy && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Accepts a command from the duplicator (already validated by the codec). */
  handle(command: Command): void {
    if (this.#stopped) {
      this.#log.warn({ type: command.type, msgId: command.id }, 'command after shutdown ignored');
      return;
    }
    const arrivedAt = this.#clock.now();
    switch (command.type) {
      case 'assign':
        command.items.forEach((item, i) => {
          this.#queue.push({
            kind: 'item',
            item,
            medium: command.medium,
            resumeAt: i === 0 ? command.resumeAt : undefined,
            arrivedAt,
          });
        });
        this.#log.info(
          {
            msgId: command.id,
            medium: command.medium,
            items: command.items.length,
            resumeAt: command.resumeAt,
          },
          'assign',
        );
        break;
      case 'sync-now':
        this.#queue.push({ kind: 'sync', message: command });
        break;
      case 'mount':
        this.#queue.push({ kind: 'mount', message: command });
        break;
      case 'shutdown':
        if (!command.graceful) {
          // Stop at once: nothing queued is started, the copy being written is abandoned.
          this.#stopNow = true;
          this.#queue = [];
        }
        this.#queue.push({ kind: 'shutdown', message: command });
        break;
    }
    this.#wake?.();
  }

  /** A heartbeat message for now. */
  heartbeat(): MessageOf<'heartbeat'> {
    const now = this.#clock.now();
    const fields: Omit<MessageOf<'heartbeat'>, 'v' | 'type' | 'id'> = {
      driveId: this.driveId,
      at: Math.max(0, Math.floor(now)),
      state: this.#state,
      stats: this.counters.writerStats(now, {
        copies: this.#batch?.size ?? 0,
        bytes: this.#batch?.bytes ?? 0,
      }),
    };
    if (this.#medium) fields.medium = this.#medium.barcode;
    return makeMessage('heartbeat', { id: this.#nextId(), ...fields });
  }

  // ------------------------------------------------------------------ loop

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const step = this.#queue.shift();
      if (step === undefined) {
        this.#busy = false;
        for (const resolve of this.#idleWaiters.splice(0)) resolve();
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      this.#busy = true;
      try {
        await this.#run(step);
      } catch (error) {
        // Every step handles its own failures; this is a bug guard so the writer stays up.
        this.#log.error({ err: error, step: step.kind }, 'step failed unexpectedly');
      }
      this.#state = this.#driveFailed ? 'failed' : 'idle';
    }
    this.#busy = false;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  async #run(step: Step): Promise<void> {
    switch (step.kind) {
      case 'item':
        return this.#writeItem(step);
      case 'sync':
        return this.#syncNow(step.message);
      case 'mount':
        return this.#mountCommand(step.message);
      case 'shutdown':
        return this.#shutdown(step.message);
    }
  }

  #nextId(): string {
    this.#messageSeq += 1;
    return `${this.#idPrefix}.${this.#messageSeq}`;
  }

  #emit<T extends WriterToDuplicator['type']>(
    type: T,
    fields: Omit<MessageOf<T>, 'v' | 'type' | 'id'>,
  ): void {
    const message = makeMessage(type, { id: this.#nextId(), ...fields } as Omit<MessageOf<T>, 'v' | 'type'>);
    this.#report(message as WriterToDuplicator);
  }

  // ------------------------------------------------------------------ media

  async #mount(barcode: string): Promise<void> {
    if (this.#medium?.barcode === barcode) return;
    if (this.#batch !== undefined && this.#batch.size > 0 && this.#positioned) {
      // Prove what is on the old cartridge before it leaves the drive.
      await this.#sync(undefined, undefined);
    }
    this.#state = 'mounting';
    this.#medium = undefined;
    this.#positioned = false;
    this.#full = false;
    const { pool } = await this.#changer.mount(barcode);
    const prepared = await prepareMedium(this.#device, {
      barcode,
      pool,
      newLabelId: this.#newLabelId,
      now: () => Math.max(0, Math.floor(this.#clock.now())),
      maxBlockSize: this.#caps!.maxBlockSize,
    });
    if (prepared.labelled) {
      this.counters.synchronousFilemarks++;
      this.counters.syncs++;
    }
    this.#appendOnly = false;
    if (this.#appendOnlyWanted && this.#caps!.appendOnly) {
      await this.#device.setAppendOnly(true);
      this.#appendOnly = true;
    }
    this.#medium = prepared;
    this.#mountSeq += 1;
    this.#batch = new Batch({ medium: barcode, ...DATA_START }, `${this.#idPrefix}.m${this.#mountSeq}`);
    this.#positioned = true;
    this.#fresh = !prepared.labelled;
    this.#log.info(
      { medium: barcode, labelled: prepared.labelled, appendOnly: this.#appendOnly },
      'medium ready',
    );
  }

  async #mountCommand(message: MessageOf<'mount'>): Promise<void> {
    try {
      await this.#mount(message.barcode);
      const at = this.#batch!.expected;
      this.#emit('mounted', {
        re: message.id,
        medium: message.barcode,
        position: { fileNumber: at.fileNumber, blockAddress: at.blockNumber },
        appendOnly: this.#appendOnly,
      });
    } catch (error) {
      this.#log.warn({ err: error, medium: message.barcode }, 'mount failed');
      this.#emit('drive-error', { driveId: this.driveId, fatal: false, sense: senseOf(error), affected: [] });
    }
  }

  /** Positions at `target` (resume point or last good position) and restarts the batch there. */
  async #moveTo(target: FilePosition): Promise<void> {
    const batch = this.#batch!;
    this.#state = 'positioning';
    this.#positioned = false;
    await positionAt(this.#device, target);
    await this.#authoriseOverwrite(target.blockNumber);
    batch.restart({ medium: batch.lastGood.medium, ...target });
    this.#positioned = true;
    this.#driveFailed = false;
  }

  /** In append-only mode, whatever follows the position may be overwritten: authorise exactly there. */
  async #authoriseOverwrite(blockNumber: number): Promise<void> {
    if (this.#appendOnly) await this.#device.allowOverwrite(blockNumber);
  }

  /** Gets the drive to the place the next copy on `step.medium` goes. Throws when it cannot. */
  async #ready(step: ItemStep): Promise<void> {
    if (this.#medium?.barcode !== step.medium) await this.#mount(step.medium);
    if (this.#full) {
      throw new WriterError('MEDIUM_FULL', `${step.medium} reached early warning; choose another medium`);
    }
    const batch = this.#batch!;
    if (step.resumeAt !== undefined) {
      const target: FilePosition =
        step.resumeAt.fileNumber < DATA_START.fileNumber
          ? DATA_START
          : { fileNumber: step.resumeAt.fileNumber, blockNumber: step.resumeAt.blockAddress };
      const here = batch.expected;
      if (!this.#positioned || this.#fresh || here.blockNumber !== target.blockNumber || batch.failed) {
        if (batch.size > 0) {
          // The duplicator resumes elsewhere: what is pending here is abandoned, so say it failed.
          await this.#failBatch(
            new WriterError(
              'REPOSITIONED',
              `resuming at object ${target.blockNumber}, pending copies abandoned`,
            ),
            {},
          );
        }
        await this.#moveTo(target);
      }
      this.#fresh = false;
      return;
    }
    if (this.#fresh) {
      this.#state = 'positioning';
      this.#positioned = false;
      const end = await positionAfterLastFilemark(this.#device);
      await this.#authoriseOverwrite(end.blockNumber);
      batch.restart({ medium: step.medium, ...end });
      this.#positioned = true;
      this.#fresh = false;
      return;
    }
    if (!this.#positioned || batch.failed) await this.#moveTo(batch.lastGood);
  }

  // ------------------------------------------------------------------ writing a copy

  async #writeItem(step: ItemStep): Promise<void> {
    const { item } = step;
    const log = this.#log.child({ copyId: item.copyId, requestId: item.requestId, backupId: item.backupId });
    if (this.#stopNow) return;
    try {
      await this.#ready(step);
    } catch (error) {
      log.warn({ err: error }, 'cannot position for copy');
      if (error instanceof WriterError && error.code === 'MEDIUM_FULL') {
        this.#emit('medium-full', {
          medium: step.medium,
          inFlight: [item.copyId, ...this.#dropQueued(step.medium)],
        });
        return;
      }
      this.#failCopy(item.copyId, error, true);
      return;
    }
    let source: ImageSource;
    try {
      source = await this.#sources.open(item, { tag: TAG, blockPayloadSize: this.#payloadSize });
    } catch (error) {
      log.warn({ err: error }, 'source cannot be opened');
      this.#failCopy(item.copyId, error, error instanceof SourceError ? error.retryable : true);
      return;
    }
    try {
      await this.#writeFragment(step, source, log);
    } finally {
      await source.close().catch((error: unknown) => log.warn({ err: error }, 'source close failed'));
    }
  }

  async #writeFragment(step: ItemStep, source: ImageSource, log: EngineLogger): Promise<void> {
    const { item } = step;
    const batch = this.#batch!;
    const medium = this.#medium!;
    // No empty fragments: the header goes to tape only once the first data is at hand.
    let event: SourceEvent;
    try {
      event = await source.next();
    } catch (error) {
      this.#failCopy(item.copyId, error, true);
      return;
    }
    if (event.kind === 'end' && event.status === 'aborted' && event.bytes === 0) {
      this.#failCopy(item.copyId, event.error ?? new WriterError('SOURCE_FAILED', 'source ended'), true);
      return;
    }
    const start = batch.expected;
    let objects = 0;
    let earlyWarning = false;
    let outcome: ImageOutcome = 'complete';
    let end: Extract<SourceEvent, { kind: 'end' }> | undefined;
    this.#state = 'writing';
    try {
      const write = async (block: Uint8Array): Promise<void> => {
        const result = await this.#device.writeBlock(block);
        objects++;
        if (result.earlyWarning) earlyWarning = true;
      };
      await write(
        encodeFragmentHeader({
          labelId: medium.labelId,
          tapeFile: start.fileNumber,
          blockPayloadSize: this.#payloadSize,
          createdAt: Math.max(0, Math.floor(this.#clock.now())),
          images: [
            {
              tag: TAG,
              backupId: item.backupId,
              copy: item.copy,
              kind: item.source.kind,
              fragmentIndex: 0,
              offset: 0,
              totalSize: item.sizeBytes,
              firstSequence: 0,
              fromOtherMedium: false,
            },
          ],
        }),
      );
      this.counters.pickup(this.#clock.now() - step.arrivedAt);
      let abortRequested = false;
      for (;;) {
        if (this.#stopNow) {
          this.#abandoned.push(item.copyId);
          log.warn('shutdown: copy abandoned mid-image');
          return;
        }
        if (earlyWarning && !abortRequested) {
          abortRequested = true;
          source.abort();
        }
        if (event.kind === 'blocks') {
          for (const block of event.blocks) await write(block);
          this.counters.addBytes(event.payloadBytes, this.#clock.now());
        } else if (event.kind === 'synthetic') {
          await this.#writeSynthetic(event.blockLength, event.count, (ew) => {
            objects += event.kind === 'synthetic' ? event.count : 0;
            if (ew) earlyWarning = true;
          });
          this.counters.addBytes(event.payloadBytes, this.#clock.now());
        } else {
          end = event;
          break;
        }
        try {
          event = await source.next();
        } catch (error) {
          // A source that broke without an orderly end: the image is incomplete on tape.
          log.warn({ err: error }, 'source failed without an end');
          end = undefined;
          outcome = 'source-failed';
          break;
        }
      }
      if (end !== undefined) {
        await write(end.trailer);
        if (end.status === 'aborted')
          outcome = end.error !== undefined || !abortRequested ? 'source-failed' : 'early-warning';
      }
      const reason: FragmentEndReason = fragmentEndReasonFor(outcome);
      const payloadBlocks = end?.blocks ?? 0;
      await write(
        encodeFragmentEnd({
          tapeFile: start.fileNumber,
          reason,
          images: [
            {
              tag: TAG,
              continues: false,
              continuesOnOtherMedium: false,
              blocks: payloadBlocks,
              bytes: end?.bytes ?? 0,
            },
          ],
        }),
      );
      const kind = filemarkFor({
        reason,
        decision: outcome === 'complete' ? item.decision : undefined,
        earlyWarning,
      });
      const synced = await this.#filemark(kind);
      if (synced.earlyWarning) earlyWarning = true;
      batch.advance(objects + 1, 1);
      this.counters.fragments++;
      if (outcome === 'complete' && end !== undefined) {
        const copy: WrittenCopy = {
          copyId: item.copyId,
          backupId: item.backupId,
          medium: medium.barcode,
          fileNumber: start.fileNumber,
          blockAddress: start.blockNumber,
          bytes: end.bytes,
          sha256: end.sha256,
        };
        batch.written(copy);
        this.counters.imagesWritten++;
        this.#emit('copy-written', {
          copyId: copy.copyId,
          pendingSync: kind === 'immediate',
          medium: copy.medium,
          fileNumber: copy.fileNumber,
          blockAddress: copy.blockAddress,
          bytes: copy.bytes,
          sha256: copy.sha256,
        });
        log.info(
          {
            fileNumber: copy.fileNumber,
            blockAddress: copy.blockAddress,
            bytes: copy.bytes,
            filemark: kind,
            reason: item.reason,
          },
          'copy written',
        );
      } else if (outcome === 'source-failed') {
        // One image failed on its own: its fragment ends with an immediate filemark, the batch goes on.
        this.#failCopy(
          item.copyId,
          end?.error ?? new WriterError('SOURCE_FAILED', 'source failed'),
          end?.error?.retryable ?? true,
        );
      }
      if (kind === 'synchronous') {
        await this.#confirmSync(undefined, undefined, item.copyId);
      } else if (outcome === 'source-failed' && item.decision === 'sync' && batch.size > 0) {
        // The policy wanted a sync point here: the failed image got its immediate filemark, the
        // deferred copies before it still get their sync (a flush).
        await this.#sync(undefined, undefined);
      }
    } catch (error) {
      log.warn({ err: error }, 'write failed');
      await this.#failBatch(error, { current: item.copyId });
      if (error instanceof ScsiError && error.category === 'volume-overflow') {
        // Past the physical end without an early warning first: the medium is full all the same.
        this.#full = true;
        this.#emit('medium-full', { medium: medium.barcode, inFlight: this.#dropQueued(medium.barcode) });
      }
      return;
    }
    if (earlyWarning) {
      this.#full = true;
      const inFlight = outcome === 'early-warning' ? [item.copyId] : [];
      inFlight.push(...this.#dropQueued(medium.barcode));
      const at = this.#batch!.expected;
      this.#emit('medium-full', {
        medium: medium.barcode,
        inFlight,
        position: { fileNumber: at.fileNumber, blockAddress: at.blockNumber },
      });
      log.warn({ inFlight: inFlight.length }, 'early warning: medium full');
    }
  }

  async #writeSynthetic(length: number, count: number, done: (earlyWarning: boolean) => void): Promise<void> {
    if (canWriteSynthetic(this.#device)) {
      const result = await this.#device.writeSyntheticBlocks(length, count);
      done(result.earlyWarning);
      return;
    }
    const zeros = new Uint8Array(length);
    let ew = false;
    for (let i = 0; i < count; i++) ew = (await this.#device.writeBlock(zeros)).earlyWarning || ew;
    done(ew);
  }

  /** Removes the queued copies for `medium` (they go to another medium) and returns their ids. */
  #dropQueued(medium: string): string[] {
    const dropped: string[] = [];
    this.#queue = this.#queue.filter((s) => {
      if (s.kind === 'item' && s.medium === medium) {
        dropped.push(s.item.copyId);
        return false;
      }
      return true;
    });
    return dropped;
  }

  #failCopy(copyId: string, error: unknown, retryable: boolean): void {
    this.counters.copiesFailed++;
    const sense = senseOf(error);
    const fields: Omit<MessageOf<'copy-failed'>, 'v' | 'type' | 'id'> = {
      copyId,
      reason: error instanceof SourceError ? `SOURCE_${error.code}`.slice(0, 64) : sense.code,
      message: sense.message,
      retryable,
    };
    if (!(error instanceof SourceError) && !(error instanceof WriterError)) fields.sense = sense;
    this.#emit('copy-failed', fields);
  }

  // ------------------------------------------------------------------ filemarks and syncs

  async #filemark(kind: FilemarkKind): Promise<{ earlyWarning: boolean }> {
    if (kind === 'immediate') {
      const result = await this.#device.writeFilemarks(1, { immediate: true });
      this.counters.immediateFilemarks++;
      return result;
    }
    this.#state = 'syncing';
    const started = this.#clock.now();
    const result = await this.#device.writeFilemarks(1, { immediate: false });
    this.counters.synchronousFilemarks++;
    this.counters.syncs++;
    this.counters.lastSyncMs = Math.max(0, this.#clock.now() - started);
    return result;
  }

  /** A flush (WRITE FILEMARKS count 0, IMMED=0) and its confirmation. */
  async #sync(re: string | undefined, batchId: string | undefined): Promise<void> {
    this.#state = 'syncing';
    const started = this.#clock.now();
    try {
      await this.#device.writeFilemarks(0, { immediate: false });
      this.counters.syncs++;
      this.counters.lastSyncMs = Math.max(0, this.#clock.now() - started);
      await this.#confirmSync(re, batchId, undefined);
    } catch (error) {
      this.#log.warn({ err: error, batchId }, 'sync failed');
      await this.#failBatch(error, { re, batchId });
    }
  }

  /**
   * After a synchronous filemark returned GOOD: reads the position back and commits the batch when
   * it matches, fails it otherwise. A READ POSITION error propagates (the caller fails the batch).
   */
  async #confirmSync(
    re: string | undefined,
    batchId: string | undefined,
    current: string | undefined,
  ): Promise<void> {
    const batch = this.#batch!;
    const id = batchId ?? batch.id;
    const position = await this.#device.readPosition();
    const outcome = batch.synced(position.blockNumber);
    if (outcome.ok) {
      const fields: Omit<MessageOf<'batch-synced'>, 'v' | 'type' | 'id'> = {
        batchId: id,
        committed: outcome.committed.map((c) => ({
          copyId: c.copyId,
          medium: c.medium,
          fileNumber: c.fileNumber,
          blockAddress: c.blockAddress,
          sha256: c.sha256,
        })),
        position: {
          medium: outcome.position.medium,
          fileNumber: outcome.position.fileNumber,
          blockAddress: outcome.position.blockNumber,
        },
      };
      if (re !== undefined) fields.re = re;
      this.#emit('batch-synced', fields);
      this.#log.info(
        { batchId: id, committed: outcome.committed.length, position: outcome.position },
        'batch synced',
      );
      return;
    }
    const error = new WriterError(
      'POSITION_MISMATCH',
      `after the sync the drive is at object ${outcome.actual}, expected ${outcome.expected}`,
    );
    this.#log.warn(
      { batchId: id, expected: outcome.expected, actual: outcome.actual },
      'position mismatch after sync',
    );
    await this.#reportFailed(
      outcome.failed.map((c) => c.copyId),
      error,
      { re, batchId: id, current },
    );
  }

  async #syncNow(message: MessageOf<'sync-now'>): Promise<void> {
    if (this.#batch === undefined || this.#medium === undefined) {
      this.#emit('sync-failed', {
        re: message.id,
        batchId: message.batchId,
        failed: [],
        sense: senseOf(new WriterError('NO_MEDIUM', 'no cartridge is mounted')),
      });
      return;
    }
    if (!this.#positioned || this.#batch.failed) {
      try {
        await this.#moveTo(this.#batch.lastGood);
      } catch (error) {
        await this.#failBatch(error, { re: message.id, batchId: message.batchId });
        return;
      }
    }
    await this.#sync(message.id, message.batchId);
  }

  /** Any error since the last good sync: every copy of the batch fails; then back to the last good position. */
  async #failBatch(
    error: unknown,
    options: { re?: string | undefined; batchId?: string | undefined; current?: string | undefined },
  ): Promise<void> {
    const batch = this.#batch;
    const failed = batch === undefined ? [] : batch.fail().map((c) => c.copyId);
    await this.#reportFailed(failed, error, options);
  }

  async #reportFailed(
    failed: string[],
    error: unknown,
    options: { re?: string | undefined; batchId?: string | undefined; current?: string | undefined },
  ): Promise<void> {
    const batch = this.#batch;
    if (options.current !== undefined && !failed.includes(options.current)) failed.push(options.current);
    this.counters.syncFailures++;
    const fields: Omit<MessageOf<'sync-failed'>, 'v' | 'type' | 'id'> = {
      batchId: options.batchId ?? batch?.id ?? `${this.#idPrefix}.none`,
      failed,
      sense: senseOf(error),
    };
    if (options.re !== undefined) fields.re = options.re;
    this.#emit('sync-failed', fields);
    this.#log.warn({ batchId: fields.batchId, failed: failed.length, sense: fields.sense }, 'batch failed');
    if (batch === undefined) return;
    try {
      await this.#moveTo(batch.lastGood);
      this.#state = 'idle';
    } catch (repositionError) {
      this.#positioned = false;
      this.#driveFailed = true;
      this.#state = 'failed';
      this.#log.error({ err: repositionError }, 'cannot return to the last good position');
      this.#emit('drive-error', {
        driveId: this.driveId,
        fatal: false,
        sense: senseOf(repositionError),
        affected: [],
      });
    }
  }

  // ------------------------------------------------------------------ shutdown

  async #shutdown(message: MessageOf<'shutdown'>): Promise<void> {
    if (message.graceful && this.#batch !== undefined && this.#batch.size > 0 && this.#positioned) {
      await this.#sync(undefined, undefined);
    }
    const uncommitted = [...(this.#batch?.copies.map((c) => c.copyId) ?? []), ...this.#abandoned];
    this.#emit('shutdown-ack', { re: message.id, uncommitted: [...new Set(uncommitted)] });
    this.#log.info(
      { graceful: message.graceful, reason: message.reason, uncommitted: uncommitted.length },
      'shutdown',
    );
    this.#stopped = true;
    this.#queue = [];
  }
}
