/**
 * Step 3 acceptance: the sync-deferral policies `sync-every`, `fixed` (8) and `adaptive` each drive
 * an end-to-end run of the same images over two real writers, and the filemarks the drives executed
 * (every WRITE FILEMARKS from the virtual drives' command log) are what each policy must produce:
 * - sync-every: one synchronous filemark per image, no immediate one, no flush;
 * - fixed 8: per drive, ⌈m/8⌉ syncs for its m images (a synchronous filemark on every 8th image and
 *   one ending its last batch), every other image an immediate filemark;
 * - adaptive: at least one sync and strictly fewer than sync-every's.
 * Each labelled cartridge adds its label's synchronous filemark. The catalog's synced batches agree.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt, TAPE_WRITER } from '../packages/duplicator/src/testing/process-harness';
import {
  allLogs,
  type CatalogView,
  filemarkCommands,
  imageSet,
  type Run,
  readCatalog,
  readTapes,
  requestDone,
  startRun,
  stopRun,
  submit,
  tapeVersusCatalog,
} from './helpers/step3';

const IMAGES = 100;
const files = imageSet('pol', IMAGES);
const runs: Run[] = [];

afterAll(async () => {
  for (const run of runs) {
    await stopRun(run);
    await rm(run.inst.dir, { recursive: true, force: true });
  }
});

interface DriveCounts {
  images: number;
  media: number;
  immediate: number;
  /** Synchronous filemarks (count 1) minus the labels'. */
  syncFilemarks: number;
  /** Flush-only syncs (count 0). */
  flushes: number;
  syncedBatches: number;
}

async function runPolicy(policy: Record<string, unknown>): Promise<Map<string, DriveCounts>> {
  ensureBuilt();
  const run = await startRun(files, { policy, logLevel: 'debug' });
  runs.push(run);
  const requestId = await submit(run, Object.keys(files));
  const done = await requestDone(run, requestId);
  expect(done, run.dup.stderr().slice(-3000)).toMatchObject({
    outcome: 'done',
    committed: IMAGES,
    failed: 0,
  });
  await stopRun(run);
  const fms = filemarkCommands(allLogs(run));
  expect(fms.every((f) => !f.failed)).toBe(true);
  const view: CatalogView = readCatalog(run.inst);
  expect(view.copies.every((c) => c.state === 'committed')).toBe(true);
  const tapes = await readTapes(run.inst, [...new Set(view.copies.map((c) => c.medium!))]);
  expect(tapeVersusCatalog(view, tapes)).toEqual([]);
  const counts = new Map<string, DriveCounts>();
  for (const driveId of ['d0', 'd1']) {
    const mine = view.copies.filter((c) => c.drive === driveId);
    const media = new Set(mine.map((c) => c.medium)).size;
    const own = fms.filter((f) => f.driveId === driveId);
    counts.set(driveId, {
      images: mine.length,
      media,
      immediate: own.filter((f) => f.immediate && f.count === 1).length,
      syncFilemarks: own.filter((f) => !f.immediate && f.count === 1).length - media,
      flushes: own.filter((f) => !f.immediate && f.count === 0).length,
      syncedBatches: view.batches.filter((b) => b.drive === driveId && b.state === 'synced').length,
    });
  }
  // Every image got exactly one filemark of its own, and every sync closed one catalog batch.
  for (const c of counts.values()) {
    expect(c.immediate + c.syncFilemarks).toBe(c.images);
    expect(c.syncedBatches).toBe(c.syncFilemarks + c.flushes);
  }
  expect([...counts.values()].reduce((s, c) => s + c.images, 0)).toBe(IMAGES);
  return counts;
}

describe.skipIf(!existsSync(TAPE_WRITER))('step 3: sync-deferral policies end to end', () => {
  it('sync-every: one synchronous filemark per image, no immediate filemark, no flush', async () => {
    const counts = await runPolicy({ policy: 'sync-every' });
    for (const c of counts.values()) {
      expect(c).toMatchObject({ immediate: 0, syncFilemarks: c.images, flushes: 0 });
    }
  }, 120_000);

  it('fixed 8: ⌈m/8⌉ syncs per drive for its m images, the rest immediate filemarks', async () => {
    const counts = await runPolicy({ policy: 'fixed', fixedBatchImages: 8 });
    for (const [driveId, c] of counts) {
      expect(c.syncFilemarks + c.flushes, `${driveId}: ${JSON.stringify(c)}`).toBe(Math.ceil(c.images / 8));
      expect(c.immediate).toBe(c.images - c.syncFilemarks);
      // Every full batch ends on its 8th image's synchronous filemark; only a drive's last, partial
      // batch may end with a flush instead (its writer went idle before the end-of-work image).
      expect(c.syncFilemarks).toBeGreaterThanOrEqual(Math.floor(c.images / 8));
      expect(c.flushes).toBeLessThanOrEqual(c.images % 8 === 0 ? 0 : 1);
    }
  }, 120_000);

  it('adaptive: fewer syncs than sync-every, at least one', async () => {
    const counts = await runPolicy({ policy: 'adaptive' });
    const syncs = [...counts.values()].reduce((s, c) => s + c.syncFilemarks + c.flushes, 0);
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThan(IMAGES);
    const immediate = [...counts.values()].reduce((s, c) => s + c.immediate, 0);
    expect(immediate).toBeGreaterThan(0);
  }, 120_000);
});
