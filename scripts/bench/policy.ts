/**
 * The policy benchmarks: every compared policy on W1–W5 in the discrete-event simulator (the real
 * planner, sync policy and tape-writer engine on virtual drives), plus the short timeline run.
 *
 * Each workload runs cold (every drive starts with no history) and, for `adaptive`, again with the
 * preset's drive history restored at start-up (the only policy that reads the error-rate estimate;
 * the others and the oracle give the same figures either way). W4 runs once more with the writer
 * packing small images into shared fragments (`packImages`), the same writer setting for every
 * policy and the oracle.
 */
import {
  type Comparison,
  comparePolicies,
  type EngineWriterOptions,
  namedPolicy,
  PRESETS,
  type PresetName,
  scaleWorkload,
  simulate,
  type TimelinePoint,
  type TimelineSync,
  type Workload,
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

/** The writer setting of the packed W4 line. */
export const PACKED_WRITER: EngineWriterOptions = { packImages: true };

/** The name of W4 with the packing writer in tables and plots. */
export const PACKED_W4 = 'W4+pack';

/** W4 under its own name, for the run with the packing writer. */
export function packedW4(workload: Workload): Workload {
  return {
    ...workload,
    name: PACKED_W4,
    description: `${workload.description}; the writer packs images (packImages: true, minFragmentMs 4000)`,
  };
}

export async function runPolicyBench(
  mode: BenchMode,
  progress: (line: string) => void = () => {},
): Promise<Comparison[]> {
  const m = MODES[mode];
  const out: Comparison[] = [];
  const run = async (
    workload: Workload,
    extra: { writerOptions?: EngineWriterOptions } = {},
  ): Promise<Comparison> => {
    const started = performance.now();
    const seeds = m.seeds ?? workload.seeds;
    const comparison = await comparePolicies({ workload, seeds, oracleStep: m.oracleStep, ...extra });
    const history = await comparePolicies({
      workload,
      seeds,
      policies: ['adaptive'],
      history: 'workload',
      ...extra,
    });
    progress(
      `${workload.name}: ${comparison.runs.length + history.runs.length} runs kept, ${comparison.sweep.length} oracle sizes, ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return {
      ...comparison,
      summaries: [...comparison.summaries, ...history.summaries],
      runs: [...comparison.runs, ...history.runs],
    };
  };
  for (const name of WORKLOADS) out.push(await run(scaleWorkload(PRESETS[name], m.fraction)));
  out.push(await run(packedW4(scaleWorkload(PRESETS.W4, m.fraction)), { writerOptions: PACKED_WRITER }));
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
