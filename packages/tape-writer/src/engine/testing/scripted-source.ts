/**
 * Sources whose timing is scripted on the virtual clock, for engine tests: an image's data can
 * arrive late, stall between chunks, stop with an aborted end or break (a rejected `next()`), and
 * its end (the metadata) can follow its last data after a delay. Content is the deterministic
 * pattern of {@link syntheticBytes}, so a restore can be checked byte for byte.
 */
import type { AssignItem } from '@tapedup/protocol';
import { DATA_HEADER_LENGTH, ImageFramer } from '@tapedup/tape-format';
import { SourceError } from '../../dsu';
import { syntheticBytes } from '../../sources/synthetic';
import type { ImageSource, SourceEvent, SourceOpener, SourceOpenOptions } from '../../sources/types';

/** How one image's source behaves. */
export interface SourceScript {
  /** Bytes per delivery. */
  chunkBytes: number;
  /** Model ms to wait before delivery `i` (the last entry applies to every later one; empty: 0). */
  delaysMs: readonly number[];
  /**
   * `complete`: every byte, then the end. `abort`: an aborted end after `cutAt` bytes (a stream
   * that went silent). `break`: `next()` rejects after `cutAt` bytes.
   */
  fate: 'complete' | 'abort' | 'break';
  cutAt?: number;
  /** Model ms between the last data and the end event (metadata that follows the data). */
  endDelayMs?: number;
  /**
   * Frame the last short block as soon as the declared size arrived, before the end (default
   * false: the last short block comes with the end, as the framer gives it).
   */
  flushAtSize?: boolean;
}

export interface ScriptedSourceOptions {
  clock: { sleep(ms: number): Promise<void> };
  /** The script of an item; items without one are delivered at once, complete. */
  scriptOf: (item: AssignItem) => SourceScript | undefined;
}

type EndEvent = Extract<SourceEvent, { kind: 'end' }>;
const payloadOf = (blocks: Uint8Array[]): number =>
  blocks.reduce((n, b) => n + b.length - DATA_HEADER_LENGTH, 0);

class ScriptedSource implements ImageSource {
  readonly #framer: ImageFramer;
  #offset = 0;
  #deliveries = 0;
  #queue: SourceEvent[] = [];
  #ended = false;
  #aborted = false;
  #closed = false;
  #flushed = false;

  constructor(
    private readonly item: AssignItem,
    private readonly script: SourceScript,
    private readonly clock: ScriptedSourceOptions['clock'],
    options: SourceOpenOptions,
  ) {
    this.#framer = new ImageFramer({ tag: options.tag, blockPayloadSize: options.blockPayloadSize });
  }

  get #limit(): number {
    const size = this.item.sizeBytes;
    return this.script.fate === 'complete' ? size : Math.min(size, this.script.cutAt ?? 0);
  }

  async next(): Promise<SourceEvent> {
    for (;;) {
      const queued = this.#queue.shift();
      if (queued !== undefined) return queued;
      if (this.#ended || this.#closed) throw new Error('scripted source: next() after end');
      if (this.#aborted || this.#offset >= this.#limit) return this.#finish();
      const delays = this.script.delaysMs;
      const delay = delays[Math.min(this.#deliveries, delays.length - 1)] ?? 0;
      this.#deliveries += 1;
      if (delay > 0) await this.clock.sleep(delay);
      if (this.#closed) throw new Error('scripted source: closed');
      const take = Math.min(this.script.chunkBytes, this.#limit - this.#offset);
      const blocks = this.#framer.push(syntheticBytes(this.item.backupId, this.#offset, take));
      this.#offset += take;
      if (this.script.flushAtSize === true && this.#offset >= this.item.sizeBytes && !this.#flushed) {
        this.#flushed = true;
        blocks.push(...this.#framer.flush());
      }
      if (blocks.length > 0) return { kind: 'blocks', blocks, payloadBytes: payloadOf(blocks) };
    }
  }

  async #finish(): Promise<SourceEvent> {
    const endDelay = this.script.endDelayMs ?? 0;
    if (endDelay > 0) await this.clock.sleep(endDelay);
    this.#ended = true;
    const failing = this.#aborted || this.script.fate !== 'complete';
    if (failing && this.script.fate === 'break' && !this.#aborted) {
      throw new SourceError('READ_FAILED', 'scripted', this.item.backupId, 'scripted read failure');
    }
    const status = failing ? 'aborted' : 'complete';
    const { blocks, trailer, info } = this.#framer.finish(status);
    const end: EndEvent = {
      kind: 'end',
      status,
      trailer,
      bytes: info.totalBytes,
      blocks: info.blockCount,
      sha256: Buffer.from(info.sha256).toString('hex'),
      ...(failing
        ? { error: new SourceError('STREAM_CUT', 'scripted', this.item.backupId, 'scripted stream cut') }
        : {}),
    };
    if (blocks.length > 0) {
      this.#queue.push(end);
      return { kind: 'blocks', blocks, payloadBytes: payloadOf(blocks) };
    }
    return end;
  }

  abort(): void {
    this.#aborted = true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#queue = [];
  }
}

/** Opens a {@link ScriptedSource} for every item. */
export class ScriptedSourceOpener implements SourceOpener {
  /** Items opened, in order (copy ids). */
  readonly opened: string[] = [];

  constructor(private readonly options: ScriptedSourceOptions) {}

  async open(item: AssignItem, options: SourceOpenOptions): Promise<ImageSource> {
    this.opened.push(item.copyId);
    const script = this.options.scriptOf(item) ?? { chunkBytes: 64 * 1024, delaysMs: [], fate: 'complete' };
    return new ScriptedSource(item, script, this.options.clock, options);
  }
}
