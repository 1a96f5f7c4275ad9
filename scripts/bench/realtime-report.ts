/**
 * The real-time part of docs/benchmarks.md: its target lines and its section (tables, how each
 * figure was taken, the machine's load while it was).
 */
import { cpus } from 'node:os';
import type { CatalogFigures, Outcome } from './external';
import type { BenchMode } from './policy';
import { MB, median } from './processes';
import { REALTIME_SIZES, type RealtimeFigures } from './realtime';

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const mb = (bytes: number) => (bytes / MB).toFixed(0);
const gb = (bytes: number) => `${Number((bytes / 1e9).toFixed(2))} GB`;

/** At least `target`: met, or missed by how much faster it would have to be. */
const atLeast = (value: number, target: number) =>
  value >= target ? 'met' : `missed by ${pct(target / value - 1)}`;
/** At most `target`: met, or missed by how much it is over. */
const atMost = (value: number, target: number) =>
  value <= target ? 'met' : `missed by ${pct(value / target - 1)}`;

export function realtimeTargetLines(outcome: Outcome<RealtimeFigures>): string[] {
  if (!outcome.ran) {
    return [`| data path, pickup latency, writer and duplicator memory | not run: ${outcome.reason} | — |`];
  }
  const r = outcome.value;
  const lines: string[] = [];
  for (const row of r.dataPath) {
    const figure = `${f2(row.ratio)} × dd (${f1(row.writerMBps)} vs ${f1(row.ddMBps)} MB/s); ${f2(row.ratioSynced)} × dd + sync (${f1(row.ddSyncedMBps)} MB/s)`;
    lines.push(
      row.drives === 1
        ? `| data path, one drive: ≥ 0.7 × dd, checksums on | ${figure} | ${atLeast(row.ratio, 0.7)} against dd; ${atLeast(row.ratioSynced, 0.7)} against dd + sync |`
        : `| data path, two drives in parallel (no target) | ${figure} | — |`,
    );
  }
  const p = r.pickup;
  lines.push(
    `| next-image pickup p99 ≤ 2 ms | writer's own: p99 ${f2(p.writer.p99Ms)} ms, p50 ${f2(p.writer.p50Ms)} ms (${p.writer.count} images); bench send → copy-written: p99 ${f2(p.roundTrip.p99Ms)} ms, p50 ${f2(p.roundTrip.p50Ms)} ms | ${atMost(p.writer.p99Ms, 2)} (writer's figure) |`,
  );
  const w = r.writerMemory;
  const small = w.imageBytes < 20e9 ? ` (a ${gb(w.imageBytes)} image, not 20 GB)` : '';
  lines.push(
    `| writer peak RSS ≤ 256 MB on a 20 GB image | ${mb(w.peakBytes)} MB VmHWM on a ${gb(w.imageBytes)} image | ${atMost(w.peakBytes / MB, 256)}${small} |`,
  );
  const d = r.duplicator;
  const fewer = d.images < 100_000 ? ` (${d.images.toLocaleString('en')} images, not 100,000)` : '';
  lines.push(
    `| duplicator RSS ≤ 300 MB with 100,000 images queued | ${mb(d.rssBytes)} MB VmRSS, ${mb(d.peakBytes)} MB VmHWM | ${atMost(d.peakBytes / MB, 300)}${fewer} |`,
    `| 100,000-image submit accepted in ≤ 5 s, over the scheduler socket | ${f2(d.submitTotalMs / 1000)} s (${d.requests} submits of ≤ 10,000) | ${atMost(d.submitTotalMs, 5000)}${fewer} |`,
  );
  return lines;
}

function sizesLine(mode: BenchMode): string {
  const s = REALTIME_SIZES[mode];
  return `data path ${s.dataPath.files} files × ${mb(s.dataPath.fileBytes)} MB, ${s.dataPath.repetitions} run(s) each; pickup ${s.pickupImages} images; writer RSS on a ${gb(s.writerImageBytes)} image; ${s.duplicatorImages.toLocaleString('en')} images queued`;
}

export function realtimeSection(
  outcome: Outcome<RealtimeFigures>,
  policyMode: BenchMode,
  catalog: Outcome<CatalogFigures>,
): string {
  if (!outcome.ran) return `## Real time on this machine\n\nNot run: ${outcome.reason}.`;
  const r = outcome.value;
  const load = (l: { before: number; after: number }) => `${f2(l.before)} → ${f2(l.after)}`;
  const cores = cpus().length;
  const busy = Object.values(r.load).some((l) => Math.max(l.before, l.after) > cores);
  const dataRows = r.dataPath
    .map(
      (row) =>
        `| ${row.drives} | ${gb(row.totalBytes)} | ${row.repetitions} | ${f1(row.writerMBps)} | ${f1(row.ddMBps)} | ${f1(row.ddSyncedMBps)} | ${f2(row.ratio)} | ${f2(row.ratioSynced)} | ${row.writerSeconds.map(f2).join(', ')} | ${row.ddSeconds.map(f2).join(', ')} | ${row.ddSyncedSeconds.map(f2).join(', ')} |`,
    )
    .join('\n');
  const p = r.pickup;
  const w = r.writerMemory;
  const d = r.duplicator;
  const catalogLine = catalog.ran
    ? `The catalog alone (bench-catalog.ts, one \`submitRequest\` of 100,000 images in one transaction, no socket, no source check) took ${f2(catalog.value.submit100kMs / 1000)} s in this run.`
    : `The catalog-only figure (bench-catalog.ts) was not run: ${catalog.reason}.`;
  return `## Real time on this machine

Sizes: \`${r.mode}\` (${sizesLine(r.mode)})${r.mode === policyMode ? '' : `; the policy tables above are from the \`${policyMode}\` mode of the same run`}.
Full sizes are ${sizesLine('full')}.

Real processes over real sockets, wall-clock time: the built tape-writer
(\`node packages/tape-writer/dist/main.js\`, CRC32C per block and SHA-256 per image always on) driven
over its DEALER by a ROUTER in the bench that plays the duplicator (hello → mount → assign → sync-now
→ batch-synced), on a virtual library under \`${r.tempDir}\`. The writer's virtual drive runs the \`${r.profile}\` profile
(\`--profile ${r.profile}\`): the rate model is off, every drive command costs only the host work it does
(the cartridge file's writes and fdatasync included).

The machine may be shared: one-minute load average (before → after) data path ${load(r.load.dataPath)},
pickup ${load(r.load.pickup)}, writer memory ${load(r.load.writerMemory)}, duplicator ${load(r.load.duplicator)}, on
${cores} cores.${busy ? ' The load was above the number of cores: other processes competed for the CPU, so the wall-time figures (throughput, latency, submit time) are what this machine gave under that load, not its capacity; dd, which needs the least CPU, suffers least from it.' : ''}

### Data path: tape-writer vs dd

The same page-cache-warm files (just written; no cache is dropped, for either side) are copied by
tape-writer processes into virtual drives (a tgt-format cartridge file per drive) and by
\`dd if=F of=G bs=1M\` into a directory of the same filesystem, alternately, a fresh library and
fresh writers per run, \`sync\` before each run. Each run's outputs are deleted before the next run, which then waits 4 s: this virtual machine hands freed memory back to its host within seconds, and writing into just-freed page-cache memory costs far less CPU, so without the wait whichever side ran right after a delete was favoured. Single runs of this figure moved between 0.57 and 1.08 on the same afternoon: it follows the machine's load and its memory, not the code alone. With two drives each writer (each dd chain) takes
half the files, in parallel. The writer's time runs from the assigns to the last \`batch-synced\`,
which comes after the cartridge file's fdatasync; dd is timed to its exit (page cache only) and to
the end of a \`sync -d\` of its outputs ("dd + sync", the same durability). MB/s are medians of the
runs (10^6 bytes).

| drives | data | runs | tape-writer MB/s | dd MB/s | dd + sync MB/s | writer ÷ dd | writer ÷ (dd + sync) | writer s | dd s | dd + sync s |
|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|
${dataRows}

### Next-image pickup latency

${p.images} images of ${p.imageBytes} bytes, each in its own \`assign\` sent to an idle writer only
after the previous \`copy-written\`. The writer's own figure is the engine's: from the assign's
arrival in the engine to the image's first data block handed to the drive (its clock is
\`performance.timeOrigin + performance.now()\`, with a sub-millisecond fraction; percentiles by nearest rank over all ${p.writer.count} images,
the first included). The bench's figure, send → \`copy-written\` received on a high-resolution
clock, also holds the decode, the header, data, trailer and fragment-end blocks, the immediate
filemark and the report's way back: an upper bound.

| measured by | p50 ms | p90 ms | p99 ms | max ms | mean ms |
|---|---:|---:|---:|---:|---:|
| writer (arrival → first block) | ${f2(p.writer.p50Ms)} | ${f2(p.writer.p90Ms)} | ${f2(p.writer.p99Ms)} | ${f2(p.writer.maxMs)} | ${f2(p.writer.meanMs)} |
| bench (send → copy-written) | ${f2(p.roundTrip.p50Ms)} | — | ${f2(p.roundTrip.p99Ms)} | ${f2(p.roundTrip.maxMs)} | — |

### Memory and scale

| figure | value |
|---|---:|
| writer: image (sparse file, read through the disk reader) | ${gb(w.imageBytes)} |
| writer: time to batch-synced | ${f1(w.seconds)} s (${f1(w.mbps)} MB/s) |
| writer: VmRSS idle after the mount | ${mb(w.idleRssBytes)} MB |
| writer: VmHWM at the end (peak, piscina threads included) | ${mb(w.peakBytes)} MB |
| duplicator: images queued | ${d.images.toLocaleString('en')} |
| duplicator: submits accepted, total | ${f2(d.submitTotalMs / 1000)} s |
| duplicator: one submit of ≤ 10,000 images, median / max | ${f1(median(d.submitMs))} / ${f1(Math.max(...d.submitMs))} ms |
| duplicator: \`status\` of every request, send → reply | ${f1(d.statusMs)} ms |
| duplicator: VmRSS at start / with every image queued | ${mb(d.startRssBytes)} / ${mb(d.rssBytes)} MB |
| duplicator: VmHWM with every image queued | ${mb(d.peakBytes)} MB |

The duplicator runs from a config in a temp directory with one virtual drive whose writer is a
script that never says hello, so the drive never becomes ready and every image stays queued. The
protocol takes at most 10,000 images per \`submit\`, so 100,000 images are ten submits sent one after
the other, each awaiting its \`accepted\`; each image's source is checked (a file of its size on
the DSU: hard links to four one-byte files). ${catalogLine}
The writers are separate processes: their memory is not in the duplicator's figures.`;
}
