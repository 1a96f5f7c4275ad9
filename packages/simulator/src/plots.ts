/**
 * Plots of the benchmark report, rendered to SVG by Vega-Lite and Vega in Node (no browser).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Comparison } from './compare';

export interface TimelinePoint {
  readonly policy: string;
  readonly seconds: number;
  readonly bufferMB: number;
}

export interface TimelineSync {
  readonly policy: string;
  readonly seconds: number;
  readonly outcome: 'synced' | 'failed';
}

async function render(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Grouped bars: mean elapsed ÷ physical limit per policy per workload (log scale). */
export function limitRatioPlot(comparisons: readonly Comparison[]): Promise<string> {
  const values = comparisons.flatMap((c) =>
    c.summaries.map((s) => ({
      workload: s.workload,
      policy: s.history === 'workload' ? `${s.policy}+history` : s.policy,
      ratio: s.limitRatio,
    })),
  );
  const order = ['sync-every', 'fixed', 'cta', 'adaptive', 'adaptive+history', 'oracle'];
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Elapsed ÷ physical limit (mean over seeds; 1 = the drive never waits)',
    data: { values },
    width: 110,
    height: 260,
    mark: 'bar',
    encoding: {
      column: { field: 'workload', type: 'nominal', title: null },
      x: {
        field: 'policy',
        type: 'nominal',
        title: null,
        sort: order,
      },
      y: { field: 'ratio', type: 'quantitative', scale: { type: 'log' }, title: 'elapsed ÷ limit' },
      color: { field: 'policy', type: 'nominal', sort: order },
      tooltip: [{ field: 'ratio', type: 'quantitative', format: '.4f' }],
    },
  } as TopLevelSpec);
}

/** Buffer level over model time, with a rule at each batch end, one panel per policy. */
export function timelinePlot(
  points: readonly TimelinePoint[],
  syncs: readonly TimelineSync[],
): Promise<string> {
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Drive buffer and syncs, first 120 images of W1 (LTO-9)',
    vconcat: (['sync-every', 'adaptive'] as const).map((policy) => ({
      title: policy,
      width: 720,
      height: 150,
      layer: [
        {
          data: { values: points.filter((p) => p.policy === policy) },
          mark: { type: 'area', interpolate: 'step-after', opacity: 0.6 },
          encoding: {
            x: { field: 'seconds', type: 'quantitative', title: 'model seconds' },
            y: { field: 'bufferMB', type: 'quantitative', title: 'buffer MB' },
          },
        },
        {
          data: { values: syncs.filter((s) => s.policy === policy) },
          mark: { type: 'rule', color: '#d62728', strokeWidth: 1 },
          encoding: { x: { field: 'seconds', type: 'quantitative' } },
        },
      ],
    })),
  } as TopLevelSpec);
}

/** The oracle's sweep: mean elapsed per fixed batch size, per workload. */
export function sweepPlot(comparisons: readonly Comparison[]): Promise<string> {
  const values = comparisons.flatMap((c) =>
    c.sweep.map((s) => ({ workload: c.workload.name, GB: s.batchBytes / 1e9, elapsed: s.elapsedSeconds })),
  );
  return render({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Oracle sweep: mean elapsed per fixed batch size',
    data: { values },
    width: 160,
    height: 160,
    mark: { type: 'line', point: true },
    encoding: {
      facet: { field: 'workload', type: 'nominal', columns: 6, title: null },
      x: { field: 'GB', type: 'quantitative', scale: { type: 'log' }, title: 'batch GB' },
      y: { field: 'elapsed', type: 'quantitative', scale: { zero: false }, title: 'elapsed s' },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec);
}
