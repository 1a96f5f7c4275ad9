/**
 * The policy benchmarks: every compared policy on W1–W5 in the discrete-event simulator (the real
 * planner, sync policy and tape-writer engine on virtual drives), plus the short timeline run.
 */
import {
  type Comparison,
  comparePolicies,
  namedPolicy,
  PRESETS,
  type PresetName,
  scaleWorkload,
  simulate,
  type TimelinePoint,
  type TimelineSync,
} from '@tapedup/simulator';

export type BenchMode = 'full' | 'quick' | 'smoke';

/** How each mode scales the workloads: image fraction, seeds (W3's own 20 in full), oracle step. */
export const MODES: Readonly<
  Record<BenchMode, { fraction: number; seeds: number | undefined; oracleStep: number }>
> = {
  full: { fraction: 1, seeds: undefined, oracleStep: 2 },
  quick: { fraction: 1 / 20, seeds: 3, oracleStep: 2 },
  smoke: { fraction: 1 / 200, seeds: 2, oracleStep: 4 },
};

export const WORKLOADS: readonly PresetName[] = ['W1', 'W2', 'W3', 'W4', 'W5'];

export async function runPolicyBench(
  mode: BenchMode,
  progress: (line: string) => void = () => {},
): Promise<Comparison[]> {
  const m = MODES[mode];
  const out: Comparison[] = [];
  for (const name of WORKLOADS) {
    const workload = scaleWorkload(PRESETS[name], m.fraction);
    const started = performance.now();
    const comparison = await comparePolicies({
      workload,
      seeds: m.seeds ?? workload.seeds,
      oracleStep: m.oracleStep,
    });
    progress(
      `${name}: ${comparison.runs.length} runs kept, ${comparison.sweep.length} oracle sizes, ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    out.push(comparison);
  }
  return out;
}

/** Drive-buffer fill and batch ends for sync-every and adaptive on a short W1 run (first images). */
export async function runTimeline(images = 120): Promise<{ points: TimelinePoint[]; syncs: TimelineSync[] }> {
  const points: TimelinePoint[] = [];
  const syncs: TimelineSync[] = [];
  for (const policy of ['sync-every', 'adaptive'] as const) {
    let started: number | undefined;
    await simulate({
      workload: { ...PRESETS.W1, name: 'timeline', images },
      policy: namedPolicy(policy),
      seed: 1,
      onBufferSample: (_drive, s) => {
        started ??= s.time;
        points.push({ policy, seconds: (s.time - started) / 1000, bufferMB: s.bytes / 1e6 });
      },
      onBatchEnd: (_drive, e) => {
        syncs.push({ policy, seconds: (e.time - (started ?? e.time)) / 1000, outcome: e.outcome });
      },
    });
  }
  return { points, syncs };
}
