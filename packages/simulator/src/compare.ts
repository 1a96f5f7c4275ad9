/**
 * Policy comparison: every policy over several seeds of one workload, plus the oracle line (the
 * fixed batch size in bytes with the lowest mean elapsed time, found by sweeping), aggregated per
 * policy. This is what `tapedup simulate --policy all` and the policy benchmarks run.
 */
import { invalidOption } from './errors';
import { COMPARED_POLICIES, fixedBytesPolicy, namedPolicy, oracleSweep, type PolicyLabel } from './policies';
import { type HistoryMode, type SimulationOptions, type SimulationResult, simulate } from './simulation';
import type { Workload } from './workload';
import type { WriterFactory } from './writer-seam';

export interface CompareOptions {
  readonly workload: Workload;
  readonly policies?: readonly PolicyLabel[] | undefined;
  /** Seeds 1..seeds (default: the workload's). */
  readonly seeds?: number | undefined;
  /** Default: the tape-writer engine. */
  readonly writer?: WriterFactory | undefined;
  readonly profile?: SimulationOptions['profile'];
  readonly faultRatePerByte?: number | undefined;
  /** `cold` (default) or `workload`: the drives' history before each run (see `SimulationOptions`). */
  readonly history?: HistoryMode | undefined;
  /** Options of the tape-writer engine, the same for every policy (see `SimulationOptions`). */
  readonly writerOptions?: SimulationOptions['writerOptions'];
  /** Factor between the oracle's swept batch sizes (default 2). */
  readonly oracleStep?: number | undefined;
  /** Called after each run (progress). */
  readonly onRun?: ((result: SimulationResult) => void) | undefined;
}

/** Means over the seeds of one policy on one workload. */
export interface PolicySummary {
  readonly workload: string;
  readonly policy: PolicyLabel;
  readonly batchBytes?: number | undefined;
  readonly seeds: number;
  readonly writer: string;
  readonly history: HistoryMode;
  /** Mean errors in the restored drive histories (0 when cold). */
  readonly historyErrors: number;
  readonly elapsedSeconds: number;
  readonly limitSeconds: number;
  readonly limitRatio: number;
  /** Worst seed's elapsed ÷ limit. */
  readonly maxLimitRatio: number;
  readonly bytes: number;
  readonly images: number;
  readonly immediateFilemarks: number;
  readonly synchronousFilemarks: number;
  readonly syncs: number;
  readonly backhitches: number;
  readonly failedBatches: number;
  readonly bytesRewritten: number;
  /** Percentiles of the per-seed percentiles' mean. */
  readonly commitLatencySeconds: { readonly p50: number; readonly p95: number; readonly p99: number };
}

export interface Comparison {
  readonly workload: Workload;
  readonly summaries: PolicySummary[];
  readonly runs: SimulationResult[];
  /** Oracle sweep: mean elapsed per batch size. */
  readonly sweep: { readonly batchBytes: number; readonly elapsedSeconds: number }[];
}

export async function comparePolicies(options: CompareOptions): Promise<Comparison> {
  const seeds = options.seeds ?? options.workload.seeds;
  if (!Number.isSafeInteger(seeds) || seeds < 1)
    throw invalidOption('--seeds', 'must be a positive integer', seeds);
  const policies = options.policies ?? COMPARED_POLICIES;
  const runs: SimulationResult[] = [];
  const summaries: PolicySummary[] = [];
  const sweep: { batchBytes: number; elapsedSeconds: number }[] = [];
  const runSeeds = async (variant: SimulationOptions['policy']): Promise<SimulationResult[]> => {
    const out: SimulationResult[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const r = await simulate({
        workload: options.workload,
        policy: variant,
        seed,
        writer: options.writer,
        profile: options.profile,
        faultRatePerByte: options.faultRatePerByte,
        history: options.history,
        writerOptions: options.writerOptions,
      });
      options.onRun?.(r);
      out.push(r);
    }
    return out;
  };
  for (const label of policies) {
    if (label !== 'oracle') {
      const results = await runSeeds(namedPolicy(label));
      runs.push(...results);
      summaries.push(summarise(label, results));
      continue;
    }
    let best: SimulationResult[] | undefined;
    for (const bytes of oracleSweep(options.oracleStep)) {
      const results = await runSeeds(fixedBytesPolicy(bytes));
      const elapsed = mean(results.map((r) => r.elapsedSeconds));
      sweep.push({ batchBytes: bytes, elapsedSeconds: elapsed });
      if (best === undefined || elapsed < mean(best.map((r) => r.elapsedSeconds))) best = results;
    }
    if (best !== undefined) {
      runs.push(...best);
      summaries.push(summarise('oracle', best));
    }
  }
  return { workload: options.workload, summaries, runs, sweep };
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, x) => a + x, 0) / xs.length;
}

export function summarise(policy: PolicyLabel, results: readonly SimulationResult[]): PolicySummary {
  const first = results[0];
  if (first === undefined) throw invalidOption('--seeds', 'no run to summarise');
  const m = (f: (r: SimulationResult) => number) => mean(results.map(f));
  return {
    workload: first.workload,
    policy,
    batchBytes: first.batchBytes,
    seeds: results.length,
    writer: first.writer,
    history: first.history,
    historyErrors: m((r) => r.historyErrors),
    elapsedSeconds: m((r) => r.elapsedSeconds),
    limitSeconds: m((r) => r.limitSeconds),
    limitRatio: m((r) => r.limitRatio),
    maxLimitRatio: Math.max(...results.map((r) => r.limitRatio)),
    bytes: m((r) => r.bytes),
    images: m((r) => r.images),
    immediateFilemarks: m((r) => r.immediateFilemarks),
    synchronousFilemarks: m((r) => r.synchronousFilemarks),
    syncs: m((r) => r.syncs),
    backhitches: m((r) => r.backhitches),
    failedBatches: m((r) => r.failedBatches),
    bytesRewritten: m((r) => r.bytesRewritten),
    commitLatencySeconds: {
      p50: m((r) => r.commitLatencySeconds.p50),
      p95: m((r) => r.commitLatencySeconds.p95),
      p99: m((r) => r.commitLatencySeconds.p99),
    },
  };
}
