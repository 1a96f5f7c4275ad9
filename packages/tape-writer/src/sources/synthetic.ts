/**
 * Synthetic sources for the simulator and tests: an image is only its size. Content is either a
 * deterministic pattern derived from the backup id (so a restore can be checked byte for byte) or
 * none at all (the drive writes length-only blocks; nothing is hashed, the digest is all zeros).
 */
import type { AssignItem } from '@tapedup/protocol';
import {
  DATA_HEADER_LENGTH,
  encodeImageTrailer,
  ImageFramer,
  type TrailerStatus,
} from '@tapedup/tape-format';
import { SourceError } from '../dsu';
import type { ImageSource, SourceEvent, SourceOpener, SourceOpenOptions } from './types';

export interface SyntheticSourceOptions {
  /** `pattern` (default): deterministic bytes; `none`: lengths only. */
  content?: 'pattern' | 'none';
  /** Data blocks per `next()` (default 4). */
  chunkBlocks?: number;
  /** Fault injection: the image fails with READ_FAILED once this many bytes were delivered. */
  failAfterBytes?: (item: AssignItem) => number | undefined;
}

function seedOf(backupId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < backupId.length; i++) h = Math.imul(h ^ backupId.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The bytes [offset, offset + length) of the synthetic image `backupId`. */
export function syntheticBytes(backupId: string, offset: number, length: number): Uint8Array {
  const seed = seedOf(backupId);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.imul((offset + i) ^ seed, 0x9e3779b1) >>> 24;
  return out;
}

type EndEvent = Extract<SourceEvent, { kind: 'end' }>;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const payloadOf = (blocks: Uint8Array[]): number =>
  blocks.reduce((n, b) => n + b.length - DATA_HEADER_LENGTH, 0);

/** Shared shape of both synthetic sources: chunks until the size, a failure point or an abort. */
abstract class SyntheticSource implements ImageSource {
  protected offset = 0;
  #aborted = false;
  #queue: SourceEvent[] = [];
  #ended = false;

  constructor(
    protected readonly item: AssignItem,
    private readonly failAt: number | undefined,
  ) {}

  /** Produces the next chunk of at most `take` bytes; returns the bytes it consumed. */
  protected abstract chunk(take: number): { event: SourceEvent; consumed: number };
  protected abstract finish(status: TrailerStatus): { blocks: Uint8Array[]; end: EndEvent };
  protected abstract readonly chunkBytes: number;

  async next(): Promise<SourceEvent> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return queued;
    if (this.#ended) throw new Error('synthetic source: next() after end');
    const failing = this.failAt !== undefined && this.offset >= this.failAt;
    if (this.#aborted || failing || this.offset >= this.item.sizeBytes) {
      this.#ended = true;
      const { blocks, end } = this.finish(this.#aborted || failing ? 'aborted' : 'complete');
      if (failing) {
        end.error = new SourceError(
          'READ_FAILED',
          'synthetic',
          this.item.backupId,
          `injected read failure at byte ${this.offset}`,
        );
      }
      // The last short block reaches the tape before the trailer.
      if (blocks.length > 0) {
        this.#queue.push(end);
        return { kind: 'blocks', blocks, payloadBytes: payloadOf(blocks) };
      }
      return end;
    }
    const limit = Math.min(this.item.sizeBytes, this.failAt ?? this.item.sizeBytes);
    const take = Math.min(this.chunkBytes, limit - this.offset);
    const { event, consumed } = this.chunk(take);
    this.offset += consumed;
    return event;
  }

  abort(): void {
    this.#aborted = true;
  }

  async close(): Promise<void> {
    this.#ended = true;
    this.#queue = [];
  }
}

class PatternSource extends SyntheticSource {
  readonly #framer: ImageFramer;
  protected readonly chunkBytes: number;

  constructor(item: AssignItem, chunkBlocks: number, failAt: number | undefined, options: SourceOpenOptions) {
    super(item, failAt);
    this.#framer = new ImageFramer({ tag: options.tag, blockPayloadSize: options.blockPayloadSize });
    this.chunkBytes = chunkBlocks * options.blockPayloadSize;
  }

  protected chunk(take: number): { event: SourceEvent; consumed: number } {
    const blocks = this.#framer.push(syntheticBytes(this.item.backupId, this.offset, take));
    return { event: { kind: 'blocks', blocks, payloadBytes: payloadOf(blocks) }, consumed: take };
  }

  protected finish(status: TrailerStatus): { blocks: Uint8Array[]; end: EndEvent } {
    const { blocks, trailer, info } = this.#framer.finish(status);
    return {
      blocks,
      end: {
        kind: 'end',
        status,
        trailer,
        bytes: info.totalBytes,
        blocks: info.blockCount,
        sha256: hex(info.sha256),
      },
    };
  }
}

/** Lengths only: blocks are written as synthetic runs, the trailer carries an all-zero digest. */
class LengthOnlySource extends SyntheticSource {
  protected readonly chunkBytes: number;
  #blocks = 0;

  constructor(
    item: AssignItem,
    chunkBlocks: number,
    failAt: number | undefined,
    private readonly options: SourceOpenOptions,
  ) {
    super(item, failAt);
    this.chunkBytes = chunkBlocks * options.blockPayloadSize;
  }

  protected chunk(take: number): { event: SourceEvent; consumed: number } {
    const size = this.options.blockPayloadSize;
    const full = Math.floor(take / size);
    // Whole blocks first; a short block only as the last one before the image's end or failure point.
    const count = full > 0 ? full : 1;
    const length = full > 0 ? size : take;
    this.#blocks += count;
    return {
      event: {
        kind: 'synthetic',
        blockLength: length + DATA_HEADER_LENGTH,
        count,
        payloadBytes: count * length,
      },
      consumed: count * length,
    };
  }

  protected finish(status: TrailerStatus): { blocks: Uint8Array[]; end: EndEvent } {
    const sha256 = new Uint8Array(32);
    const trailer = encodeImageTrailer({
      tag: this.options.tag,
      status,
      totalBytes: this.offset,
      blockCount: this.#blocks,
      sha256,
    });
    return {
      blocks: [],
      end: { kind: 'end', status, trailer, bytes: this.offset, blocks: this.#blocks, sha256: hex(sha256) },
    };
  }
}

/** Opens synthetic sources for every item, whatever its declared source. */
export class SyntheticSourceOpener implements SourceOpener {
  readonly #content: 'pattern' | 'none';
  readonly #chunkBlocks: number;
  readonly #failAfter: ((item: AssignItem) => number | undefined) | undefined;

  constructor(options: SyntheticSourceOptions = {}) {
    const chunkBlocks = options.chunkBlocks ?? 4;
    if (!Number.isSafeInteger(chunkBlocks) || chunkBlocks < 1) {
      throw new RangeError(
        `synthetic source option "chunkBlocks" must be a positive integer, got ${chunkBlocks}`,
      );
    }
    const content = options.content ?? 'pattern';
    if (content !== 'pattern' && content !== 'none') {
      throw new RangeError(
        `synthetic source option "content" must be pattern or none, got ${String(content)}`,
      );
    }
    this.#content = content;
    this.#chunkBlocks = chunkBlocks;
    this.#failAfter = options.failAfterBytes;
  }

  async open(item: AssignItem, options: SourceOpenOptions): Promise<ImageSource> {
    const failAt = this.#failAfter?.(item);
    return this.#content === 'pattern'
      ? new PatternSource(item, this.#chunkBlocks, failAt, options)
      : new LengthOnlySource(item, this.#chunkBlocks, failAt, options);
  }
}
