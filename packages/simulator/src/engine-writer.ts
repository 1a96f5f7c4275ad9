/**
 * The tape-writer engine behind the simulator seam: the real `WriterEngine` of @tapedup/tape-writer,
 * fed length-only synthetic sources (its blocks become `writeSyntheticBlocks` runs on the virtual
 * drive), with the loaded cartridge as its only medium. Each job is one `assign` command carrying the
 * policy's decision; a flush is a `sync-now`; the engine's protocol reports are translated to the
 * seam's.
 */
import type { AssignItem, WriterToDuplicator } from '@tapedup/protocol';
import {
  LoadedMediumChanger,
  SyntheticSourceOpener,
  WriterEngine,
  type WriterEngineOptions,
} from '@tapedup/tape-writer';
import pino from 'pino';
import { SimulatorError } from './errors';
import type { WriteJob, WriterContext, WriterFactory, WriterUnderTest } from './writer-seam';

/** Data blocks per synthetic chunk: 4096 × 256 KiB = 1 GiB per drive command at most. */
const CHUNK_BLOCKS = 4096;

/**
 * The engine's own settings a simulation may pass through (MPX factor, fragment limits, packing...);
 * the drive, clock, sources, changer and reports are the simulator's.
 */
export type EngineWriterOptions = Readonly<
  Partial<
    Omit<
      WriterEngineOptions,
      'driveId' | 'device' | 'clock' | 'logger' | 'sources' | 'changer' | 'report' | 'newLabelId' | 'idPrefix'
    >
  >
>;

/**
 * The tape-writer engine with `options`. A packing engine is handed each drive's assigned copies
 * together: it packs an image only when the next one is already queued.
 */
export function engineWriter(options: EngineWriterOptions = {}): WriterFactory {
  return {
    name: 'tape-writer engine',
    queuesAhead: options.packImages === true,
    create: async (context) => {
      const writer = new EngineWriter(context, options);
      await writer.mount();
      return writer;
    },
  };
}

/** The engine with its default options, one copy per hand-over. */
export const engineWriterFactory: WriterFactory = engineWriter();

class EngineWriter implements WriterUnderTest {
  readonly #ctx: WriterContext;
  readonly #engine: WriterEngine;
  readonly #running: Promise<void>;
  #seq = 0;
  /** A report the seam cannot express (medium full, drive error): the run cannot go on. */
  #fatal: SimulatorError | undefined;

  constructor(context: WriterContext, options: EngineWriterOptions) {
    this.#ctx = context;
    this.#engine = new WriterEngine({
      ...options,
      driveId: context.driveId,
      device: context.device,
      clock: context.clock,
      logger: pino({ level: 'silent' }),
      sources: new SyntheticSourceOpener({ content: 'none', chunkBlocks: CHUNK_BLOCKS }),
      changer: new LoadedMediumChanger(context.device, 'simulation'),
      report: (m) => this.#translate(m),
      // A fixed label id keeps runs reproducible.
      newLabelId: () => '00000000-0000-4000-8000-000000000000',
    });
    this.#running = this.#engine.start();
  }

  /** Mounts (and labels) the blank cartridge, so that a run's figures start with a ready drive. */
  async mount(): Promise<void> {
    this.#engine.handle({ v: 1, type: 'mount', id: this.#nextId(), barcode: this.#ctx.mediumId });
    await this.#settle();
  }

  async write(jobs: readonly WriteJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const items = jobs.map(
      (job): AssignItem => ({
        copyId: job.copyId,
        requestId: 'sim',
        backupId: job.imageId,
        copy: job.copyNumber,
        sizeBytes: job.sizeBytes,
        source: { kind: 'disk', dsu: 'sim', path: job.imageId },
        priority: job.priority,
        attempt: job.attempt,
        decision: job.ending,
        reason: job.reason,
      }),
    );
    this.#engine.handle({ v: 1, type: 'assign', id: this.#nextId(), medium: this.#ctx.mediumId, items });
    await this.#settle();
  }

  async flush(): Promise<void> {
    if (this.#engine.pending.length === 0) return;
    const id = this.#nextId();
    this.#engine.handle({ v: 1, type: 'sync-now', id, batchId: id });
    await this.#settle();
  }

  async close(): Promise<void> {
    this.#engine.handle({
      v: 1,
      type: 'shutdown',
      id: this.#nextId(),
      graceful: true,
      reason: 'simulation end',
    });
    await this.#running;
  }

  async #settle(): Promise<void> {
    await this.#engine.whenIdle();
    if (this.#fatal !== undefined) throw this.#fatal;
  }

  #nextId(): string {
    this.#seq += 1;
    return `${this.#ctx.driveId}.sim${this.#seq}`;
  }

  #translate(m: WriterToDuplicator): void {
    const report = this.#ctx.report;
    switch (m.type) {
      case 'copy-written':
        report({ type: 'image-written', copyId: m.copyId, bytes: m.bytes });
        return;
      case 'batch-synced':
        report({ type: 'batch-synced', copyIds: m.committed.map((c) => c.copyId) });
        return;
      case 'sync-failed':
        report({ type: 'sync-failed', copyIds: m.failed, code: m.sense.code });
        return;
      case 'copy-failed':
        report({ type: 'copy-failed', copyId: m.copyId, code: m.reason });
        return;
      case 'medium-full':
        this.#fatal ??= new SimulatorError(
          'MEDIUM_FULL',
          `${m.medium} is full; the simulator models one cartridge per drive`,
          'workload',
        );
        return;
      case 'drive-error':
        this.#fatal ??= new SimulatorError('SIMULATION_STALLED', `drive error ${m.sense.code}`);
        return;
      default:
        return;
    }
  }
}
