/**
 * `pnpm bench [--quick | --smoke] [--no-write] [--json <file>]`: runs the benchmarks and writes
 * docs/benchmarks.md with the plots under docs/img/. Benchmarks measure; they are not pass/fail tests.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { limitRatioPlot, sweepPlot, timelinePlot } from '@tapedup/simulator';
import { catalogBench, iscsiBench, type Outcome } from './external';
import { type BenchMode, runPolicyBench, runTimeline } from './policy';
import { type BenchReport, renderMarkdown, targetLines } from './report';

const ROOT = join(import.meta.dirname, '..', '..');

function parseArgs(argv: readonly string[]): { mode: BenchMode; write: boolean; json: string | undefined } {
  let mode: BenchMode = 'full';
  let write = true;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') mode = 'quick';
    else if (a === '--smoke') mode = 'smoke';
    else if (a === '--no-write') write = false;
    else if (a === '--json') {
      json = argv[++i];
      if (json === undefined) throw new Error('--json: needs a file name');
    } else if (a !== '--')
      throw new Error(`${a}: unknown option (use --quick, --smoke, --no-write, --json <file>)`);
  }
  return { mode, write, json };
}

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function main(): Promise<void> {
  const { mode, write, json } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const comparisons = await runPolicyBench(mode, log);
  const notRun: { name: string; reason: string }[] = [];
  let catalog: BenchReport['catalog'] = { ran: false, reason: `skipped in ${mode} mode` };
  let iscsi: BenchReport['iscsi'] = { ran: false, reason: `skipped in ${mode} mode` };
  if (mode !== 'smoke') {
    log('catalog');
    catalog = await catalogBench(mode === 'full' ? 1_000_000 : 200_000);
    log('iscsi');
    iscsi = await iscsiBench();
  }
  notRun.push(
    {
      name: 'data path (tape-writer process vs dd, one and two drives)',
      reason: 'no harness yet that drives a tape-writer process over its DEALER socket with disk sources',
    },
    { name: 'next-image pickup latency p50/p99', reason: 'needs the same process harness' },
    { name: 'writer peak RSS on a 20 GB image', reason: 'needs the same process harness' },
    {
      name: 'duplicator RSS with 100,000 images queued',
      reason: 'no duplicator process entry to measure yet',
    },
  );
  const report: BenchReport = {
    mode,
    command: `pnpm bench${mode === 'full' ? '' : ` --${mode}`}`,
    startedAt,
    wallSeconds: 0,
    comparisons,
    catalog,
    iscsi,
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
