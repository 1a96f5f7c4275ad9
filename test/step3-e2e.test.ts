/**
 * Step 3 acceptance, end to end: the real duplicator spawns real tape writers on two virtual drives;
 * 240 images go from a DSU to file-backed cartridges. Every image is committed exactly once, every
 * committed copy is restored from its cartridge (from the tape file the catalog names) with the
 * source's SHA-256, and the catalog's positions (copies and fragments) are where the reader finds
 * the images on tape; nothing beyond a medium's committed end is cataloged.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt, TAPE_WRITER } from '../packages/duplicator/src/testing/process-harness';
import {
  backupIdOf,
  eventsOf,
  imageSet,
  type Run,
  readCatalog,
  readTapes,
  requestDone,
  restoreAndCompare,
  sha256,
  startRun,
  stopRun,
  submit,
  tapeVersusCatalog,
} from './helpers/step3';

const IMAGES = 240;
const files = imageSet('e2e', IMAGES);
const runs: Run[] = [];

afterAll(async () => {
  for (const run of runs) {
    await stopRun(run);
    await rm(run.inst.dir, { recursive: true, force: true });
  }
});

describe.skipIf(!existsSync(TAPE_WRITER))('step 3: end to end with real writers', () => {
  it(`commits ${IMAGES} images once over two drives; the tapes restore them and agree with the catalog`, async () => {
    ensureBuilt();
    const run = await startRun(files, { policy: { policy: 'fixed', fixedBatchImages: 8 } });
    runs.push(run);
    const names = Object.keys(files);
    const requestId = await submit(run, names);
    const done = await requestDone(run, requestId);
    expect(done, run.dup.stderr().slice(-3000)).toMatchObject({
      outcome: 'done',
      images: IMAGES,
      committed: IMAGES,
      failed: 0,
    });
    const committedEvents = eventsOf(run.events(), 'image-committed');
    expect(committedEvents).toHaveLength(IMAGES);
    expect(new Set(committedEvents.map((e) => e.backupId))).toEqual(new Set(names.map(backupIdOf)));
    expect(new Set(committedEvents.map((e) => e.driveId))).toEqual(new Set(['d0', 'd1']));
    const byId = new Map(names.map((n) => [backupIdOf(n), files[n]!]));
    for (const e of committedEvents) expect(e.sha256).toBe(sha256(byId.get(e.backupId)!));
    await stopRun(run);

    const view = readCatalog(run.inst);
    expect(view.copies).toHaveLength(IMAGES);
    expect(view.copies.every((c) => c.state === 'committed')).toBe(true);
    // The events and the catalog tell the same positions.
    for (const e of committedEvents) {
      const c = view.copies.find((x) => x.backupId === e.backupId)!;
      expect([c.medium, c.fileNumber, c.blockAddress]).toEqual([e.medium, e.fileNumber, e.blockAddress]);
    }
    const media = [...new Set(view.copies.map((c) => c.medium!))];
    expect(media.length).toBeGreaterThanOrEqual(2);
    const tapes = await readTapes(run.inst, media);
    expect(tapeVersusCatalog(view, tapes)).toEqual([]);
    // The comparison has teeth: a catalog that moved one copy by a tape file, or that cataloged a
    // copy beyond the committed end, disagrees with the tapes.
    const [c0, ...rest] = view.copies;
    const moved = { ...c0!, fileNumber: c0!.fileNumber! + 1 };
    expect(tapeVersusCatalog({ ...view, copies: [moved, ...rest] }, tapes).length).toBeGreaterThan(0);
    const shrunk = view.media.map((m) =>
      m.barcode === c0!.medium ? { ...m, lastCommitted: { fileNumber: 1, blockAddress: 2 } } : m,
    );
    expect(tapeVersusCatalog({ ...view, media: shrunk }, tapes).length).toBeGreaterThan(0);
    // Every image is on tape once, as one complete occurrence.
    const occurrences = tapes.rebuilt.filter((i) => i.status === 'ok');
    expect(occurrences).toHaveLength(IMAGES);
    // Each medium's committed end is exactly the reader's end of data: every batch synced, nothing
    // left over.
    for (const m of view.media.filter((x) => media.includes(x.barcode))) {
      expect(m.lastCommitted.blockAddress).toBe(tapes.listings.get(m.barcode)?.endOfData?.blockNumber);
    }
    expect(await restoreAndCompare(run, view)).toEqual([]);
  }, 180_000);
});
