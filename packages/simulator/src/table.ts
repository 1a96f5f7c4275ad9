/**
 * Plain-text and Markdown tables of simulation summaries.
 */
import type { PolicySummary } from './compare';

export const SUMMARY_COLUMNS = [
  'workload',
  'policy',
  'seeds',
  'elapsed s',
  '÷ limit',
  'worst ÷ limit',
  'GB',
  'images',
  'imm. FM',
  'sync FM',
  'syncs',
  'backhitches',
  'failed batches',
  'GB rewritten',
  'commit p50 s',
  'p95 s',
  'p99 s',
] as const;

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

/** The policy cell: the oracle with its batch size; a run with drive history says so. */
export function policyCell(s: PolicySummary): string {
  const name =
    s.policy === 'oracle' && s.batchBytes !== undefined
      ? `oracle (${fixed(s.batchBytes / 1e9, 3)} GB)`
      : s.policy;
  return s.history === 'workload' ? `${name}, drive history` : name;
}

/** One row per summary, in `SUMMARY_COLUMNS` order. */
export function summaryRows(summaries: readonly PolicySummary[]): string[][] {
  return summaries.map((s) => [
    s.workload,
    policyCell(s),
    String(s.seeds),
    fixed(s.elapsedSeconds, 1),
    fixed(s.limitRatio, 4),
    fixed(s.maxLimitRatio, 4),
    fixed(s.bytes / 1e9, 1),
    fixed(s.images, 0),
    fixed(s.immediateFilemarks, 0),
    fixed(s.synchronousFilemarks, 0),
    fixed(s.syncs, 0),
    fixed(s.backhitches, 1),
    fixed(s.failedBatches, 2),
    fixed(s.bytesRewritten / 1e9, 2),
    fixed(s.commitLatencySeconds.p50, 2),
    fixed(s.commitLatencySeconds.p95, 2),
    fixed(s.commitLatencySeconds.p99, 2),
  ]);
}

/** Columns padded to their widest cell. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i < 2 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
