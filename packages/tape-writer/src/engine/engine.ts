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
  encodeEmptyHeader,
  encodeFragmentEnd,
  encodeFragmentHeader,
  encodeImageStart,
  type FragmentEndReason,
} from '@tapedup/tape-format';
import { Batch, type WrittenCopy } from '../batch';
import { SourceError } from '../dsu';
import type { ImageSource, SourceOpener } from '../sources/types';
import { senseOf, WriterError } from './errors';
import {
  type FilemarkKind,
  filemarkFor,
  fragmentFull,
  type SyncDecision,
  splitDecision,
} from './filemark-policy';
import { ImageRun, type ItemStep, type OpenFragment } from './image-run';
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
  BlockBatchWriter,
  Command,
  EngineLogger,
  EngineState,
  Step,
  SyntheticBlockWriter,
  WriterEngineOptions,
} from './types';

function integerOption(
  name: string,
  value: number | undefined,
  fallback: number | undefined,
  min: number,
  max: number,
): number | undefined {
  const n = value ?? fallback;
  if (n === undefined) return undefined;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new RangeError(
      `writer engine option "${name}" must be an integer ${min}..${max}, got ${String(n)}`,
    );
  }
  return n;
}

function canWriteSynthetic(device: TapeDevice): device is TapeDevice & SyntheticBlockWriter {
  return typeof (device as Partial<SyntheticBlockWriter>).writeSyntheticBlocks === 'function';
}

function canWriteBlocks(device: TapeDevice): device is TapeDevice & BlockBatchWriter {
  return typeof (device as Partial<BlockBatchWriter>).writeBlocks === 'function';
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
  readonly #mpx: number;
  readonly #minFragmentMs: number;
  readonly #maxFragmentBytes: number | undefined;
  readonly #maxImages: number;
  readonly #packImages: boolean;
  readonly #checkpointMs: number | undefined;
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

  /** The images of the running MPX group, in admission order. */
  #active: ImageRun[] = [];
  #fragment: OpenFragment | undefined;
  #group: string | undefined;
  /** The group put something on tape (an EH may follow it). */
  #groupWrote = false;
  /** Decision of the last image that completed in the open fragment (its filemark kind). */
  #lastDecision: SyncDecision | undefined;
  /** A write reported early warning. */
  #ew = false;
  /** The empty header on tape, at the batch's expected position; the drive is just after it. */
  #eh: FilePosition | undefined;
  /** Images cut by early warning, kept open for their continuation on the next medium. */
  #parked = new Map<string, ImageRun>();
  #parkedMedium: string | undefined;
  #rr = 0;
  #nextTag = 0;
  /**
   * A sync-now cut a checkpoint while images ran: the items queued after it wait until those images
   * end and their copies are proven too, so nothing queued after a sync-now shares a batch with what
   * was assigned before it (a retry is synced on its own). The sync-now's id.
   */
  #fence: string | undefined;
  /** Stream images seen waiting for their end with all data on tape: the fragment and its size then. */
  #endAwaited = new WeakMap<ImageRun, { fragment: OpenFragment; objects: number }>();

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
    this.#mpx = integerOption('mpxFactor', options.mpxFactor, 1, 1, 32)!;
    this.#minFragmentMs = integerOption('minFragmentMs', options.minFragmentMs, 4000, 0, 86_400_000)!;
    this.#maxFragmentBytes = integerOption(
      'maxFragmentBytes',
      options.maxFragmentBytes,
      undefined,
      1,
      2 ** 50,
    );
    this.#maxImages = integerOption(
      'maxFragmentImages',
      options.maxFragmentImages,
      Math.max(16, this.#mpx),
      this.#mpx,
      0xffff,
    )!;
    if (options.packImages !== undefined && typeof options.packImages !== 'boolean') {
      throw new TypeError('writer engine option "packImages" must be a boolean');
    }
    this.#packImages = options.packImages ?? false;
    this.#checkpointMs = integerOption('checkpointMs', options.checkpointMs, undefined, 1, 86_400_000);
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
        await this.#writeItems(step);
        // A group that failed leaves its images here: they were reported failed, release them.
        return this.#closeActive();
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
    this.#eh = undefined;
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
    this.#eh = undefined;
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
          // The duplicator sends resumeAt only once nothing it assigned here is in flight (after a
          // failure it has already failed and requeued every such copy): these are attempts it wrote
          // off. Reporting them failed would make it fail the new work it has in flight here.
          const dropped = batch.fail().map((c) => c.copyId);
          this.#log.warn(
            { copies: dropped, resumeAt: target },
            'resuming elsewhere: pending copies of attempts already requeued dropped',
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

  // ------------------------------------------------------------------ writing: MPX groups

  /**
   * Writes the item at the head of the queue and every item that may join it (same medium, same
   * `mpxGroup`, up to the MPX factor), interleaved block by block. Returns when the group is done
   * (no image left to write), failed, or the medium reached early warning.
   */
  async #writeItems(first: ItemStep): Promise<void> {
    if (this.#stopNow) return;
    await this.#releaseUnclaimed(first);
    try {
      await this.#ready(first);
    } catch (error) {
      this.#log.warn({ err: error, copyId: first.item.copyId }, 'cannot position for copy');
      if (error instanceof WriterError && error.code === 'MEDIUM_FULL') {
        this.#emit('medium-full', {
          medium: first.medium,
          inFlight: [first.item.copyId, ...this.#dropQueued(first.medium)],
        });
        return;
      }
      this.#failCopy(first.item.copyId, error, true);
      return;
    }
    this.#group = first.item.mpxGroup;
    this.#groupWrote = false;
    this.#fence = undefined;
    this.#ew = false;
    await this.#admit(first);
    try {
      await this.#runGroup();
    } catch (error) {
      await this.#failGroup(error);
    }
  }

  async #runGroup(): Promise<void> {
    for (;;) {
      if (this.#stopNow) {
        this.#abandonGroup();
        return;
      }
      if (this.#ew) {
        await this.#span();
        return;
      }
      const sync = this.#takeSyncNow();
      if (sync !== undefined) {
        if (!(await this.#checkpoint(sync))) return;
        continue;
      }
      await this.#admitQueued();
      if (this.#active.length === 0 && this.#fence !== undefined) {
        if (!(await this.#closeFence())) return;
        continue;
      }
      if (this.#active.length === 0) {
        if (this.#fragment !== undefined && !(await this.#endFragment('image-complete', this.#lastDecision)))
          return;
        if (this.#ew) {
          await this.#span();
          return;
        }
        await this.#afterGroup();
        return;
      }
      const wake = () => this.#wake?.();
      for (const run of this.#active) run.pull(wake);
      if (this.#splitNow()) {
        if (!(await this.#endFragment('next-image-start', undefined))) return;
        continue;
      }
      if (this.#dataCompleteNow()) {
        if (!(await this.#endFragment('data-complete-metadata-follows', undefined))) return;
        continue;
      }
      const checkpoint = this.#checkpointDue();
      if (checkpoint !== undefined) {
        if (!(await this.#endFragment('checkpoint', checkpoint))) return;
        continue;
      }
      const run = this.#pick();
      if (run === undefined) {
        // Nothing to write: wait for a source or a command, whichever comes first.
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      if (!(await this.#step(run))) return;
    }
  }

  /** Whether `step` may join the running group now. */
  #joinable(step: Step): step is ItemStep {
    if (step.kind !== 'item' || this.#medium?.barcode !== step.medium) return false;
    if (step.resumeAt !== undefined || this.#full || this.#batch?.failed || !this.#positioned) return false;
    return this.#active.length === 0 || step.item.mpxGroup === this.#group;
  }

  async #admitQueued(): Promise<void> {
    while (this.#active.length < this.#mpx && this.#fence === undefined) {
      const head = this.#queue[0];
      if (head === undefined || !this.#joinable(head)) return;
      if (this.#active.length === 0 && this.#fragment !== undefined && head.item.mpxGroup !== this.#group) {
        // Another group may not share this fragment: end it for the images that completed in it.
        if (!(await this.#endFragment('image-complete', this.#lastDecision))) return;
        if (this.#ew) return;
      }
      if (this.#active.length === 0) {
        this.#group = head.item.mpxGroup;
        if (this.#mpx > 1 && this.#groupWrote) {
          // The last active image ended and the next one was already here: no EH to write and remove.
          this.counters.emptyHeaders.avoided++;
          this.#log.debug(
            { emptyHeaders: this.counters.emptyHeaders },
            'next image pending: no empty header',
          );
        }
      }
      this.#queue.shift();
      await this.#admit(head);
    }
  }

  /** Opens the item's source (or takes over the one kept across a medium change). */
  async #admit(step: ItemStep): Promise<boolean> {
    const { item } = step;
    const log = this.#log.child({ copyId: item.copyId, requestId: item.requestId, backupId: item.backupId });
    const kept = this.#parked.get(item.copyId);
    if (kept !== undefined) {
      this.#parked.delete(item.copyId);
      kept.log = log;
      kept.arrivedAt = step.arrivedAt;
      kept.resumed = true;
      this.#active.push(kept);
      log.info({ offset: kept.bytes, fragmentIndex: kept.fragmentCount }, 'continuing copy on a new medium');
      return true;
    }
    let source: ImageSource;
    const tag = this.#allocateTag();
    try {
      source = await this.#sources.open(item, { tag, blockPayloadSize: this.#payloadSize });
    } catch (error) {
      log.warn({ err: error }, 'source cannot be opened');
      this.#failCopy(item.copyId, error, error instanceof SourceError ? error.retryable : true);
      return false;
    }
    this.#active.push(new ImageRun(step, tag, source, log));
    return true;
  }

  /** A tag used by no running, kept or in-fragment image (a tag is never reused within a fragment). */
  #allocateTag(): number {
    const used = new Set<number>(this.#fragment?.tags ?? []);
    for (const r of this.#active) used.add(r.tag);
    for (const r of this.#parked.values()) used.add(r.tag);
    for (let i = 0; i <= 0xffff; i++) {
      const tag = this.#nextTag;
      this.#nextTag = (this.#nextTag + 1) & 0xffff;
      if (!used.has(tag)) return tag;
    }
    throw new WriterError('SOURCE_FAILED', 'no free MPX tag');
  }

  /** The image cannot enter the open fragment: its table is full (or holds the image's tag). */
  #blocked(run: ImageRun): boolean {
    const f = this.#fragment;
    return f !== undefined && !run.inFragment && (f.tags.size >= this.#maxImages || f.tags.has(run.tag));
  }

  /** A next-image split is due: an image waits for a fragment and the minimum fragment time is over. */
  #splitNow(): boolean {
    const f = this.#fragment;
    if (f === undefined || !this.#active.some((r) => r.ready && this.#blocked(r))) return false;
    return (
      splitDecision({
        tableFull: true,
        ageMs: this.#clock.now() - f.openedAt,
        minFragmentMs: this.#minFragmentMs,
        dataFlowing: this.#active.some((r) => r.inFragment && r.flowing),
      }) === 'split'
    );
  }

  /**
   * "Data complete, metadata to follow": an image in the open fragment has all its declared bytes on
   * tape but its end (trailer: size, block count, digest — the metadata) has not come, while another
   * image has something to write. The fragment ends with an immediate filemark so the image's data
   * closes at a tape-file boundary; its trailer goes into a later fragment (whichever is open when
   * its end arrives, or one it opens alone), where the reader continues the image by offset and
   * sequence with no data block before the trailer. Once per image: the next fragment holds none of
   * its bytes, so the rule does not fire for it again.
   */
  #dataCompleteNow(): boolean {
    const f = this.#fragment;
    if (f === undefined || this.#ew) return false;
    const waiting = this.#active.find(
      (r) =>
        // Only a sender supplies an image's end from elsewhere; a local source frames it with the data.
        r.item.source.kind === 'stream' &&
        r.inFragment &&
        r.fragBytes > 0 &&
        !r.ready &&
        r.item.sizeBytes > 0 &&
        r.bytes >= r.item.sizeBytes,
    );
    if (waiting === undefined) return false;
    if (!this.#active.some((r) => r !== waiting && r.ready && !this.#blocked(r))) return false;
    // The end may already sit in the source, a settling read away: only an end still missing after
    // another block went to tape is late.
    const seen = this.#endAwaited.get(waiting);
    if (seen === undefined || seen.fragment !== f) {
      this.#endAwaited.set(waiting, { fragment: f, objects: f.objects });
      return false;
    }
    return f.objects > seen.objects;
  }

  /**
   * A time checkpoint is due: the fragment has been open `checkpointMs` while an image in it still
   * runs. Returns the decision its filemark follows: `defer` when every image in the fragment was
   * assigned `defer` (the policy defers the sync), `sync` otherwise.
   */
  #checkpointDue(): SyncDecision | undefined {
    const f = this.#fragment;
    if (f === undefined || this.#checkpointMs === undefined || this.#ew) return undefined;
    if (this.#clock.now() - f.openedAt < this.#checkpointMs) return undefined;
    if (!this.#active.some((r) => r.inFragment)) return undefined;
    return f.table.every((r) => r.item.decision === 'defer') ? 'defer' : 'sync';
  }

  /**
   * A sync-now at the head of the queue while an MPX group runs (everything assigned before it has
   * been admitted), taken off the queue. At MPX factor 1 a sync-now waits for the image being
   * written, as it always did: each image is its own fragment anyway.
   */
  #takeSyncNow(): MessageOf<'sync-now'> | undefined {
    const head = this.#queue[0];
    if (this.#mpx === 1 || this.#active.length === 0 || this.#fence !== undefined || head?.kind !== 'sync') {
      return undefined;
    }
    this.#queue.shift();
    return head.message;
  }

  /**
   * The images running at a checkpoint have ended: prove their copies (explicit sync, so a
   * synchronous filemark or a flush) before anything queued after the sync-now starts.
   */
  async #closeFence(): Promise<boolean> {
    const syncNow = this.#fence!;
    this.#fence = undefined;
    if (this.#fragment !== undefined) return this.#endFragment('checkpoint', 'sync', { syncNow });
    if ((this.#batch?.size ?? 0) === 0) return true;
    return this.#sync(undefined, undefined);
  }

  /**
   * A sync-now while the group runs: the running fragment ends at a checkpoint (synchronous
   * filemark: the sync-now is an explicit sync), the batch is proven and committed, and the sync's
   * reply names it; the running images continue in the next fragment. Without an open fragment the
   * written copies are proven by a flush. False when the sync did not hold.
   */
  async #checkpoint(message: MessageOf<'sync-now'>): Promise<boolean> {
    this.#log.debug({ msgId: message.id, open: this.#fragment !== undefined }, 'sync-now during a group');
    const sync = { re: message.id, batchId: message.batchId };
    let ok: boolean;
    if (this.#fragment === undefined) {
      ok = await this.#sync(sync.re, sync.batchId, this.#activeIds());
    } else {
      try {
        ok = await this.#endFragment('checkpoint', 'sync', { ...sync, syncNow: message.id });
      } catch (error) {
        // The failure answers this sync-now.
        await this.#failGroup(error, sync);
        return false;
      }
    }
    if (ok && this.#active.length > 0) this.#fence = message.id;
    return ok;
  }

  /**
   * Packing at MPX factor 1: the image that just completed (decision `defer`) leaves the fragment
   * open for the next queued item when that one is a `disk` image of the same group and medium, the
   * fragment is younger than the minimum fragment time and its table has room. A `stream` item is
   * not packed: its sender may stay silent, and the open fragment would hold back the reports of
   * the images already in it.
   */
  #packNext(): boolean {
    const f = this.#fragment;
    if (!this.#packImages || this.#mpx !== 1 || f === undefined || this.#ew) return false;
    if (this.#clock.now() - f.openedAt >= this.#minFragmentMs || f.tags.size >= this.#maxImages) return false;
    const head = this.#queue[0];
    if (head === undefined || !this.#joinable(head) || head.item.source.kind !== 'disk') return false;
    return head.item.mpxGroup === this.#group && !this.#parked.has(head.item.copyId);
  }

  /** Round robin over the images with something to write: block-by-block interleaving. */
  #pick(): ImageRun | undefined {
    const n = this.#active.length;
    for (let i = 0; i < n; i++) {
      const run = this.#active[(this.#rr + i) % n]!;
      if (run.ready && !this.#blocked(run)) {
        this.#rr = (this.#rr + i + 1) % n;
        return run;
      }
    }
    return undefined;
  }

  /** Writes one block (or one synthetic run, or the image's end) of `run`. False: the group failed. */
  async #step(run: ImageRun): Promise<boolean> {
    if (!run.hasData && run.end?.status !== 'complete' && run.fragments.length === 0) {
      // The source failed before its first byte: nothing of it goes to tape.
      this.#remove(run);
      await run.close();
      const error = run.end?.error ?? run.broken ?? new WriterError('SOURCE_FAILED', 'source ended');
      this.#failCopy(run.copyId, error, error instanceof SourceError ? error.retryable : true);
      return true;
    }
    await this.#ensureFragment(run);
    this.#state = 'writing';
    if (run.synthetic !== undefined) {
      const { blockLength, count, payloadBytes } = run.synthetic;
      run.synthetic = undefined;
      this.#pickedUp(run);
      await this.#writeSynthetic(blockLength, count, (ew) => {
        if (ew) this.#ew = true;
      });
      this.#fragment!.objects += count;
      this.#wroteData(run, count, payloadBytes);
      return this.#afterData();
    }
    const block = run.blocks.shift();
    if (block !== undefined) {
      this.#pickedUp(run);
      if (run.blocks.length > 0 && this.#active.length === 1 && canWriteBlocks(this.#device)) {
        return this.#writeRunOfBlocks(run, block, this.#device);
      }
      await this.#write(block);
      this.#wroteData(run, 1, block.length - DATA_HEADER_LENGTH);
      return this.#afterData();
    }
    return this.#endImage(run);
  }

  /**
   * Writes `first` and the blocks after it that one-at-a-time writing would also have written
   * before looking up: up to the block that fills the fragment, in one device call. Only while the
   * image runs alone (in MPX the images take turns block by block). Early warning stops the call
   * after the block that passed it; the blocks after it go back to the run, as they would have
   * stayed there. Between these blocks nothing else could have happened: commands wait for the
   * step to end either way, and the next step looks at them first.
   */
  async #writeRunOfBlocks(run: ImageRun, first: Uint8Array, device: BlockBatchWriter): Promise<boolean> {
    const blocks = [first];
    let bytes = this.#fragment!.bytes + first.length - DATA_HEADER_LENGTH;
    while (run.blocks.length > 0 && !fragmentFull(bytes, this.#maxFragmentBytes)) {
      const next = run.blocks.shift()!;
      blocks.push(next);
      bytes += next.length - DATA_HEADER_LENGTH;
    }
    const result = await device.writeBlocks(blocks);
    if (result.written < blocks.length) run.blocks.unshift(...blocks.slice(result.written));
    if (this.#fragment !== undefined) this.#fragment.objects += result.written;
    if (result.earlyWarning) this.#ew = true;
    let payload = 0;
    for (let i = 0; i < result.written; i++) payload += blocks[i]!.length - DATA_HEADER_LENGTH;
    this.#wroteData(run, result.written, payload);
    return this.#afterData();
  }

  #wroteData(run: ImageRun, blocks: number, payloadBytes: number): void {
    run.wrote(blocks, payloadBytes);
    this.#fragment!.bytes += payloadBytes;
    this.counters.addBytes(payloadBytes, this.#clock.now());
  }

  async #afterData(): Promise<boolean> {
    if (!this.#ew && fragmentFull(this.#fragment!.bytes, this.#maxFragmentBytes)) {
      return this.#endFragment('max-fragment-size', undefined);
    }
    return true;
  }

  /** Writes the image's trailer and ends the fragment when the writer rules say so. */
  async #endImage(run: ImageRun): Promise<boolean> {
    const end = run.end;
    const complete = end !== undefined && end.status === 'complete' && end.error === undefined;
    this.#pickedUp(run);
    await this.#write(end?.trailer ?? run.abortedTrailer());
    run.ended = complete ? 'complete' : 'aborted';
    this.#remove(run);
    await run.close();
    const { decision } = run.item;
    if (complete) {
      this.#fragment!.finished.push(run);
      this.#lastDecision = decision;
      run.log.debug({ bytes: end.bytes, tag: run.tag }, 'image complete');
      // A sync decision needs the synchronous filemark now; without MPX every image is its own
      // fragment, unless packing lets the next image join it.
      if (decision === 'sync') return this.#endFragment('image-complete', decision);
      if (this.#mpx === 1) {
        if (this.#packNext()) {
          run.log.debug({ fileNumber: this.#fragment!.fileNumber }, 'next image packed into the fragment');
          return true;
        }
        return this.#endFragment('image-complete', decision);
      }
      return true;
    }
    // One image failed on its own: its fragment ends with an immediate filemark, the others go on.
    const error = end?.error ?? run.broken ?? new WriterError('SOURCE_FAILED', 'source failed');
    run.log.warn({ err: error, bytes: run.bytes }, 'image failed mid-fragment');
    this.#failCopy(run.copyId, error, (error as { retryable?: unknown }).retryable !== false);
    if (!(await this.#endFragment('image-failure', undefined))) return false;
    if (decision === 'sync' && (this.#batch?.size ?? 0) > 0 && !this.#ew) {
      // The policy wanted a sync point here: the copies before it still get their sync (a flush).
      return this.#sync(undefined, undefined, this.#activeIds());
    }
    return true;
  }

  #pickedUp(run: ImageRun): void {
    if (run.pickedUp) return;
    run.pickedUp = true;
    if (!run.resumed) this.counters.pickup(Math.max(0, this.#clock.now() - run.arrivedAt));
  }

  #remove(run: ImageRun): void {
    const i = this.#active.indexOf(run);
    if (i >= 0) this.#active.splice(i, 1);
  }

  #activeIds(): string[] {
    return this.#active.map((r) => r.copyId);
  }

  /** One block to the drive, counted in the open fragment; notes early warning. */
  async #write(block: Uint8Array): Promise<void> {
    const result = await this.#device.writeBlock(block);
    if (this.#fragment !== undefined) this.#fragment.objects += 1;
    if (result.earlyWarning) this.#ew = true;
  }

  /**
   * Makes sure `run` is in an open fragment. No empty fragments: the header is written only here,
   * when `run` has data (or its end) at hand; it lists `run` and the images continuing from earlier
   * fragments. An image joining a running fragment gets an image start record.
   */
  async #ensureFragment(run: ImageRun): Promise<void> {
    const medium = this.#medium!.barcode;
    if (this.#fragment === undefined) {
      await this.#overwriteEmptyHeader();
      const start = this.#batch!.expected;
      const members = [run, ...this.#active.filter((r) => r !== run && r.fragmentCount > 0)];
      const entries = members.map((r) => r.entry());
      this.#state = 'writing';
      const result = await this.#device.writeBlock(
        encodeFragmentHeader({
          labelId: this.#medium!.labelId,
          tapeFile: start.fileNumber,
          blockPayloadSize: this.#payloadSize,
          createdAt: Math.max(0, Math.floor(this.#clock.now())),
          images: entries,
        }),
      );
      if (result.earlyWarning) this.#ew = true;
      this.#fragment = {
        fileNumber: start.fileNumber,
        blockNumber: start.blockNumber,
        openedAt: this.#clock.now(),
        objects: 1,
        bytes: 0,
        tags: new Set(members.map((r) => r.tag)),
        table: members,
        finished: [],
      };
      for (const r of members) r.join(medium, start.fileNumber, start.blockNumber);
      this.#groupWrote = true;
      return;
    }
    if (run.inFragment) return;
    const f = this.#fragment;
    await this.#write(encodeImageStart({ images: [run.entry()] }));
    f.tags.add(run.tag);
    f.table.push(run);
    run.join(medium, f.fileNumber, f.blockNumber);
    this.counters.joins++;
  }

  /**
   * Ends the open fragment: fragment end record, then the filemark `filemarkFor` chooses for
   * `reason`; reports the images that completed in it and, after a synchronous filemark, confirms
   * the sync. False when the sync did not hold (the batch and the running images failed).
   */
  async #endFragment(
    reason: FragmentEndReason,
    decision: SyncDecision | undefined,
    sync: { syncNow: string; re?: string; batchId?: string } | undefined = undefined,
  ): Promise<boolean> {
    const f = this.#fragment;
    if (f === undefined) return true;
    const batch = this.#batch!;
    const toOtherMedium = reason === 'end-of-medium';
    await this.#write(
      encodeFragmentEnd({
        tapeFile: f.fileNumber,
        reason,
        images: [...f.table].sort((a, b) => a.tag - b.tag).map((r) => r.endEntry(toOtherMedium)),
      }),
    );
    const kind = filemarkFor({ reason, decision, earlyWarning: this.#ew });
    const mark = await this.#filemark(kind);
    if (mark.earlyWarning) this.#ew = true;
    batch.advance(f.objects + 1, 1);
    this.#fragment = undefined;
    this.#lastDecision = undefined;
    this.counters.fragmentEnded(reason);
    for (const r of f.table) r.leave();
    this.#log.debug(
      {
        fileNumber: f.fileNumber,
        reason,
        filemark: kind,
        decision,
        // The images that completed here and the sync decision each was assigned with.
        completed: f.finished.map((r) => ({
          copyId: r.copyId,
          backupId: r.item.backupId,
          decision: r.item.decision,
        })),
        images: f.table.length,
        bytes: f.bytes,
        // The sync-now this end answers (re) or closes the fence of.
        ...(sync === undefined ? {} : { syncNow: sync.syncNow, re: sync.re }),
      },
      'fragment ended',
    );
    for (const run of f.finished) this.#copyWritten(run, kind === 'immediate');
    if (kind === 'synchronous') return this.#confirmSync(sync?.re, sync?.batchId, this.#activeIds());
    return true;
  }

  #copyWritten(run: ImageRun, pendingSync: boolean): void {
    const end = run.end!;
    const fragments = run.cataloguedFragments();
    const first = fragments[0]!;
    const copy: WrittenCopy = {
      copyId: run.copyId,
      backupId: run.item.backupId,
      medium: first.medium,
      fileNumber: first.fileNumber,
      blockAddress: first.blockAddress,
      bytes: end.bytes,
      sha256: end.sha256,
      fragments: fragments.length > 1 ? fragments : undefined,
    };
    this.#batch!.written(copy);
    this.counters.imagesWritten++;
    this.#emit('copy-written', {
      copyId: copy.copyId,
      pendingSync,
      medium: copy.medium,
      fileNumber: copy.fileNumber,
      blockAddress: copy.blockAddress,
      bytes: copy.bytes,
      sha256: copy.sha256,
    });
    run.log.info(
      {
        fileNumber: copy.fileNumber,
        blockAddress: copy.blockAddress,
        bytes: copy.bytes,
        fragments: fragments.length,
        filemark: pendingSync ? 'immediate' : 'synchronous',
        reason: run.item.reason,
      },
      'copy written',
    );
  }

  /**
   * The last image of the group ended. Before writing an empty header, look for a next image: when
   * one is already queued the EH is skipped (it would only be overwritten at once); otherwise the EH
   * marks the end of the data until work resumes.
   */
  async #afterGroup(): Promise<void> {
    if (this.#mpx === 1 || !this.#groupWrote || this.#eh !== undefined) return;
    const medium = this.#medium;
    if (medium === undefined || this.#full || !this.#positioned || this.#batch?.failed) return;
    if (this.#queue.some((s) => s.kind === 'item' && s.medium === medium.barcode)) {
      this.counters.emptyHeaders.avoided++;
      this.#log.debug({ emptyHeaders: this.counters.emptyHeaders }, 'next image pending: no empty header');
      return;
    }
    const at = this.#batch!.expected;
    try {
      await this.#device.writeBlock(
        encodeEmptyHeader({
          labelId: medium.labelId,
          tapeFile: at.fileNumber,
          createdAt: Math.max(0, Math.floor(this.#clock.now())),
        }),
      );
    } catch (error) {
      this.#log.warn({ err: error }, 'empty header write failed');
      await this.#failBatch(error, {});
      return;
    }
    this.#eh = { fileNumber: at.fileNumber, blockNumber: at.blockNumber };
    this.counters.emptyHeaders.written++;
    this.#log.info({ at: this.#eh, emptyHeaders: this.counters.emptyHeaders }, 'empty header written');
  }

  /** Work resumed after an empty header: position back onto it so the next header overwrites it. */
  async #overwriteEmptyHeader(): Promise<void> {
    const eh = this.#eh;
    if (eh === undefined) return;
    this.#state = 'positioning';
    await positionAt(this.#device, eh);
    await this.#authoriseOverwrite(eh.blockNumber);
    this.#eh = undefined;
    this.counters.emptyHeaders.overwritten++;
    this.#log.info({ at: eh, emptyHeaders: this.counters.emptyHeaders }, 'overwriting the empty header');
  }

  /**
   * Early warning: end the fragment (end of medium, synchronous), commit the batch, keep the running
   * images' sources and framing state for their continuation on the next medium, report the medium full.
   */
  async #span(): Promise<void> {
    const medium = this.#medium!.barcode;
    if (this.#fragment !== undefined) {
      if (!(await this.#endFragment('end-of-medium', undefined))) return;
    } else if ((this.#batch?.size ?? 0) > 0) {
      if (!(await this.#sync(undefined, undefined, this.#activeIds()))) return;
    }
    this.#full = true;
    this.#fence = undefined;
    const kept = this.#active.splice(0);
    for (const run of kept) {
      run.fromOtherMedium = true;
      this.#parked.set(run.copyId, run);
    }
    this.#parkedMedium = medium;
    const inFlight = [...kept.map((r) => r.copyId), ...this.#dropQueued(medium)];
    const at = this.#batch!.expected;
    this.#emit('medium-full', {
      medium,
      inFlight,
      position: { fileNumber: at.fileNumber, blockAddress: at.blockNumber },
    });
    this.#log.warn({ inFlight: inFlight.length, continuing: kept.length }, 'early warning: medium full');
  }

  /**
   * Kept images wait for their continuation assign. The first item on another medium that is not
   * one of them, with none of them queued either, means the duplicator restarts them elsewhere.
   */
  async #releaseUnclaimed(step: ItemStep): Promise<void> {
    if (this.#parked.size === 0 || step.medium === this.#parkedMedium) return;
    if (this.#parked.has(step.item.copyId)) return;
    if (this.#queue.some((s) => s.kind === 'item' && this.#parked.has(s.item.copyId))) return;
    await this.#releaseParked('not continued');
  }

  async #releaseParked(why: string): Promise<void> {
    const kept = [...this.#parked.values()];
    this.#parked.clear();
    for (const run of kept) await run.close();
    if (kept.length > 0) this.#log.info({ copies: kept.map((r) => r.copyId), why }, 'released kept copies');
  }

  /** A drive error while the group was writing: everything since the last good sync fails. */
  async #failGroup(error: unknown, sync?: { re: string; batchId: string }): Promise<void> {
    const medium = this.#medium?.barcode;
    const current = [...(this.#fragment?.finished ?? []), ...this.#active].map((r) => r.copyId);
    this.#log.warn({ err: error, current }, 'write failed');
    this.#fragment = undefined;
    this.#fence = undefined;
    this.#lastDecision = undefined;
    await this.#closeActive();
    await this.#failBatch(error, { current, ...sync });
    if (error instanceof ScsiError && error.category === 'volume-overflow' && medium !== undefined) {
      // Past the physical end without an early warning first: the medium is full all the same.
      this.#full = true;
      this.#emit('medium-full', { medium, inFlight: this.#dropQueued(medium) });
    }
  }

  async #closeActive(): Promise<void> {
    const runs = this.#active.splice(0);
    for (const run of runs) await run.close();
  }

  /** A shutdown that does not wait: the images being written are abandoned where they are. */
  #abandonGroup(): void {
    const runs = [...(this.#fragment?.finished ?? []), ...this.#active];
    for (const run of runs) this.#abandoned.push(run.copyId);
    if (runs.length > 0) this.#log.warn({ copies: runs.length }, 'shutdown: copies abandoned mid-image');
    this.#fragment = undefined;
    this.#fence = undefined;
    for (const run of this.#active.splice(0)) void run.close();
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

  /**
   * A flush (WRITE FILEMARKS count 0, IMMED=0) and its confirmation. `current`: copies being written
   * that fail with the batch when the sync does not hold. False when it did not.
   */
  async #sync(re: string | undefined, batchId: string | undefined, current: string[] = []): Promise<boolean> {
    this.#state = 'syncing';
    const started = this.#clock.now();
    try {
      await this.#device.writeFilemarks(0, { immediate: false });
      this.counters.syncs++;
      this.counters.lastSyncMs = Math.max(0, this.#clock.now() - started);
      return await this.#confirmSync(re, batchId, current);
    } catch (error) {
      this.#log.warn({ err: error, batchId }, 'sync failed');
      await this.#failBatch(error, { re, batchId, current });
      return false;
    }
  }

  /**
   * After a synchronous filemark returned GOOD: reads the position back and commits the batch when
   * it matches, fails it otherwise. A READ POSITION error propagates (the caller fails the batch).
   */
  async #confirmSync(
    re: string | undefined,
    batchId: string | undefined,
    current: string[],
  ): Promise<boolean> {
    const batch = this.#batch!;
    const id = batchId ?? batch.id;
    const position = await this.#device.readPosition();
    // An empty header after the last filemark is not data: the drive is one object past it.
    const eh = this.#eh !== undefined && this.#eh.blockNumber === batch.expected.blockNumber ? 1 : 0;
    const outcome = batch.synced(position.blockNumber - eh);
    if (outcome.ok) {
      const fields: Omit<MessageOf<'batch-synced'>, 'v' | 'type' | 'id'> = {
        batchId: id,
        committed: outcome.committed.map((c) => ({
          copyId: c.copyId,
          medium: c.medium,
          fileNumber: c.fileNumber,
          blockAddress: c.blockAddress,
          sha256: c.sha256,
          ...(c.fragments === undefined ? {} : { fragments: c.fragments.map((f) => ({ ...f })) }),
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
      return true;
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
    return false;
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
    options: { re?: string | undefined; batchId?: string | undefined; current?: string[] | undefined },
  ): Promise<void> {
    const batch = this.#batch;
    const failed = batch === undefined ? [] : batch.fail().map((c) => c.copyId);
    await this.#reportFailed(failed, error, options);
  }

  async #reportFailed(
    failed: string[],
    error: unknown,
    options: { re?: string | undefined; batchId?: string | undefined; current?: string[] | undefined },
  ): Promise<void> {
    const batch = this.#batch;
    for (const id of options.current ?? []) if (!failed.includes(id)) failed.push(id);
    this.counters.syncFailures++;
    const fields: Omit<MessageOf<'sync-failed'>, 'v' | 'type' | 'id'> = {
      batchId: options.batchId ?? batch?.id ?? `${this.#idPrefix}.none`,
      failed,
      sense: senseOf(error),
    };
    if (options.re !== undefined) fields.re = options.re;
    this.#emit('sync-failed', fields);
    // The duplicator fails and requeues every copy assigned here, written or not: writing the queued
    // ones anyway would put stale attempts on tape and send reports it can only refuse.
    const queued = this.#queue.filter((s) => s.kind === 'item').length;
    this.#queue = this.#queue.filter((s) => s.kind !== 'item');
    this.#log.warn(
      { batchId: fields.batchId, failed: failed.length, droppedQueued: queued, sense: fields.sense },
      'batch failed',
    );
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
    const kept = [...this.#parked.keys()];
    await this.#releaseParked('shutdown');
    const uncommitted = [...(this.#batch?.copies.map((c) => c.copyId) ?? []), ...this.#abandoned, ...kept];
    this.#emit('shutdown-ack', { re: message.id, uncommitted: [...new Set(uncommitted)] });
    this.#log.info(
      { graceful: message.graceful, reason: message.reason, uncommitted: uncommitted.length },
      'shutdown',
    );
    this.#stopped = true;
    this.#queue = [];
  }
}
