/**
 * `stream` images: live data pushed by a sender as data frames (docs/protocol.md, "Stream data
 * frames") to a PULL socket the writer binds for that copy (the assign item's `streamEndpoint`).
 *
 * Backpressure contract: one PULL socket per copy. The writer reads it only while the copy's queue
 * of framed blocks has room (`maxQueuedBlocks`); the engine takes blocks as the drive accepts them.
 * When the queue is full the writer stops reading, the PULL socket's receive high-water mark fills,
 * then the sender's PUSH send high-water mark, and the sender's `send` blocks: a slow drive slows
 * the sender, nothing queues without bound, and other streams are not held back.
 *
 * A stream that stops sending mid-image for `idleTimeoutMs` (measured only while the writer waits
 * for data, on the injected timers), an `abort` frame, or a frame that breaks the sequence fails
 * that image only: its blocks so far are followed by an aborted trailer.
 */
import { createHash } from 'node:crypto';
import type { AssignItem } from '@tapedup/protocol';
import { type DataFrame, decodeDataFrame, isProtocolError } from '@tapedup/protocol';
import { DATA_HEADER_LENGTH, ImageFramer, type TrailerStatus } from '@tapedup/tape-format';
import * as zmq from 'zeromq';
import { SourceError, type SourceErrorCode } from '../dsu';
import { endEvent } from './end-event';
import type { ImageSource, SourceEvent, SourceOpener, SourceOpenOptions } from './types';

/** Timers the idle timeout runs on (injectable so tests control time). */
export interface StreamTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface StreamSourceOptions {
  /** A stream silent this long while the writer waits for its data fails (default 30 000 ms). */
  idleTimeoutMs?: number;
  /** Framed blocks held per stream image before the writer stops reading its socket (default 8). */
  maxQueuedBlocks?: number;
  /** ZeroMQ receive high-water mark of each PULL socket, in messages (default 4). */
  receiveHighWaterMark?: number;
  /** Largest payload frame accepted (default 4 MiB). */
  maxChunkBytes?: number;
  timers?: StreamTimers;
}

const realTimers: StreamTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

function positive(option: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`stream source option "${option}" must be a positive integer, got ${String(n)}`);
  }
  return n;
}

const LOOPBACK = /^tcp:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/;

/** The endpoints a writer binds without CURVE keys: ipc, inproc and loopback TCP. */
export function isLocalEndpoint(endpoint: string): boolean {
  return endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://') || LOOPBACK.test(endpoint);
}

export class StreamSourceOpener implements SourceOpener {
  readonly #idleTimeoutMs: number;
  readonly #maxQueued: number;
  readonly #hwm: number;
  readonly #maxChunk: number;
  readonly #timers: StreamTimers;

  constructor(options: StreamSourceOptions = {}) {
    this.#idleTimeoutMs = positive('idleTimeoutMs', options.idleTimeoutMs, 30_000);
    this.#maxQueued = positive('maxQueuedBlocks', options.maxQueuedBlocks, 8);
    this.#hwm = positive('receiveHighWaterMark', options.receiveHighWaterMark, 4);
    this.#maxChunk = positive('maxChunkBytes', options.maxChunkBytes, 4 * 1024 * 1024);
    this.#timers = options.timers ?? realTimers;
  }

  async open(item: AssignItem, options: SourceOpenOptions): Promise<ImageSource> {
    const endpoint = item.streamEndpoint;
    if (item.source.kind !== 'stream') {
      throw new SourceError(
        'UNSUPPORTED_SOURCE',
        '-',
        item.backupId,
        `not a stream image: ${item.source.kind}`,
      );
    }
    if (endpoint === undefined) {
      throw new SourceError('STREAM_ENDPOINT', '-', item.backupId, 'the assign item names no streamEndpoint');
    }
    if (!isLocalEndpoint(endpoint)) {
      throw new SourceError(
        'STREAM_ENDPOINT',
        '-',
        endpoint,
        'a stream endpoint must be ipc://, inproc:// or loopback tcp:// (the writer has no CURVE keys)',
      );
    }
    const socket = new zmq.Pull({ linger: 0, receiveHighWaterMark: this.#hwm });
    try {
      await socket.bind(endpoint);
    } catch (cause) {
      socket.close();
      throw new SourceError('STREAM_ENDPOINT', '-', endpoint, `cannot bind ${endpoint}`, cause);
    }
    return new StreamImageSource(item, options, socket, endpoint, {
      idleTimeoutMs: this.#idleTimeoutMs,
      maxQueued: this.#maxQueued,
      maxChunk: this.#maxChunk,
      timers: this.#timers,
    });
  }
}

const TIMEOUT = Symbol('timeout');

class StreamImageSource implements ImageSource {
  readonly #framer: ImageFramer;
  /** The framer keeps its digest to itself until the end; the sender's digest is checked before. */
  readonly #hash = createHash('sha256');
  #queued: Uint8Array[] = [];
  #end: Extract<SourceEvent, { kind: 'end' }> | undefined;
  #delivered = false;
  #waiter: (() => void) | undefined;
  #space: (() => void) | undefined;
  #seq = 0;
  #bytes = 0;
  #closed = false;
  #timer: unknown;

  constructor(
    private readonly item: AssignItem,
    options: SourceOpenOptions,
    private readonly socket: zmq.Pull,
    private readonly endpoint: string,
    private readonly limits: {
      idleTimeoutMs: number;
      maxQueued: number;
      maxChunk: number;
      timers: StreamTimers;
    },
  ) {
    this.#framer = new ImageFramer({ tag: options.tag, blockPayloadSize: options.blockPayloadSize });
    void this.#pump();
  }

  async next(): Promise<SourceEvent> {
    for (;;) {
      if (this.#queued.length > 0) {
        const blocks = this.#queued;
        this.#queued = [];
        this.#space?.();
        return {
          kind: 'blocks',
          blocks,
          payloadBytes: blocks.reduce((n, b) => n + b.length - DATA_HEADER_LENGTH, 0),
        };
      }
      if (this.#end !== undefined) {
        if (this.#delivered) throw new Error('stream source: next() after end');
        this.#delivered = true;
        return this.#end;
      }
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }

  abort(): void {
    this.#finish('aborted', undefined);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    if (this.#end === undefined) this.#finish('aborted', undefined);
    if (!this.socket.closed) this.socket.close();
    this.#space?.();
  }

  #notify(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.limits.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Reads frames while there is room; stops at the image's end or failure. */
  async #pump(): Promise<void> {
    try {
      while (this.#end === undefined && !this.#closed) {
        while (this.#queued.length >= this.limits.maxQueued && !this.#closed && this.#end === undefined) {
          await new Promise<void>((resolve) => {
            this.#space = resolve;
          });
          this.#space = undefined;
        }
        if (this.#closed || this.#end !== undefined) return;
        const frames = await this.#receive();
        if (frames === TIMEOUT) {
          this.#fail('STREAM_CUT', `no data for ${this.limits.idleTimeoutMs} ms after byte ${this.#bytes}`);
          return;
        }
        this.#accept(frames);
      }
    } catch (error) {
      if (this.#closed || this.#end !== undefined) return;
      this.#fail(
        'STREAM_CUT',
        `stream socket failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** The next message, or TIMEOUT when the stream stays silent for the idle timeout. */
  #receive(): Promise<Buffer[] | typeof TIMEOUT> {
    return new Promise((resolve, reject) => {
      this.#timer = this.limits.timers.setTimeout(() => {
        this.#timer = undefined;
        resolve(TIMEOUT);
      }, this.limits.idleTimeoutMs);
      this.socket.receive().then(
        (frames) => {
          this.#clearTimer();
          resolve(frames);
        },
        (error: unknown) => {
          this.#clearTimer();
          reject(error);
        },
      );
    });
  }

  #accept(frames: Buffer[]): void {
    let frame: DataFrame;
    try {
      frame = decodeDataFrame(frames, { maxChunkBytes: this.limits.maxChunk });
    } catch (error) {
      if (!isProtocolError(error)) throw error;
      this.#fail('STREAM_PROTOCOL', `bad data frame: ${error.code} ${error.message}`);
      return;
    }
    const h = frame.header;
    if (h.backupId !== this.item.backupId || (h.copy !== undefined && h.copy !== this.item.copy)) {
      this.#fail('STREAM_PROTOCOL', `frame for ${h.backupId} copy ${String(h.copy)} on this copy's endpoint`);
      return;
    }
    if (h.seq !== this.#seq || h.offset !== this.#bytes) {
      this.#fail(
        'STREAM_PROTOCOL',
        `frame seq ${h.seq} offset ${h.offset}, expected seq ${this.#seq} offset ${this.#bytes}`,
      );
      return;
    }
    this.#seq += 1;
    if (frame.header.type === 'data') {
      const payload = frame.payload!;
      const declared = this.item.sizeBytes;
      if (declared > 0 && this.#bytes + payload.length > declared) {
        this.#fail(
          'STREAM_PROTOCOL',
          `${this.#bytes + payload.length} bytes sent, more than the declared sizeBytes ${declared}`,
        );
        return;
      }
      this.#bytes += payload.length;
      this.#hash.update(payload);
      // The framer copies the payload into its block buffers: the frame buffer is free afterwards.
      const blocks = this.#framer.push(payload);
      // The declared size is reached: the data is complete even if the end frame (the metadata) is
      // late, so the last short block goes out now rather than with the end (sizeBytes 0: unknown).
      if (declared > 0 && this.#bytes === declared) blocks.push(...this.#framer.flush());
      if (blocks.length > 0) {
        this.#queued.push(...blocks);
        this.#notify();
      }
      return;
    }
    if (frame.header.type === 'abort') {
      this.#fail('STREAM_ABORTED', `the sender aborted: ${frame.header.reason}`);
      return;
    }
    const digest = this.#hash.copy().digest('hex');
    if (frame.header.sha256 !== undefined && frame.header.sha256 !== digest) {
      this.#fail(
        'STREAM_PROTOCOL',
        `image digest ${digest} differs from the sender's ${frame.header.sha256}`,
      );
      return;
    }
    this.#finish('complete', undefined);
  }

  #fail(code: SourceErrorCode, message: string): void {
    this.#finish('aborted', new SourceError(code, '-', this.endpoint, message));
  }

  /** Ends the image: its last short block, then the trailer. */
  #finish(status: TrailerStatus, error: SourceError | undefined): void {
    if (this.#end !== undefined) return;
    this.#clearTimer();
    const finished = this.#framer.finish(status);
    this.#queued.push(...finished.blocks);
    this.#end = endEvent(finished, error);
    // A failed stream stops reading at once; its sender's further sends are not ours to take.
    if (!this.socket.closed && status === 'aborted') this.socket.close();
    this.#notify();
    this.#space?.();
  }
}

/** Dispatches each item to the opener of its source kind. */
export class SourceRouter implements SourceOpener {
  constructor(private readonly byKind: { disk: SourceOpener; stream: SourceOpener }) {}

  open(item: AssignItem, options: SourceOpenOptions): Promise<ImageSource> {
    return this.byKind[item.source.kind].open(item, options);
  }

  async close(): Promise<void> {
    await Promise.all([this.byKind.disk.close?.(), this.byKind.stream.close?.()]);
  }
}
