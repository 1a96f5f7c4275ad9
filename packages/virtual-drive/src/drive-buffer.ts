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
  /** Model time the head starts writing this run, and finishes it. */
  drainStart: number;
  drainEnd: number;
  /** A deferred fault strikes this run when the head reaches it. */
  faulted: boolean;
}

/** A piece of buffered data that reached the medium. */
export type DrainedPiece = Pick<BufferedRun, 'kind' | 'length' | 'count' | 'data'>;

export interface TakeResult {
  drained: DrainedPiece[];
  /** The head reached a faulted run: it and everything after it were discarded. */
  faulted: boolean;
}

export class DriveBuffer {
  #runs: BufferedRun[] = [];
  #objects = 0;
  #bytes = 0;
  #filemarks = 0;
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
    return this.#runs.length === 0;
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
  enqueue(now: number, run: Omit<BufferedRun, 'drainStart' | 'drainEnd'>): BufferedRun {
    const bytes = run.length * run.count;
    let start = Math.max(now, this.#lastDrainEnd);
    if (run.kind === 'data' && bytes > 0) {
      if (this.#streaming && this.#lastDrainEnd < now) {
        start = now + this.backhitchMs;
        this.backhitches++;
      }
      this.#streaming = true;
    }
    const placed: BufferedRun = { ...run, drainStart: start, drainEnd: start + this.durationMs(bytes) };
    this.#runs.push(placed);
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

  /** Bytes not yet written by the head at time `t`. */
  levelAt(t: number): number {
    let level = 0;
    for (const r of this.#runs) level += remaining(r, t);
    return level;
  }

  /** Earliest time >= now at which the buffer holds at most `capacity` bytes: when the last write fits. */
  acceptTime(now: number): number {
    let excess = this.levelAt(now) - this.capacity;
    if (excess <= 0) return now;
    for (const r of this.#runs) {
      const rem = remaining(r, now);
      if (rem === 0) continue;
      const from = Math.max(now, r.drainStart);
      if (excess <= rem) return from + (r.drainEnd - from) * (excess / rem);
      excess -= rem;
    }
    return this.#lastDrainEnd;
  }

  /**
   * Removes what the head has written by `now` (splitting a partly written synthetic run) and returns
   * it in order. If the head reached a faulted run, that run and everything after it are discarded.
   */
  take(now: number): TakeResult {
    const drained: DrainedPiece[] = [];
    while (this.#runs.length > 0) {
      const r = this.#runs[0]!;
      if (r.faulted && r.drainStart <= now) {
        this.dropAll(now);
        return { drained, faulted: true };
      }
      if (r.drainEnd <= now) {
        this.#runs.shift();
        this.#objects -= r.count;
        this.#bytes -= r.length * r.count;
        if (r.kind === 'filemark') this.#filemarks -= r.count;
        drained.push({ kind: r.kind, length: r.length, count: r.count, data: r.data });
        continue;
      }
      if (r.kind === 'data' && r.count > 1 && now > r.drainStart && !r.faulted) {
        const per = (r.drainEnd - r.drainStart) / r.count;
        const n = Math.min(r.count - 1, Math.floor((now - r.drainStart) / per));
        if (n > 0) {
          drained.push({ kind: 'data', length: r.length, count: n });
          r.count -= n;
          r.drainStart += n * per;
          this.#objects -= n;
          this.#bytes -= n * r.length;
        }
      }
      break;
    }
    return { drained, faulted: false };
  }

  /** Drops everything buffered (power loss, failed sync, deferred error). Returns what was lost. */
  dropAll(now: number): { objects: number; bytes: number } {
    const lost = { objects: this.#objects, bytes: this.#bytes };
    this.#runs = [];
    this.#objects = 0;
    this.#bytes = 0;
    this.#filemarks = 0;
    this.#lastDrainEnd = now;
    this.#streaming = false;
    return lost;
  }
}

function remaining(r: BufferedRun, t: number): number {
  const bytes = r.length * r.count;
  if (t >= r.drainEnd) return 0;
  if (t <= r.drainStart) return bytes;
  return (bytes * (r.drainEnd - t)) / (r.drainEnd - r.drainStart);
}
