/**
 * Step 4, parallel copies end to end: `copies: 2` on two drives through the built duplicator and two
 * real tape writers. Copies of one image go to distinct drives, both written with immediate
 * filemarks, and the duplicator sends both drives `sync-now` together: their flushes overlap in time
 * (read from each drive's command log in its writer's log). The second drive's first flush is made to
 * fail (a scripted `sync-failure` in its fault plan, configured as `drives[].faults`): only the copies
 * of that batch are failed and retried, and the good copies on the other drive are neither failed
 * nor written again. Every copy restores byte-identical from its cartridge.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  type Installation,
  logLines,
  makeInstallation,
  type RunningDuplicator,
  startDuplicator,
  TAPE_WRITER,
  TestScheduler,
} from '../packages/duplicator/src/testing/process-harness';
import {
  type DriveCommand,
  driveCommands,
  eventsOf,
  openMedia,
  readLog,
  requestDone,
  restoreCopy,
  schedulerReady,
  stopDuplicator,
  submitFiles,
} from './helpers/step4';

const IMAGES = 8;
const SCALE = 20;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const files: Record<string, Buffer> = {};
for (let i = 0; i < IMAGES; i++) files[`cp/i${i}.img`] = randomBytes(50_000 + i * 9_000);

let inst: Installation | undefined;
let dup: RunningDuplicator | undefined;
let sched: TestScheduler | undefined;
let dir: string | undefined;

afterAll(async () => {
  sched?.close();
  if (dup) await stopDuplicator(dup);
  if (inst) await rm(inst.dir, { recursive: true, force: true });
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Wall-clock interval of a drive command: the log line is written when it ends. */
function wall(c: DriveCommand): [number, number] {
  return [c.time - (c.end - c.start) / SCALE, c.time];
}

describe.skipIf(!existsSync(TAPE_WRITER))('two copies on two drives', () => {
  it('flushes both drives together, and a failed flush on one retries only its copies', async () => {
    ensureBuilt();
    dir = await mkdtemp('/tmp/s4c-');
    const libraryDir = join(dir, 'lib');
    const logs = { d0: join(dir, 'd0.log'), d1: join(dir, 'd1.log') };
    inst = await makeInstallation(files, {
      writerMain: TAPE_WRITER,
      clockScale: SCALE,
      drives: [
        {
          id: 'd0',
          spec: `virtual:${libraryDir}#drive0`,
          writer: { logFile: logs.d0, logLevel: 'debug' },
        },
        {
          id: 'd1',
          spec: `virtual:${libraryDir}#drive1`,
          writer: { logFile: logs.d1, logLevel: 'debug' },
          // Sync 1 is the label's synchronous filemark at mount, 2 the first group's flush, 3 the second's.
          faults: { scripted: [{ kind: 'sync-failure', trigger: { op: 'sync', nth: 3 } }] },
        },
      ],
      library: { pools: { default: { cartridges: 4, capacityBytes: 2_000_000_000 } } },
      policy: { policy: 'fixed', fixedBatchImages: 4 },
      // Four copies per drive at a time, so each batch's flush comes before the next batch is written.
      writerWindow: { images: 4 },
      heartbeat: { intervalMs: 500, timeoutMs: 20_000 },
    });
    dup = startDuplicator(inst.configFile);
    sched = new TestScheduler(inst);
    const d = dup;
    const s = sched;
    await schedulerReady(s, d);
    const reply = await submitFiles(s, 'cp1', files, 2);
    expect(reply.type, JSON.stringify(reply)).toBe('accepted');
    if (reply.type !== 'accepted') return;
    const done = await requestDone(s, d, reply.requestId);
    expect(done, d.stderr().slice(-4000)).toMatchObject({
      outcome: 'done',
      committed: 2 * IMAGES,
      failed: 0,
    });

    // Copies of one image on distinct drives.
    const committed = eventsOf(s, 'image-committed');
    expect(committed).toHaveLength(2 * IMAGES);
    for (let i = 0; i < IMAGES; i++) {
      const drives = committed.filter((c) => c.backupId === `i${i}`).map((c) => c.driveId);
      expect(new Set(drives).size, `i${i}`).toBe(2);
    }

    // The failed flush failed only d1's batch; the sibling copies on d0 were not touched.
    const failed = eventsOf(s, 'image-failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) {
      expect(f).toMatchObject({ driveId: 'd1', retryable: true, attempt: 1 });
      const sibling = committed.find((c) => c.backupId === f.backupId && c.copy !== f.copy);
      expect(sibling?.driveId).toBe('d0');
      const siblingWrites = eventsOf(s, 'image-written').filter(
        (w) => w.backupId === f.backupId && w.copy === sibling?.copy,
      );
      expect(siblingWrites, `${f.backupId} copy ${sibling?.copy} written once`).toHaveLength(1);
      expect(s.events.filter((e) => e.type === 'image-failed' && e.backupId === f.backupId)).toHaveLength(1);
    }
    expect(
      eventsOf(s, 'image-retrying')
        .map((r) => `${r.backupId}/${r.copy}`)
        .sort(),
    ).toEqual(failed.map((f) => `${f.backupId}/${f.copy}`).sort());
    // Each retried copy committed afterwards, on its own attempt.
    for (const f of failed) {
      const at = s.events.indexOf(f);
      const c = s.events.findIndex(
        (e) => e.type === 'image-committed' && e.backupId === f.backupId && e.copy === f.copy,
      );
      expect(c).toBeGreaterThan(at);
    }
    const groups = logLines(d.stderr()).filter(
      (l) => l.msg === 'sync group written: flushing its drives together',
    );
    expect(groups.length).toBeGreaterThan(0);

    await stopDuplicator(d);
    const flushes = {
      d0: driveCommands(await readLog(logs.d0)).filter(
        (c) => c.op === 'writeFilemarks' && c.args.count === 0,
      ),
      d1: driveCommands(await readLog(logs.d1)).filter(
        (c) => c.op === 'writeFilemarks' && c.args.count === 0,
      ),
    };
    // The injected failure struck d1's second flush.
    expect(flushes.d1[1]?.error?.code).toBeDefined();
    // Good flushes that had data to put on the medium (model time, > 0.1 s), not instant empty ones.
    const good = (list: DriveCommand[]) => list.filter((c) => c.error === undefined && c.end - c.start > 100);
    let overlapping = 0;
    for (const a of good(flushes.d0)) {
      const [a0, a1] = wall(a);
      for (const b of good(flushes.d1)) {
        const [b0, b1] = wall(b);
        if (a0 < b1 && b0 < a1) overlapping++;
      }
    }
    const show = (l: DriveCommand[]) =>
      l.map((c) => [...wall(c).map((t) => t % 100_000), c.error?.code ?? 0]);
    expect(
      overlapping,
      JSON.stringify({ d0: show(flushes.d0), d1: show(flushes.d1) }),
    ).toBeGreaterThanOrEqual(1);

    const byMedium = [...new Set(committed.map((c) => c.medium))].sort();
    const media = await openMedia(libraryDir, byMedium);
    try {
      for (const c of committed) {
        const r = await restoreCopy(media, byMedium, c);
        expect(sha(r.bytes), `${c.backupId}/${c.copy}`).toBe(sha(files[`cp/${c.backupId}.img`]!));
      }
    } finally {
      await media.close();
    }
  }, 180_000);
});
