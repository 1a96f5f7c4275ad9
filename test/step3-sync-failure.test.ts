/**
 * Step 3 acceptance, a failure inside a batch with the real processes: drive d0's virtual drive is
 * given a fault plan through the duplicator config (`drives[].faults` → the writer's `--faults`). A
 * failed sync (the third synchronous filemark: label, batch 1, batch 2) and a deferred write error
 * (a block of batch 2's fourth image fails when the buffer drains it) each must fail every copy of
 * that batch, requeue them, rewrite each with its own sync, and commit them — none before its retry.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { DuplicatorEvent } from '@tapedup/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt, TAPE_WRITER } from '../packages/duplicator/src/testing/process-harness';
import {
  allLogs,
  eventsOf,
  imageSet,
  type Run,
  readCatalog,
  readTapes,
  requestDone,
  restoreAndCompare,
  startRun,
  stopRun,
  submit,
  tapeVersusCatalog,
} from './helpers/step3';

const IMAGES = 64;
const BATCH = 8;
const files = imageSet('sf', IMAGES);
const runs: Run[] = [];
/** Per case: the copies written on d0 since its last commit when the failure came, and those failed. */
const outcomes = new Map<string, { written: Set<string>; failed: Set<string> }>();

afterAll(async () => {
  for (const run of runs) {
    await stopRun(run);
    await rm(run.inst.dir, { recursive: true, force: true });
  }
});

/** Copies written on `driveId` since its last commit before event index `before`: the open batch. */
function openBatchBefore(events: DuplicatorEvent[], driveId: string, before: number): Set<string> {
  const batch = new Set<string>();
  for (const e of events.slice(0, before)) {
    if (e.type === 'image-written' && e.driveId === driveId) batch.add(e.backupId);
    if (e.type === 'image-committed' && e.driveId === driveId) batch.delete(e.backupId);
  }
  return batch;
}

const cases = [
  {
    name: 'a failed sync (the third synchronous filemark on d0)',
    faults: { scripted: [{ kind: 'sync-failure', trigger: { op: 'sync', nth: 3 } }] },
    // Batch 2 whole: seven deferred copies and the eighth, whose synchronous filemark failed.
    batchSize: BATCH,
  },
  {
    // Writes on a fresh tape: the label (1), then per image its fragment header, one data block, its
    // trailer and its fragment end (4): write 1 + 4·8 + 3 = 36 is batch 2's second image's trailer.
    name: 'a deferred write error mid-batch (write 36 on d0)',
    faults: { scripted: [{ kind: 'deferred-error', trigger: { op: 'write', nth: 36 } }] },
    // The drive reports the error when its buffer drains that block: on a later command of batch 2,
    // at its sync at the latest. How many of batch 2's copies were reported written by then depends on
    // how far the host got ahead of the drain; the first was written before the faulty block.
    batchSize: { min: 2, max: BATCH },
  },
  {
    // The planner tops up a 3-copy window after every report, so an assign is usually on its way
    // when the sync fails: the writer writes those copies the duplicator has already requeued; its
    // reports of them are ignored and it drops them when told to resume at the committed end.
    name: 'a failed sync while assigns are in flight (a window of 3 copies)',
    faults: { scripted: [{ kind: 'sync-failure', trigger: { op: 'sync', nth: 3 } }] },
    batchSize: BATCH,
    window: 3,
  },
];

describe.skipIf(!existsSync(TAPE_WRITER))(
  'step 3: a batch failure fails, requeues and retries the whole batch',
  () => {
    for (const c of cases) {
      it(c.name, async () => {
        ensureBuilt();
        const run = await startRun(
          files,
          {
            policy: { policy: 'fixed', fixedBatchImages: BATCH },
            ...(c.window === undefined ? {} : { writerWindow: { images: c.window } }),
          },
          (drives) => drives.map((d) => (d.id === 'd0' ? { ...d, faults: c.faults } : d)),
        );
        runs.push(run);
        const requestId = await submit(run, Object.keys(files));
        const done = await requestDone(run, requestId);
        expect(done, run.dup.stderr().slice(-3000)).toMatchObject({
          outcome: 'done',
          committed: IMAGES,
          failed: 0,
        });
        const events = run.events();
        const failed = eventsOf(events, 'image-failed');
        expect(failed.length, JSON.stringify(failed.slice(0, 2))).toBeGreaterThan(0);
        // One failure, on d0, retryable, first attempt, with the drive's sense data.
        expect(new Set(failed.map((f) => f.driveId))).toEqual(new Set(['d0']));
        expect(failed.every((f) => f.retryable && f.attempt === 1 && f.sense !== undefined)).toBe(true);
        // Exactly the open batch failed: every copy written on d0 since its last commit, plus the one
        // whose write or filemark the error struck (it has no image-written) — and no copy that was
        // merely assigned and not yet written.
        const firstFailure = events.indexOf(failed[0]!);
        const written = openBatchBefore(events, 'd0', firstFailure);
        const batch = new Set(failed.map((f) => f.backupId));
        expect(failed).toHaveLength(batch.size);
        for (const w of written) expect(batch.has(w)).toBe(true);
        // The fault struck where the case says: in d0's second batch, after its first eight committed.
        const committedBefore = eventsOf(events.slice(0, firstFailure), 'image-committed');
        expect(committedBefore.filter((e) => e.driveId === 'd0')).toHaveLength(BATCH);
        const size = typeof c.batchSize === 'number' ? { min: c.batchSize, max: c.batchSize } : c.batchSize;
        expect(written.size + 1).toBeGreaterThanOrEqual(size.min);
        expect(written.size + 1).toBeLessThanOrEqual(size.max);
        outcomes.set(c.name, { written, failed: batch });
        for (const f of failed) {
          const mine = events.filter((e) => 'backupId' in e && e.backupId === f.backupId).map((e) => e.type);
          // (written →) failed → retrying → written → committed; never committed before the retry.
          expect(mine).toEqual([
            ...(written.has(f.backupId) ? ['image-written'] : []),
            'image-failed',
            'image-retrying',
            'image-written',
            'image-committed',
          ]);
        }
        const committed = eventsOf(events, 'image-committed');
        expect(committed).toHaveLength(IMAGES);
        expect(new Set(committed.map((e) => e.backupId)).size).toBe(IMAGES);
        // The logs are complete once the processes have exited.
        await stopRun(run);
        const logs = allLogs(run);
        // Each retry was decided `sync` because it is a retry.
        const retryDecisions = logs.filter(
          (l) => String(l.msg).startsWith('sync decision') && l.attempt === 2,
        );
        expect(new Set(retryDecisions.map((l) => String(l.backupId)))).toEqual(batch);
        expect(retryDecisions.every((l) => l.decision === 'sync' && l.reason === 'retry')).toBe(true);
        // The writer wrote no copy it had been assigned before the failure: the duplicator had no
        // stale report to refuse.
        const stale = logs.filter((l) => String(l.msg).startsWith('stale or unknown'));
        if (c.window !== undefined) expect(stale.length).toBeLessThanOrEqual(c.window);
        else expect(stale).toEqual([]);

        const view = readCatalog(run.inst);
        expect(view.copies.every((x) => x.state === 'committed')).toBe(true);
        const retried = view.copies.filter((x) => batch.has(x.backupId));
        expect(retried.every((x) => x.attempts === 1 && x.errors.length === 1)).toBe(true);
        // Each retried copy was synced on its own: its committing batch holds it alone.
        for (const x of retried) {
          const b = view.batches.find((y) => y.id === x.batch);
          expect(b).toMatchObject({ state: 'synced', imageCount: 1 });
        }
        // The failed batch is recorded as failed, with every copy of it.
        const failedBatches = view.batches.filter((b) => b.state === 'failed');
        expect(failedBatches).toHaveLength(1);
        expect(failedBatches[0]).toMatchObject({ drive: 'd0' });
        const tapes = await readTapes(run.inst, [...new Set(view.copies.map((x) => x.medium!))]);
        expect(tapeVersusCatalog(view, tapes)).toEqual([]);
        expect(await restoreAndCompare(run, view)).toEqual([]);
      }, 120_000);

      it(`${c.name}: fails only that batch, not copies assigned and not yet written`, () => {
        const o = outcomes.get(c.name);
        expect(o).toBeDefined();
        // The batch: the copies written since the last good sync and the one the error struck.
        expect([...o!.failed].filter((b) => !o!.written.has(b))).toHaveLength(1);
        expect(o!.failed.size).toBe(o!.written.size + 1);
      });
    }
  },
);
