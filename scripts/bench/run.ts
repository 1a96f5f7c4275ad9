/**
 * `pnpm bench [--quick | --smoke] [--realtime full|quick|smoke|off] [--no-write] [--json <file>]
 *  [--save-policy <file> | --policy-from <file>]`:
 * runs the benchmarks and writes docs/benchmarks.md with the plots under docs/img/. `--realtime`
 * sizes the real-time benchmarks (data path, pickup, memory) apart from the policy part (default:
 * the same mode). Benchmarks measure; they are not pass/fail tests.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Comparison, limitRatioPlot, sweepPlot, timelinePlot } from '@tapedup/simulator';
import { catalogBench, iscsiBench, type Outcome } from './external';
import { type BenchMode, runPolicyBench, runTimeline } from './policy';
import { runRealtime } from './realtime';
import { type BenchReport, renderMarkdown, targetLines } from './report';

const ROOT = join(import.meta.dirname, '..', '..');

interface Args {
  mode: BenchMode;
  realtime: BenchMode | 'off' | undefined;
  /** Writes the policy part's comparisons here (to reuse them with --policy-from). */
  savePolicy: string | undefined;
  /** Takes the policy part from a file --save-policy wrote instead of simulating it again. */
  policyFrom: string | undefined;
  write: boolean;
  json: string | undefined;
}

const REALTIME_MODES = ['full', 'quick', 'smoke', 'off'] as const;

function parseArgs(argv: readonly string[]): Args {
  let mode: BenchMode = 'full';
  let realtime: Args['realtime'];
  let savePolicy: string | undefined;
  let policyFrom: string | undefined;
  let write = true;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') mode = 'quick';
    else if (a === '--smoke') mode = 'smoke';
    else if (a === '--no-write') write = false;
    else if (a === '--realtime') {
      const v = argv[++i];
      if (!(REALTIME_MODES as readonly (string | undefined)[]).includes(v)) {
        throw new Error(`--realtime: expected one of ${REALTIME_MODES.join(', ')}, got ${String(v)}`);
      }
      realtime = v as Args['realtime'];
    } else if (a === '--save-policy' || a === '--policy-from') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a}: needs a file name`);
      if (a === '--save-policy') savePolicy = v;
      else policyFrom = v;
    } else if (a === '--json') {
      json = argv[++i];
      if (json === undefined) throw new Error('--json: needs a file name');
    } else if (a !== '--')
      throw new Error(
        `${a}: unknown option (use --quick, --smoke, --realtime full|quick|smoke|off, --no-write, --json <file>, --save-policy <file>, --policy-from <file>)`,
      );
  }
  if (savePolicy !== undefined && policyFrom !== undefined) {
    throw new Error('--save-policy and --policy-from: give one of them');
  }
  return { mode, realtime, write, json, savePolicy, policyFrom };
}

/** What --save-policy writes: the policy part of a run, model time only, so it keeps across runs. */
interface SavedPolicyRun {
  mode: BenchMode;
  startedAt: string;
  wallSeconds: number;
  comparisons: Comparison[];
}

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function main(): Promise<void> {
  const {
    mode,
    realtime: realtimeArg,
    write,
    json,
    savePolicy,
    policyFrom,
  } = parseArgs(process.argv.slice(2));
  const realtimeMode = realtimeArg ?? mode;
  const started = performance.now();
  const startedAt = new Date().toISOString();
  let comparisons: Comparison[];
  let policyRun: BenchReport['policyRun'];
  if (policyFrom !== undefined) {
    const saved = JSON.parse(await readFile(policyFrom, 'utf8')) as SavedPolicyRun;
    if (saved.mode !== mode) {
      throw new Error(`--policy-from: ${policyFrom} holds a ${saved.mode} run, this is a ${mode} run`);
    }
    comparisons = saved.comparisons;
    policyRun = { startedAt: saved.startedAt, wallSeconds: saved.wallSeconds };
    log(`policy part taken from ${policyFrom} (run of ${saved.startedAt})`);
  } else {
    comparisons = await runPolicyBench(mode, log);
    if (savePolicy !== undefined) {
      const saved: SavedPolicyRun = {
        mode,
        startedAt,
        wallSeconds: (performance.now() - started) / 1000,
        comparisons,
      };
      await writeFile(savePolicy, JSON.stringify(saved));
      log(`policy part saved to ${savePolicy}`);
    }
  }
  const notRun: { name: string; reason: string }[] = [];
  let catalog: BenchReport['catalog'] = { ran: false, reason: `skipped in ${mode} mode` };
  let iscsi: BenchReport['iscsi'] = { ran: false, reason: `skipped in ${mode} mode` };
  if (mode !== 'smoke') {
    log('catalog');
    catalog = await catalogBench(mode === 'full' ? 1_000_000 : 200_000);
    log('iscsi');
    iscsi = await iscsiBench();
  }
  let realtime: BenchReport['realtime'] = { ran: false, reason: 'skipped (--realtime off)' };
  if (realtimeMode !== 'off') {
    log(`real-time benchmarks (${realtimeMode} sizes)`);
    try {
      realtime = { ran: true, value: await runRealtime(realtimeMode, log) };
    } catch (error) {
      realtime = { ran: false, reason: `failed: ${(error as Error).message.split('\n')[0]}` };
      log(`real-time benchmarks failed: ${(error as Error).stack ?? String(error)}`);
    }
  }
  const report: BenchReport = {
    mode,
    command: `pnpm bench${mode === 'full' ? '' : ` --${mode}`}${realtimeArg === undefined ? '' : ` --realtime ${realtimeArg}`}${policyFrom === undefined ? '' : ' --policy-from <file>'}`,
    ...(policyRun === undefined ? {} : { policyRun }),
    startedAt,
    wallSeconds: 0,
    comparisons,
    catalog,
    iscsi,
    realtime,
    notRun,
  };
  const done: BenchReport = { ...report, wallSeconds: (performance.now() - started) / 1000 };
  process.stdout.write(`${targetLines(done).join('\n')}\n`);
  if (json !== undefined) {
    await writeFile(
      json,
      JSON.stringify(
        {
          mode,
          summaries: comparisons.flatMap((c) => c.summaries),
          sweeps: comparisons.map((c) => ({ workload: c.workload.name, sweep: c.sweep })),
          catalog,
          iscsi,
          realtime,
          notRun,
        },
        null,
        2,
      ),
    );
  }
  if (!write) return;
  const img = join(ROOT, 'docs', 'img');
  await mkdir(img, { recursive: true });
  const timeline = await runTimeline();
  await writeFile(join(img, 'bench-limit-ratio.svg'), await limitRatioPlot(comparisons));
  await writeFile(join(img, 'bench-oracle-sweep.svg'), await sweepPlot(comparisons));
  await writeFile(join(img, 'bench-timeline.svg'), await timelinePlot(timeline.points, timeline.syncs));
  await writeFile(join(ROOT, 'docs', 'benchmarks.md'), renderMarkdown(done));
  log(`wrote docs/benchmarks.md and docs/img/bench-*.svg in ${(done.wallSeconds / 60).toFixed(1)} min`);
}

void (main() as Promise<void>).catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});

export type { Outcome };
