/**
 * The writer's counters: what the heartbeat reports (protocol `WriterStats`) plus what the
 * benchmarks and the simulator read (synchronous filemarks, pickup latency, failures).
 */
import type { WriterStats } from '@tapedup/protocol';
import type { FragmentEndReason } from '@tapedup/tape-format';

/** Time window of the write-rate estimate. */
const RATE_WINDOW_MS = 10_000;
/** Bound on rate samples kept, whatever the write pattern. */
const MAX_SAMPLES = 256;
/** Pickup latencies kept for the percentiles (the most recent ones). */
const MAX_LATENCIES = 4096;

/** The value at quantile `q` (0..1) of sorted samples, nearest rank. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export interface LatencySummary {
  count: number;
  lastMs: number | undefined;
  maxMs: number;
  meanMs: number;
  /** Percentiles over the most recent samples (at most 4096), nearest rank; 0 without samples. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

/** Empty-header bookkeeping (the patent's EH optimisation). */
export interface EmptyHeaderCounts {
  /** EHs written because the writer went idle after the last MPX image ended. */
  written: number;
  /** EHs later overwritten by the next fragment header. */
  overwritten: number;
  /** EHs not written because a next image was already pending. */
  avoided: number;
}

export interface WriterCountersSnapshot {
  bytesWritten: number;
  imagesWritten: number;
  copiesFailed: number;
  fragments: number;
  immediateFilemarks: number;
  synchronousFilemarks: number;
  syncs: number;
  syncFailures: number;
  lastSyncMs: number | undefined;
  /** Time from an assign's arrival to the first block of each of its copies. */
  pickup: LatencySummary;
  emptyHeaders: EmptyHeaderCounts;
  /** Fragments ended, by the reason recorded on tape. */
  fragmentEnds: Partial<Record<FragmentEndReason, number>>;
  /** Images that joined a running fragment with an image start record. */
  joins: number;
}

export class WriterCounters {
  bytesWritten = 0;
  imagesWritten = 0;
  copiesFailed = 0;
  fragments = 0;
  immediateFilemarks = 0;
  synchronousFilemarks = 0;
  syncs = 0;
  syncFailures = 0;
  lastSyncMs: number | undefined;
  joins = 0;
  readonly emptyHeaders: EmptyHeaderCounts = { written: 0, overwritten: 0, avoided: 0 };
  readonly fragmentEnds: Partial<Record<FragmentEndReason, number>> = {};
  #latencies: number[] = [];
  #pickupCount = 0;
  #pickupTotal = 0;
  #pickupMax = 0;
  #pickupLast: number | undefined;
  #samples: { at: number; bytes: number }[] = [];

  /** Payload bytes that reached the drive at model/wall time `at`. */
  addBytes(bytes: number, at: number): void {
    this.bytesWritten += bytes;
    this.#samples.push({ at, bytes: this.bytesWritten });
    while (
      this.#samples.length > MAX_SAMPLES ||
      (this.#samples.length > 2 && at - this.#samples[1]!.at > RATE_WINDOW_MS)
    ) {
      this.#samples.shift();
    }
  }

  pickup(ms: number): void {
    this.#pickupCount++;
    this.#pickupTotal += ms;
    this.#pickupMax = Math.max(this.#pickupMax, ms);
    this.#pickupLast = ms;
    this.#latencies.push(ms);
    if (this.#latencies.length > MAX_LATENCIES) this.#latencies.shift();
  }

  fragmentEnded(reason: FragmentEndReason): void {
    this.fragments++;
    this.fragmentEnds[reason] = (this.fragmentEnds[reason] ?? 0) + 1;
  }

  /** Bytes per second over the recent window, 0 when idle for longer than the window. */
  rate(now: number): number {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (first === undefined || last === undefined || now - last.at > RATE_WINDOW_MS) return 0;
    const span = now - first.at;
    return span > 0 ? ((last.bytes - first.bytes) * 1000) / span : 0;
  }

  snapshot(): WriterCountersSnapshot {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    return {
      bytesWritten: this.bytesWritten,
      imagesWritten: this.imagesWritten,
      copiesFailed: this.copiesFailed,
      fragments: this.fragments,
      immediateFilemarks: this.immediateFilemarks,
      synchronousFilemarks: this.synchronousFilemarks,
      syncs: this.syncs,
      syncFailures: this.syncFailures,
      lastSyncMs: this.lastSyncMs,
      pickup: {
        count: this.#pickupCount,
        lastMs: this.#pickupLast,
        maxMs: this.#pickupMax,
        meanMs: this.#pickupCount === 0 ? 0 : this.#pickupTotal / this.#pickupCount,
        p50Ms: quantile(sorted, 0.5),
        p90Ms: quantile(sorted, 0.9),
        p99Ms: quantile(sorted, 0.99),
      },
      emptyHeaders: { ...this.emptyHeaders },
      fragmentEnds: { ...this.fragmentEnds },
      joins: this.joins,
    };
  }

  /** The protocol `WriterStats` of a heartbeat. */
  writerStats(now: number, pending: { copies: number; bytes: number }): WriterStats {
    const stats: WriterStats = {
      bytesWritten: this.bytesWritten,
      imagesWritten: this.imagesWritten,
      immediateFilemarks: this.immediateFilemarks,
      syncs: this.syncs,
      syncFailures: this.syncFailures,
      pendingCopies: pending.copies,
      pendingBytes: pending.bytes,
      rateBytesPerSec: this.rate(now),
    };
    if (this.lastSyncMs !== undefined) stats.lastSyncMs = this.lastSyncMs;
    return stats;
  }
}
