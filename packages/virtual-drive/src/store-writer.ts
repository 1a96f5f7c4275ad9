import type { Clock } from './clock';
import type { DrainedPiece } from './drive-buffer';
import type { AppendObject, MediumStore } from './medium';
import { canAppendRuns } from './medium-extensions';

/** Objects handed to `MediumStore.append` per call when a run must be expanded. */
const APPEND_CHUNK = 4096;

/** What a failed append lost: the objects that never reached the store. */
export interface StoreWriteFailure {
  error: unknown;
  objects: number;
  bytes: number;
}

/**
 * Hands what the head wrote to the medium store in the background, the way a drive's formatter
 * writes while the host keeps sending: a WRITE command does not wait for the store, so the host's
 * next block and the store's file write overlap, and pieces that pile up meanwhile go to the store
 * in one append (one vectored write) instead of one per block.
 *
 * Bounded: at most one append is in flight, and {@link overLimit} tells the drive when the pieces
 * not yet in the store exceed `limitBytes`, so that it waits ({@link settle}) before taking more.
 * After a failed append everything queued behind it is dropped too (writing it would leave a gap
 * in the medium); `onFailure` reports what was lost.
 */
export class StoreWriter {
  #queue: DrainedPiece[] = [];
  #running: Promise<void> | undefined;
  #objects = 0;
  #bytes = 0;
  #filemarks = 0;

  constructor(
    readonly store: MediumStore,
    private readonly clock: Clock,
    private readonly limitBytes: number,
    private readonly onFailure: (failure: StoreWriteFailure) => void,
    /** A piece is in the store: the bytes it carried are no longer referred to. */
    private readonly onStored: (piece: DrainedPiece) => void = () => {},
  ) {}

  /** Objects handed over and not yet in the store (queued or being appended). */
  get objects(): number {
    return this.#objects;
  }

  /** User-data bytes handed over and not yet in the store. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Filemarks handed over and not yet in the store. */
  get filemarks(): number {
    return this.#filemarks;
  }

  get idle(): boolean {
    return this.#running === undefined;
  }

  /** The host should wait for the store before handing over more. */
  get overLimit(): boolean {
    return this.#bytes > this.limitBytes;
  }

  /** Queues pieces (in medium order) for the store and starts writing them. */
  push(pieces: readonly DrainedPiece[]): void {
    if (pieces.length === 0) return;
    for (const p of pieces) this.#count(p, 1);
    this.#queue.push(...pieces);
    this.#running ??= this.#drain();
  }

  /** Resolves when everything handed over is in the store or was reported lost. */
  async settle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const pieces = this.#queue;
        this.#queue = [];
        try {
          await this.clock.io(this.#append(pieces));
        } catch (error) {
          const lost = { objects: this.#objects, bytes: this.#bytes };
          this.#queue = [];
          this.#objects = 0;
          this.#bytes = 0;
          this.#filemarks = 0;
          this.onFailure({ error, ...lost });
          return;
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  /** Appends `pieces`, counting each batch out as soon as the store holds it. */
  async #append(pieces: readonly DrainedPiece[]): Promise<void> {
    const store = this.store;
    let batch: AppendObject[] = [];
    let batchPieces: { piece: DrainedPiece; count: number }[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const b = batch;
      const done = batchPieces;
      batch = [];
      batchPieces = [];
      await store.append(b);
      for (const { piece, count } of done) {
        this.#count({ ...piece, count }, -1);
        if (count === piece.count) this.onStored(piece);
      }
    };
    for (const p of pieces) {
      if (p.count > 1 && canAppendRuns(store)) {
        await flush();
        await store.appendRun(p.kind, p.length, p.count);
        this.#count(p, -1);
        continue;
      }
      for (let i = 0; i < p.count; i++) {
        batch.push(
          p.kind === 'filemark' ? { kind: 'filemark' } : { kind: 'data', length: p.length, data: p.data },
        );
        const last = batchPieces.at(-1);
        if (last?.piece === p) last.count += 1;
        else batchPieces.push({ piece: p, count: 1 });
        if (batch.length >= APPEND_CHUNK) await flush();
      }
    }
    await flush();
  }

  #count(p: DrainedPiece, sign: 1 | -1): void {
    this.#objects += sign * p.count;
    if (p.kind === 'filemark') this.#filemarks += sign * p.count;
    else this.#bytes += sign * p.length * p.count;
  }
}
