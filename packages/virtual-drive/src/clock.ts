/**
 * Model time for the virtual drive. The drive never reads wall time directly: it asks its `Clock`,
 * so the same drive code runs in real time (optionally scaled) and in a discrete-event simulation.
 */

/** Milliseconds of model time. */
export interface Clock {
  /** Current model time in milliseconds. */
  now(): number;
  /**
   * Resolves after `ms` of model time. An aborted sleep never resolves (its timer is released), so
   * callers use it to race a deadline and abort it once the work finished.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Resolves once model time reaches `time` (at once when it already has). Aborts like `sleep`. */
  until(time: number, signal?: AbortSignal): Promise<void>;
  /**
   * Marks real asynchronous work (file I/O) in progress. A virtual clock does not advance while such
   * work is pending, so I/O takes no model time and never lets a deadline fire early.
   */
  io<T>(work: Promise<T>): Promise<T>;
}

const NEVER = new Promise<void>(() => {});

export interface RealClockOptions {
  /** Model time runs `scale` times faster than wall time (100 = a 1 s model wait takes 10 ms). */
  scale?: number;
  /** Model time at construction; defaults to 0. */
  start?: number;
}

/** Wall time, optionally scaled. */
export class RealClock implements Clock {
  readonly scale: number;
  readonly #origin: number;
  readonly #wallOrigin: number;

  constructor(options: RealClockOptions = {}) {
    const scale = options.scale ?? 1;
    if (!Number.isFinite(scale) || scale <= 0) {
      throw new RangeError(`RealClock option "scale" must be a positive finite number, got ${scale}`);
    }
    this.scale = scale;
    this.#origin = options.start ?? 0;
    this.#wallOrigin = performance.now();
  }

  now(): number {
    return this.#origin + (performance.now() - this.#wallOrigin) * this.scale;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.until(this.now() + ms, signal);
  }

  until(time: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return NEVER;
    if (!(time > this.now())) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => clearTimeout(timer);
      // Timers round to whole milliseconds and may fire early by a fraction: re-arm until model time
      // has really reached the target, so a model wait is never shorter than asked.
      const arm = () => {
        const left = time - this.now();
        if (left <= 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
          return;
        }
        timer = setTimeout(arm, Math.max(1, Math.ceil(left / this.scale)));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
    });
  }

  io<T>(work: Promise<T>): Promise<T> {
    return work;
  }
}

interface Waiter {
  at: number;
  seq: number;
  resolve: () => void;
  cancelled: boolean;
}

export interface VirtualClockOptions {
  /** Model time at construction; defaults to 0. */
  start?: number;
  /**
   * Advance automatically whenever the process has nothing else to do (default true): each time the
   * microtask queue drains and no `io()` work is pending, the earliest waiter is woken. A simulation
   * driven by async code then completes as fast as the CPU allows, deterministically.
   * With `false`, time moves only through `advanceTo`, `step` and `runUntilIdle`.
   */
  autoAdvance?: boolean;
}

/**
 * Discrete-event time. Waiters are woken one at a time in (time, registration) order, and the next
 * one only after everything the previous wake-up set in motion has settled, so the outcome does not
 * depend on scheduling accidents.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #heap: Waiter[] = [];
  #ioPending = 0;
  #scheduled = false;
  readonly #autoAdvance: boolean;

  constructor(options: VirtualClockOptions = {}) {
    this.#now = options.start ?? 0;
    this.#autoAdvance = options.autoAdvance ?? true;
  }

  now(): number {
    return this.#now;
  }

  /** Waiters not yet woken (cancelled ones excluded). */
  get pending(): number {
    return this.#heap.filter((w) => !w.cancelled).length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.until(this.#now + Math.max(0, ms), signal);
  }

  until(time: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return NEVER;
    if (!(time > this.#now)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { at: time, seq: this.#seq++, resolve, cancelled: false };
      this.#push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          waiter.cancelled = true;
        },
        { once: true },
      );
      this.#schedule();
    });
  }

  async io<T>(work: Promise<T>): Promise<T> {
    this.#ioPending++;
    try {
      return await work;
    } finally {
      this.#ioPending--;
      this.#schedule();
    }
  }

  /** Wakes the earliest waiter, moving time to it. Returns false when nobody is waiting. */
  step(): boolean {
    const next = this.#popLive();
    if (!next) return false;
    this.#now = Math.max(this.#now, next.at);
    next.resolve();
    return true;
  }

  /** Wakes every waiter due at or before `time`, letting each settle, then sets the time to `time`. */
  async advanceTo(time: number): Promise<void> {
    for (;;) {
      await settle();
      const head = this.#peekLive();
      if (!head || head.at > time || this.#ioPending > 0) break;
      this.step();
    }
    if (this.#ioPending === 0) this.#now = Math.max(this.#now, time);
  }

  /** Runs until no waiter is left (and no I/O is pending). */
  async runUntilIdle(): Promise<void> {
    for (;;) {
      await settle();
      if (this.#ioPending > 0) continue;
      if (!this.step()) return;
    }
  }

  #schedule(): void {
    if (!this.#autoAdvance || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      // Pending I/O holds time still; io() reschedules when it completes.
      if (this.#ioPending > 0) return;
      if (this.step()) this.#schedule();
    });
  }

  #peekLive(): Waiter | undefined {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    return this.#heap[0];
  }

  #popLive(): Waiter | undefined {
    return this.#peekLive() ? this.#pop() : undefined;
  }

  #push(w: Waiter): void {
    const h = this.#heap;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #pop(): Waiter | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Waiter, b: Waiter): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Lets every queued microtask and already-due macrotask run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
