import type { Slab } from './block-slabs';

/**
 * The drive buffer as a timing model: pure arithmetic on model time, no clock and no I/O.
 *
 * Objects enter the buffer as runs (one block, a synthetic run of equal blocks, or filemarks). Each
 * run is given the interval in which the head writes it: right after the previous run, at the media
 * rate. The buffer level at any time follows from those intervals, which answers when a write fits
 * (backpressure) and when everything is on the medium (a sync), without ticking a simulation.
 */

export interface BufferedRun {
  kind: 'data' | 'filemark';
  /** Bytes per block (0 for filemarks). */
  length: number;
  count: number;
  /** The bytes, for a single real block; absent for synthetic payload. */
  data?: Uint8Array | undefined;
  /** The slab `data` lives in (released once the store holds the block). */
  slab?: Slab | undefined;
  /** Model time the head starts writing this run, and finishes it. */
  drainStart: number;
  drainEnd: number;
  /** A deferred fault strikes this run when the head reaches it. */
  faulted: boolean;
  /** Bytes enqueued since the buffer was created, before this run (a monotonic counter). */
  cumStart: number;
}

/** A piece of buffered data that reached the medium. */
export type DrainedPiece = Pick<BufferedRun, 'kind' | 'length' | 'count' | 'data' | 'slab'>;

export interface TakeResult {
  drained: DrainedPiece[];
  /** The head reached a faulted run: it and everything after it were discarded. */
  faulted: boolean;
}

export class DriveBuffer {
  // Taken runs before `#head` are cleared to undefined until the array is compacted.
  #runs: Array<BufferedRun | undefined> = [];
  #objects = 0;
  #bytes = 0;
  #filemarks = 0;
  /** Bytes ever enqueued; with `cumStart` it turns the level into a binary search. */
  #enqueued = 0;
  /** Index of the first run still in the buffer (runs before it were taken). */
  #head = 0;
  #lastDrainEnd = 0;
  /** The host has been streaming since the tape last stopped cleanly (sync, reposition, load). */
  #streaming = false;
  backhitches = 0;

  constructor(
    /** Bytes per second; Infinity drains instantly. */
    readonly rate: number,
    readonly capacity: number,
    readonly backhitchMs: number,
  ) {}

  /** Objects in the buffer that have not reached the medium (including ones drained but not yet taken). */
  get objects(): number {
    return this.#objects;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Filemarks among the buffered objects. */
  get filemarks(): number {
    return this.#filemarks;
  }

  get empty(): boolean {
    return this.#head === this.#runs.length;
  }

  /** Model time at which everything buffered so far is on the medium. */
  get drainedBy(): number {
    return this.#lastDrainEnd;
  }

  durationMs(bytes: number): number {
    return bytes === 0 ? 0 : (bytes * 1000) / this.rate;
  }

  /**
   * Puts a run in the buffer at `now`. When the buffer ran dry while the host was streaming, the
   * tape had stopped: the head restarts only after a backhitch.
   */
  enqueue(now: number, run: Omit<BufferedRun, 'drainStart' | 'drainEnd' | 'cumStart'>): BufferedRun {
    const bytes = run.length * run.count;
    let start = Math.max(now, this.#lastDrainEnd);
    if (run.kind === 'data' && bytes > 0) {
      if (this.#streaming && this.#lastDrainEnd < now) {
        start = now + this.backhitchMs;
        this.backhitches++;
      }
      this.#streaming = true;
    }
    if (this.empty) {
      // Restart the byte counter whenever the buffer is empty, so it stays small.
      this.#runs = [];
      this.#head = 0;
      this.#enqueued = 0;
    }
    const placed: BufferedRun = {
      ...run,
      drainStart: start,
      drainEnd: start + this.durationMs(bytes),
      cumStart: this.#enqueued,
    };
    this.#runs.push(placed);
    this.#enqueued += bytes;
    this.#objects += run.count;
    this.#bytes += bytes;
    if (run.kind === 'filemark') this.#filemarks += run.count;
    this.#lastDrainEnd = placed.drainEnd;
    return placed;
  }

  /** The tape stopped on purpose (sync, repositioning): the next write starts without a backhitch. */
  stop(): void {
    this.#streaming = false;
  }

  /** Bytes not yet written by the head at time `t` (binary search over the drain intervals). */
  levelAt(t: number): number {
    return this.#enqueued - this.#writtenBy(t);
  }

  /** Earliest time >= now at which the buffer holds at most `capacity` bytes: when the last write fits. */
  acceptTime(now: number): number {
    const target = this.#enqueued - this.capacity;
    if (target <= this.#writtenBy(now)) return now;
    // The first run whose end reaches the target, then interpolate inside it.
    let lo = this.#head;
    let hi = this.#runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const r = this.#runs[mid]!;
      if (r.cumStart + r.length * r.count >= target) hi = mid;
      else lo = mid + 1;
    }
    const r = this.#runs[lo];
    if (!r) return this.#lastDrainEnd;
    const bytes = r.length * r.count;
    const t =
      bytes === 0
        ? r.drainStart
        : r.drainStart + ((target - r.cumStart) / bytes) * (r.drainEnd - r.drainStart);
    return Math.max(now, t);
  }

  /** Bytes (counted like `#enqueued`) the head has written by time `t`. */
  #writtenBy(t: number): number {
    // The first run not finished at t.
    let lo = this.#head;
    let hi = this.#runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#runs[mid]!.drainEnd <= t) lo = mid + 1;
      else hi = mid;
    }
    const r = this.#runs[lo];
    if (!r) return this.#enqueued;
    if (t <= r.drainStart) return r.cumStart;
    return r.cumStart + (r.length * r.count * (t - r.drainStart)) / (r.drainEnd - r.drainStart);
  }

  /**
   * Removes what the head has written by `now` (splitting a partly written synthetic run) and returns
   * it in order. If the head reached a faulted run, that run and everything after it are discarded.
   */
  take(now: number): TakeResult {
    const drained: DrainedPiece[] = [];
    while (this.#head < this.#runs.length) {
      const r = this.#runs[this.#head]!;
      if (r.faulted && r.drainStart <= now) {
        this.dropAll(now);
        return { drained, faulted: true };
      }
      if (r.drainEnd <= now) {
        this.#runs[this.#head++] = undefined;
        this.#objects -= r.count;
        this.#bytes -= r.length * r.count;
        if (r.kind === 'filemark') this.#filemarks -= r.count;
        drained.push({ kind: r.kind, length: r.length, count: r.count, data: r.data, slab: r.slab });
        continue;
      }
      if (r.kind === 'data' && r.count > 1 && now > r.drainStart && !r.faulted) {
        const per = (r.drainEnd - r.drainStart) / r.count;
        const n = Math.min(r.count - 1, Math.floor((now - r.drainStart) / per));
        if (n > 0) {
          drained.push({ kind: 'data', length: r.length, count: n });
          r.count -= n;
          r.drainStart += n * per;
          r.cumStart += n * r.length;
          this.#objects -= n;
          this.#bytes -= n * r.length;
        }
      }
      break;
    }
    this.#compact();
    return { drained, faulted: false };
  }

  /** Releases the slots of taken runs once they are the bulk of the array. */
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#runs.length) {
      this.#runs = this.#runs.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Drops everything buffered (power loss, failed sync, deferred error). Returns what was lost. */
  dropAll(now: number): { objects: number; bytes: number } {
    const lost = { objects: this.#objects, bytes: this.#bytes };
    this.#runs = [];
    this.#head = 0;
    this.#enqueued = 0;
    this.#objects = 0;
    this.#bytes = 0;
    this.#filemarks = 0;
    this.#lastDrainEnd = now;
    this.#streaming = false;
    return lost;
  }
}
