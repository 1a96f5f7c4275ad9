/**
 * Step 3 acceptance: the writer killed with SIGKILL mid-batch, at several points, with the real
 * duplicator. The kill point is made exact with the drive's fault plan: a `hang` on the Nth WRITE
 * FILEMARKS holds the writer right after the data of batch 2's (k+1)-th image, so exactly k copies
 * of the batch were reported written when SIGKILL lands (k = 1, half a batch, and 7: the hung
 * filemark is then the batch's synchronous one). The supervisor restarts the writer (the fault plan
 * would hang its Nth filemark too; it writes fewer). Nothing uncommitted is reported committed,
 * every image ends committed once, and what the killed writer left after the committed end is
 * overwritten or abandoned, never cataloged.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt, TAPE_WRITER } from '../packages/duplicator/src/testing/process-harness';
import {
  allLogs,
  eventsOf,
  imageSet,
  nthEvent,
  type Run,
  readCatalog,
  readTapes,
  requestDone,
  restoreAndCompare,
  startRun,
  stopRun,
  submit,
  tapeVersusCatalog,
  waitLog,
  writerPid,
} from './helpers/step3';

const BATCH = 8;
const IMAGES = 2 * BATCH;
const files = imageSet('wk', IMAGES);
const runs: Run[] = [];

afterAll(async () => {
  for (const run of runs) {
    await stopRun(run);
    await rm(run.inst.dir, { recursive: true, force: true });
  }
});

describe.skipIf(!existsSync(TAPE_WRITER))('step 3: writer SIGKILL mid-batch', () => {
  for (const k of [1, BATCH / 2, BATCH - 1]) {
    it(`killed after ${k} of batch 2's copies were written: restarted, nothing uncommitted committed, all committed once`, async () => {
      ensureBuilt();
      // Filemarks on a fresh tape: the label's, batch 1's eight, then batch 2's: the (k+1)-th of
      // batch 2 hangs. The restarted writer writes at most the eight of batch 2, fewer than that.
      const hangAt = 1 + BATCH + k + 1;
      const run = await startRun(
        files,
        // A slower model clock keeps the hung command far from its 20-minute model deadline.
        {
          clockScale: 200,
          policy: { policy: 'fixed', fixedBatchImages: BATCH },
          restart: { initialMs: 1500, maxMs: 1500, factor: 1, healthyMs: 60_000 },
        },
        (drives) => [
          {
            ...drives[0]!,
            faults: { scripted: [{ kind: 'hang', trigger: { op: 'filemark', nth: hangAt } }] },
          },
        ],
      );
      runs.push(run);
      const requestId = await submit(run, Object.keys(files));
      // Batch 1 commits, then k copies of batch 2 are written; the writer then hangs.
      await nthEvent(run, 'image-committed', BATCH);
      await nthEvent(run, 'image-written', BATCH + k);
      const pid = writerPid(run, 'd0');
      // Kill it once it is held in the hung filemark.
      await waitLog(run, (l) => l.msg === 'fault injected' && l.pid === pid);
      process.kill(pid, 'SIGKILL');
      // While the supervisor's backoff holds the restart, read what the killed writer left on tape.
      await waitLog(run, (l) => l.msg === 'writer lost' && l.driveId === 'd0');
      const medium = eventsOf(run.events(), 'image-written')[0]!.medium;
      const leftBehind = await readTapes(run.inst, [medium]);
      const done = await requestDone(run, requestId);
      expect(done, run.dup.stderr().slice(-3000)).toMatchObject({
        outcome: 'done',
        committed: IMAGES,
        failed: 0,
      });

      const events = run.events();
      const written = eventsOf(events, 'image-written');
      const batch1 = new Set(written.slice(0, BATCH).map((e) => e.backupId));
      const writtenBeforeKill = written.slice(BATCH, BATCH + k);
      const failed = eventsOf(events, 'image-failed');
      // Exactly k copies of batch 2 had been reported written (the hang held the writer there).
      const firstFailure = events.indexOf(failed[0]!);
      expect(eventsOf(events.slice(0, firstFailure), 'image-written')).toHaveLength(BATCH + k);
      // Every failure is the writer's death, on its first attempt; batch 1 lost nothing.
      expect(failed.every((f) => f.reason === 'WRITER_DIED' && f.attempt === 1 && f.retryable)).toBe(true);
      expect(failed.some((f) => batch1.has(f.backupId))).toBe(false);
      const failedIds = new Set(failed.map((f) => f.backupId));
      for (const w of writtenBeforeKill) expect(failedIds.has(w.backupId)).toBe(true);
      // Nothing uncommitted was reported committed: before the kill only batch 1 was.
      expect(
        new Set(eventsOf(events.slice(0, firstFailure), 'image-committed').map((e) => e.backupId)),
      ).toEqual(batch1);
      const committed = eventsOf(events, 'image-committed');
      expect(committed).toHaveLength(IMAGES);
      expect(new Set(committed.map((e) => e.backupId)).size).toBe(IMAGES);
      for (const f of failed) {
        const at = events.findIndex((e) => e.type === 'image-committed' && e.backupId === f.backupId);
        expect(at).toBeGreaterThan(events.indexOf(f));
      }
      await stopRun(run);
      // The writer was restarted: a new process connected for d0.
      const logs = allLogs(run);
      const connected = logs
        .filter((l) => l.msg === 'writer connected' && l.driveId === 'd0')
        .map((l) => l.pid);
      expect(connected).toContain(pid);
      expect(connected.filter((p) => p !== pid).length).toBeGreaterThanOrEqual(1);

      const view = readCatalog(run.inst);
      expect(view.copies.every((c) => c.state === 'committed')).toBe(true);
      // The killed writer's copies were each retried alone and synced.
      for (const c of view.copies.filter((x) => failedIds.has(x.backupId))) {
        expect(c.errors.map((e) => e.code)).toEqual(['WRITER_DIED']);
        expect(view.batches.find((b) => b.id === c.batch)).toMatchObject({ state: 'synced', imageCount: 1 });
      }
      // Batch 2 restarted where batch 1's data ended: the retries overwrote the killed attempt there.
      const batch1End = Math.max(...written.slice(0, BATCH).map((e) => e.fileNumber)) + 1;
      expect(writtenBeforeKill[0]?.fileNumber).toBe(batch1End);
      const retried = view.copies.filter((c) => failedIds.has(c.backupId));
      expect(Math.min(...retried.map((c) => c.fileNumber!))).toBe(batch1End);
      // What the killed writer had put after the committed end was never cataloged; the retries
      // overwrote it.
      // At the kill, the tape held batch 1 complete before its committed end; anything after it
      // (the killed writer's drive buffer died with it here) is batch 2's, uncommitted.
      const before = leftBehind.rebuilt.filter((i) => (i.fragments[0]?.tapeFile ?? 0) < batch1End);
      expect(new Set(before.map((i) => i.backupId))).toEqual(batch1);
      expect(before.every((i) => i.status === 'ok')).toBe(true);
      const after = leftBehind.rebuilt.filter((i) => (i.fragments[0]?.tapeFile ?? 0) >= batch1End);
      expect(after.every((i) => failedIds.has(i.backupId))).toBe(true);
      const tapes = await readTapes(run.inst, [...new Set(view.copies.map((c) => c.medium!))]);
      expect(tapeVersusCatalog(view, tapes)).toEqual([]);
      expect(await restoreAndCompare(run, view)).toEqual([]);
    }, 120_000);
  }
});
