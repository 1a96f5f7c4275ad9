/**
 * Catalog timings on a real file: `pnpm exec tsx packages/duplicator/src/catalog/bench-catalog.ts [copies]`.
 * Measures a 100,000-image submit, `status()` over a catalog of 1,000,000 copies (default), the work queue,
 * and one committed batch of 8 (which is bound by the fsync that synchronous=FULL asks for).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Catalog } from './catalog';
import type { ImageInput } from './types';

const IMAGES_PER_REQUEST = 100_000;
const totalCopies = Number(process.argv[2] ?? 1_000_000);

function imageList(prefix: string): ImageInput[] {
  return Array.from({ length: IMAGES_PER_REQUEST }, (_, n) => ({
    backupId: `${prefix}-${n}`,
    size: 1_000_000 + ((n * 7919) % 50_000_000),
    source: { dsu: 'dsu1', path: `${prefix}/${n}.img` },
  }));
}

function time<T>(fn: () => T): { ms: number; value: T } {
  const start = performance.now();
  const value = fn();
  return { ms: performance.now() - start, value };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const dir = mkdtempSync(join(tmpdir(), 'tapedup-catalog-bench-'));
const path = join(dir, 'catalog.sqlite');
const catalog = new Catalog({ path });
const results: Record<string, number | string> = {};
try {
  const submits: number[] = [];
  for (let r = 0; r * IMAGES_PER_REQUEST < totalCopies; r++) {
    const images = imageList(`req${r}`);
    submits.push(time(() => catalog.submitRequest({ id: `req${r}`, pool: 'p', images })).ms);
  }
  results.submit100kFirstMs = submits[0]?.toFixed(0) ?? 'n/a';
  results.submit100kMedianMs = median(submits).toFixed(0);
  results.submit100kMaxMs = Math.max(...submits).toFixed(0);
  results.copies = catalog.status().total.copies;

  const statusAll = Array.from({ length: 20 }, () => time(() => catalog.status()).ms);
  const statusOne = Array.from({ length: 20 }, () => time(() => catalog.status('req0')).ms);
  results.statusAllMedianMs = median(statusAll).toFixed(3);
  results.statusOneMedianMs = median(statusOne).toFixed(3);

  // For comparison: the same figures computed by scanning the copies table.
  const raw = new Database(path, { readonly: true });
  const scan = time(() =>
    raw.prepare('SELECT state, COUNT(*), SUM(size) FROM copies GROUP BY state').all(),
  ).ms;
  raw.close();
  results.statusByFullScanMs = scan.toFixed(0);

  const queue = Array.from({ length: 20 }, () => time(() => catalog.nextQueued(100)).ms);
  results.nextQueued100MedianMs = median(queue).toFixed(3);

  catalog.registerDrive('d1', 'virtual:bench#0');
  catalog.addMedium('B00001', 'p', 'active');
  const batch = catalog.openBatch('d1', 'B00001');
  const picked = catalog.nextQueued(8);
  let block = 1;
  const committed = picked.map((q, i) => {
    catalog.startWriting(q.copyId, 'd1', 'B00001');
    catalog.markWritten(q.copyId, batch.id, { fileNumber: i + 1, blockAddress: block, bytes: q.size });
    const entry = {
      copyId: q.copyId,
      medium: 'B00001',
      fileNumber: i + 1,
      blockAddress: block,
      sha256: 'a'.repeat(64),
    };
    block += 10;
    return entry;
  });
  results.commitBatchOf8Ms = time(() =>
    catalog.commitBatch(batch.id, {
      committed,
      positionAfterSync: { fileNumber: picked.length + 1, blockAddress: block },
      syncDurationMs: 1500,
    }),
  ).ms.toFixed(2);
  results.recoverInFlightMs = time(() => catalog.recoverInFlight()).ms.toFixed(2);
} finally {
  catalog.close();
  rmSync(dir, { recursive: true, force: true });
}
for (const [name, value] of Object.entries(results)) process.stdout.write(`${name.padEnd(24)} ${value}\n`);
