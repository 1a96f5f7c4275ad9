/**
 * `disk` images: read straight from a DSU root by a piscina pool (read, CRC32C, SHA-256 and framing
 * off the main thread, each block read straight into a ring shared with the main thread). Read-ahead
 * is bounded per image: the worker may be `readAhead` chunks ahead, and a slot frees only when the
 * engine asks for the next chunk, i.e. after the drive accepted the previous one. Images of a block
 * or so are read on the calling thread instead (`disk-inline.ts`): for them the trips between
 * threads were most of the pickup time.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { AssignItem } from '@tapedup/protocol';
import { DATA_HEADER_LENGTH } from '@tapedup/tape-format';
import { Piscina } from 'piscina';
import { type DsuRoots, SourceError } from '../dsu';
import { openInline } from './disk-inline';
import type { DiskReadTask, MainToWorker, WorkerToMain } from './disk-worker';
import type { ImageSource, SourceEvent, SourceOpener, SourceOpenOptions } from './types';

export interface DiskSourceOptions {
  roots: DsuRoots;
  /** Worker threads (default 2). */
  threads?: number;
  /** Chunks a worker may read ahead per image (default 4). */
  readAhead?: number;
  /** Data blocks per chunk, i.e. per message from the worker (default 8: 2 MiB of 256 KiB blocks). */
  chunkBlocks?: number;
  /**
   * Images of at most this many data blocks are read and framed on the calling thread when opened
   * (see `disk-inline.ts`): no trips between threads on their pickup path. Default 1 (with the
   * default payload, images up to 256 KiB); 0 sends every image to the workers.
   */
  inlineMaxBlocks?: number;
  /** The worker script; default the built `dist/sources/disk-worker.js`. */
  workerPath?: string;
}

function positiveInteger(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`disk source option "${option}" must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * The worker script. Bundled (`dist/main.js`) it sits next to the bundle; from source it is the
 * package's built copy, or the `.ts` file when the process runs under `node --import tsx`.
 */
export function resolveDiskWorker(): string {
  const candidates = [
    new URL('./sources/disk-worker.js', import.meta.url),
    new URL('./disk-worker.js', import.meta.url),
    new URL('../../dist/sources/disk-worker.js', import.meta.url),
  ].map((u) => fileURLToPath(u));
  for (const path of candidates) if (existsSync(path)) return path;
  const ts = fileURLToPath(new URL('./disk-worker.ts', import.meta.url));
  const underTsx = process.execArgv.some((a) => a.includes('tsx'));
  if (underTsx && existsSync(ts)) return ts;
  throw new Error(
    `disk source: worker script not found (looked for ${candidates.join(', ')}); run "pnpm run build"`,
  );
}

export class DiskSourceOpener implements SourceOpener {
  readonly #roots: DsuRoots;
  readonly #pool: Piscina;
  readonly #readAhead: number;
  readonly #chunkBlocks: number;
  /** The ring of an image that ended, kept for the next one (one: more would only hold memory). */
  readonly #rings: SharedArrayBuffer[] = [];
  readonly #keepRings: number;
  readonly #inlineMaxBlocks: number;

  constructor(options: DiskSourceOptions) {
    if (!(options.roots instanceof Map)) throw new TypeError('disk source option "roots" must be a Map');
    this.#roots = options.roots;
    this.#readAhead = positiveInteger(options.readAhead ?? 4, 'readAhead');
    this.#chunkBlocks = positiveInteger(options.chunkBlocks ?? 8, 'chunkBlocks');
    const inline = options.inlineMaxBlocks ?? 1;
    if (!Number.isSafeInteger(inline) || inline < 0) {
      throw new RangeError(
        `disk source option "inlineMaxBlocks" must be a non-negative integer, got ${String(inline)}`,
      );
    }
    this.#inlineMaxBlocks = inline;
    const threads = positiveInteger(options.threads ?? 2, 'threads');
    this.#keepRings = 1;
    this.#pool = new Piscina({
      filename: options.workerPath ?? resolveDiskWorker(),
      minThreads: 1,
      maxThreads: threads,
      // One task per image in flight: queueing more than a few means the planner over-assigned.
      maxQueue: 'auto',
    });
  }

  async open(item: AssignItem, options: SourceOpenOptions): Promise<ImageSource> {
    const source = item.source;
    if (source.kind !== 'disk') {
      throw new SourceError('UNSUPPORTED_SOURCE', '-', item.backupId, `not a disk image: ${source.kind}`);
    }
    const root = this.#roots.get(source.dsu);
    if (root === undefined) {
      throw new SourceError(
        'UNKNOWN_DSU',
        source.dsu,
        source.path,
        `unknown disk storage unit "${source.dsu}"`,
      );
    }
    if (item.sizeBytes <= this.#inlineMaxBlocks * options.blockPayloadSize) {
      return openInline({
        roots: this.#roots,
        dsu: source.dsu,
        path: source.path,
        sizeBytes: item.sizeBytes,
        tag: options.tag,
        blockPayloadSize: options.blockPayloadSize,
      });
    }
    const { port1, port2 } = new MessageChannel();
    // The ring holds the read-ahead, sized down for a small image (one chunk of its blocks). The
    // announced size is the one the worker will insist on.
    const payload = options.blockPayloadSize;
    const imageBlocks = Math.max(1, Math.ceil(item.sizeBytes / payload));
    const chunkBlocks = Math.min(this.#chunkBlocks, imageBlocks);
    const slotBytes = chunkBlocks * (payload + DATA_HEADER_LENGTH);
    const slots = Math.min(this.#readAhead, Math.ceil(imageBlocks / chunkBlocks));
    const ring = this.#takeRing(slots * slotBytes);
    const task: DiskReadTask = {
      roots: new Map([[source.dsu, root]]),
      dsu: source.dsu,
      path: source.path,
      sizeBytes: item.sizeBytes,
      tag: options.tag,
      blockPayloadSize: payload,
      readAhead: this.#readAhead,
      ring,
      slotBytes,
      port: port2,
    };
    const done = this.#pool.run(task, { transferList: [port2] }) as Promise<{ bytes: number }>;
    const image = new DiskImageSource(port1, done, source.dsu, source.path, ring, slotBytes, () =>
      this.#giveRing(ring),
    );
    // The worker checks the source (inside the root, a file of the announced size) before it
    // reads: one trip to a thread that is woken anyway, instead of a round through the libuv pool
    // first (on a busy machine each such trip waits for a thread to be scheduled).
    try {
      await image.opened;
    } catch (error) {
      await image.close();
      throw error;
    }
    return image;
  }

  /** A free ring of at least `bytes`, or a new one: rings are reused so that images do not churn memory. */
  #takeRing(bytes: number): SharedArrayBuffer {
    const i = this.#rings.findIndex((r) => r.byteLength >= bytes);
    if (i < 0) return new SharedArrayBuffer(bytes);
    return this.#rings.splice(i, 1)[0]!;
  }

  /** A ring nothing refers to any more (its worker finished, its source closed). Keeps the largest. */
  #giveRing(ring: SharedArrayBuffer): void {
    this.#rings.push(ring);
    this.#rings.sort((a, b) => b.byteLength - a.byteLength);
    this.#rings.length = Math.min(this.#rings.length, this.#keepRings);
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}

/** What the worker sends after `opened`: chunks, then the end. */
type DataMessage = Extract<WorkerToMain, { type: 'ring' | 'end' }>;

class DiskImageSource implements ImageSource {
  /** Most chunks ever waiting here at once (bounded by the read-ahead). */
  maxBuffered = 0;
  /** Settles with the worker's check of the source: resolves before its first chunk, or rejects. */
  readonly opened: Promise<void>;
  #settleOpened: ((error?: SourceError) => void) | undefined;
  #inbox: DataMessage[] = [];
  #waiter: ((m: DataMessage | Error) => void) | undefined;
  #failure: SourceError | undefined;
  #started = false;
  #ended = false;
  #closed = false;

  constructor(
    private readonly port: MessagePort,
    private readonly done: Promise<{ bytes: number }>,
    private readonly dsu: string,
    private readonly path: string,
    private readonly ring: SharedArrayBuffer,
    private readonly slotBytes: number,
    /** Called once the ring is free: the worker is done and the source closed. */
    private readonly releaseRing: () => void,
  ) {
    this.opened = new Promise<void>((resolve, reject) => {
      this.#settleOpened = (error) => (error === undefined ? resolve() : reject(error));
    });
    port.on('message', (m: WorkerToMain) => {
      if (m.type === 'opened' || m.type === 'refused') {
        this.#settleOpened?.(
          m.type === 'refused' ? new SourceError(m.code, dsu, path, m.message) : undefined,
        );
        this.#settleOpened = undefined;
        if (m.type === 'refused') this.#ended = true;
        return;
      }
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter) waiter(m);
      else this.#inbox.push(m);
      const chunks = this.#inbox.filter((x) => x.type !== 'end').length + (waiter ? 1 : 0);
      this.maxBuffered = Math.max(this.maxBuffered, chunks);
    });
    done.catch((cause: unknown) => {
      this.#failure = new SourceError('READ_FAILED', dsu, path, 'disk read worker failed', cause);
      this.#settleOpened?.(this.#failure);
      this.#settleOpened = undefined;
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.(this.#failure);
    });
  }

  async next(): Promise<SourceEvent> {
    if (this.#ended) throw new Error('disk source: next() after end');
    // The chunk returned last time is on its way to the drive: its slot is free.
    if (this.#started) this.#post({ type: 'credit' });
    this.#started = true;
    const m = this.#inbox.shift() ?? (await this.#receive());
    if (m.type === 'ring')
      return { kind: 'blocks', blocks: this.#slotBlocks(m), payloadBytes: m.payloadBytes };
    this.#ended = true;
    return {
      kind: 'end',
      status: m.status,
      trailer: m.trailer,
      bytes: m.bytes,
      blocks: m.blocks,
      sha256: m.sha256,
      error: m.error && new SourceError(m.error.code, this.dsu, this.path, m.error.message),
    };
  }

  /** Views of a chunk in the ring: valid until the next `next()`, which frees its slot. */
  #slotBlocks(m: Extract<WorkerToMain, { type: 'ring' }>): Uint8Array[] {
    let at = m.slot * this.slotBytes;
    return m.lengths.map((length) => {
      const view = new Uint8Array(this.ring, at, length);
      at += length;
      return view;
    });
  }

  #receive(): Promise<DataMessage> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiter = (m) => (m instanceof Error ? reject(m) : resolve(m));
    });
  }

  #post(m: MainToWorker): void {
    if (!this.#closed) this.port.postMessage(m);
  }

  abort(): void {
    this.#post({ type: 'abort' });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (!this.#ended) this.#post({ type: 'abort' });
    this.#closed = true;
    this.port.close();
    await this.done.catch(() => undefined);
    // The worker wrote its last slot and the engine is done with this image's blocks.
    this.releaseRing();
  }
}
