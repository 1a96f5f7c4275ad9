/**
 * A minimal writer for the simulator seam, used while the tape-writer engine is not available: it
 * writes each copy as synthetic data blocks plus the filemark the policy chose (no fragment header,
 * trailer or checksums), keeps the batch, commits it only on a GOOD sync whose position read back
 * matches, and on any error fails the whole batch and repositions to the last committed block.
 * It is not the tape-writer engine; results obtained with it say so (`writer: 'stand-in'`).
 */
import { ScsiError } from '@tapedup/scsi';
import { SimulatorError } from './errors';
import type { WriteJob, WriterContext, WriterFactory, WriterUnderTest } from './writer-seam';

/** Data block size of the synthetic payload. */
export const STAND_IN_BLOCK_BYTES = 256 * 1024;

export const standInWriterFactory: WriterFactory = {
  name: 'stand-in',
  create: async (context) => new StandInWriter(context),
};

class StandInWriter implements WriterUnderTest {
  readonly #ctx: WriterContext;
  /** Copies written since the last good sync. */
  #batch: string[] = [];
  /** Logical object number after the last good sync, and where the writer believes the tape is. */
  #lastGood = 0;
  #expected = 0;

  constructor(context: WriterContext) {
    this.#ctx = context;
  }

  async write(job: WriteJob): Promise<void> {
    const device = this.#ctx.device;
    this.#batch.push(job.copyId);
    try {
      const full = Math.floor(job.sizeBytes / STAND_IN_BLOCK_BYTES);
      const rest = job.sizeBytes % STAND_IN_BLOCK_BYTES;
      let earlyWarning = false;
      if (full > 0) {
        earlyWarning ||= (await device.writeSyntheticBlocks(STAND_IN_BLOCK_BYTES, full)).earlyWarning;
        this.#expected += full;
      }
      if (rest > 0) {
        earlyWarning ||= (await device.writeSyntheticBlocks(rest, 1)).earlyWarning;
        this.#expected += 1;
      }
      if (earlyWarning) {
        throw new SimulatorError('MEDIUM_FULL', `${this.#ctx.mediumId} reached early warning`, 'workload');
      }
      if (job.ending === 'defer') {
        await device.writeFilemarks(1, { immediate: true });
        this.#expected += 1;
        this.#ctx.report({ type: 'image-written', copyId: job.copyId, bytes: job.sizeBytes });
        return;
      }
      // The filemark is written (and counted) before the sync proves it, so the image is written.
      this.#expected += 1;
      this.#ctx.report({ type: 'image-written', copyId: job.copyId, bytes: job.sizeBytes });
      await this.#sync(1);
    } catch (error) {
      if (!(error instanceof ScsiError)) throw error;
      await this.#fail(error.code);
    }
  }

  async flush(): Promise<void> {
    if (this.#batch.length === 0) return;
    try {
      await this.#sync(0);
    } catch (error) {
      if (!(error instanceof ScsiError)) throw error;
      await this.#fail(error.code);
    }
  }

  async close(): Promise<void> {
    await this.flush();
  }

  async #sync(filemarks: number): Promise<void> {
    const { device, clock } = this.#ctx;
    const before = await device.readPosition();
    const started = clock.now();
    await device.writeFilemarks(filemarks, { immediate: false });
    const syncSeconds = (clock.now() - started) / 1000;
    const after = await device.readPosition();
    if (after.blockNumber !== this.#expected) {
      await this.#fail('POSITION_MISMATCH');
      return;
    }
    const copyIds = this.#batch;
    this.#batch = [];
    this.#lastGood = this.#expected;
    this.#ctx.report({ type: 'batch-synced', copyIds, syncSeconds, bytesFlushed: before.bytesInBuffer ?? 0 });
  }

  async #fail(code: string): Promise<void> {
    const copyIds = this.#batch;
    this.#batch = [];
    this.#ctx.report({ type: 'sync-failed', copyIds, code });
    // Resume at the end of the committed data: what follows is overwritten.
    await this.#ctx.device.locate(this.#lastGood);
    this.#expected = this.#lastGood;
  }
}
