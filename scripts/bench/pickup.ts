/**
 * Next-image pickup latency, real time: one idle tape-writer process gets images one `assign` at a
 * time (the next only after the previous `copy-written`), each a small disk image.
 *
 * Two figures: the writer's own (its engine stamps an assign's arrival and the moment the image's
 * first data block goes to the drive; p50/p99 from its `final writer stats` log line, on its
 * high-resolution clock), and the bench's own (send → `copy-written` received, high-resolution), which
 * also holds the fragment header, the one data block, the trailer, the fragment end, the immediate
 * filemark and the report's trip back — an upper bound of the pickup.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeMessage } from '@tapedup/protocol';
import { makeLibrary, orExit, quantile, startMountedWriter, stopWriter, WriterRouter } from './processes';

export interface PickupFigures {
  readonly images: number;
  readonly imageBytes: number;
  /** The writer's pickup summary (arrival of the assign → first data block written), ms. */
  readonly writer: {
    readonly count: number;
    readonly p50Ms: number;
    readonly p90Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
    readonly meanMs: number;
  };
  /** Bench side: assign sent → copy-written received, ms (high-resolution clock). */
  readonly roundTrip: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
}

const IMAGE_BYTES = 4096;

/** The writer's `final writer stats` pickup summary from its log file (pino JSON lines). */
function finalPickup(logFile: string): PickupFigures['writer'] {
  const lines = readFileSync(logFile, 'utf8').split('\n');
  for (const line of lines.reverse()) {
    if (!line.includes('final writer stats')) continue;
    const parsed = JSON.parse(line) as { stats?: { pickup?: PickupFigures['writer'] } };
    const p = parsed.stats?.pickup;
    if (p === undefined) break;
    return {
      count: p.count,
      p50Ms: p.p50Ms,
      p90Ms: p.p90Ms,
      p99Ms: p.p99Ms,
      maxMs: p.maxMs,
      meanMs: p.meanMs,
    };
  }
  throw new Error(`${logFile}: no "final writer stats" line with pickup figures`);
}

export async function runPickup(
  base: string,
  images: number,
  progress: (line: string) => void = () => {},
): Promise<PickupFigures> {
  const dir = join(base, 'pickup');
  const dsu = join(dir, 'dsu');
  mkdirSync(dsu, { recursive: true });
  const data = Buffer.alloc(IMAGE_BYTES, 0x5a);
  for (let i = 0; i < images; i++) writeFileSync(join(dsu, `p${i}`), data);
  const [barcode] = await makeLibrary(join(dir, 'lib'), ['drive0'], 1, 1e11);
  const endpoint = `ipc://${join(dir, 'w.sock')}`;
  const logFile = join(dir, 'writer.log');
  const router = await WriterRouter.bind(endpoint);
  const writer = await startMountedWriter(router, {
    driveId: 'd0',
    drive: `virtual:${join(dir, 'lib')}#drive0`,
    endpoint,
    dsu,
    logFile,
    barcode: barcode!,
  });
  try {
    const trips: number[] = [];
    for (let i = 0; i < images; i++) {
      const copyId = `c${i}`;
      const written = router.find('copy-written', (m) => m.copyId === copyId);
      const t0 = performance.now();
      await router.send(
        'd0',
        makeMessage('assign', {
          id: `a${i}`,
          medium: barcode!,
          items: [
            {
              copyId,
              requestId: 'pickup',
              backupId: `p${i}`,
              copy: 1,
              sizeBytes: IMAGE_BYTES,
              source: { kind: 'disk', dsu: 'main', path: `p${i}` },
              priority: 50,
              attempt: 1,
              decision: 'defer',
              reason: 'bench: pickup',
            },
          ],
        }),
      );
      await orExit(written, [writer]);
      trips.push(performance.now() - t0);
    }
    const synced = router.find('batch-synced', (m) => m.batchId === 'B-pickup');
    await router.send('d0', makeMessage('sync-now', { id: 's-pickup', batchId: 'B-pickup' }));
    const batch = await orExit(synced, [writer]);
    if (batch.committed.length !== images) {
      throw new Error(`pickup: ${batch.committed.length} copies committed, ${images} expected`);
    }
    const code = await stopWriter(router, writer);
    if (code !== 0) throw new Error(`pickup: the writer exited with ${code}`);
    const figures: PickupFigures = {
      images,
      imageBytes: IMAGE_BYTES,
      writer: finalPickup(logFile),
      roundTrip: { p50Ms: quantile(trips, 0.5), p99Ms: quantile(trips, 0.99), maxMs: Math.max(...trips) },
    };
    progress(
      `pickup: writer p50 ${figures.writer.p50Ms} ms p99 ${figures.writer.p99Ms} ms; round trip p50 ${figures.roundTrip.p50Ms.toFixed(2)} ms p99 ${figures.roundTrip.p99Ms.toFixed(2)} ms`,
    );
    return figures;
  } finally {
    await stopWriter(router, writer);
    router.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
