/**
 * End to end with the real tape writers on virtual drives: the duplicator process spawns one
 * tape-writer per drive, 200 images go from a temp DSU to two file-backed cartridges, every image
 * is committed exactly once; a writer killed with SIGKILL mid-batch is restarted and nothing it had
 * not synced is reported committed. Runs when packages/tape-writer/dist/main.js is built.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { DuplicatorEvent } from '@tapedup/protocol';
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

const IMAGES = 200;
const files: Record<string, Buffer> = {};
for (let i = 0; i < IMAGES; i++) files[`e2e/i${i}.img`] = randomBytes(4096 + ((i * 7919) % 60_000));

let inst: Installation | undefined;
let dup: RunningDuplicator | undefined;
let sched: TestScheduler | undefined;

afterAll(async () => {
  sched?.close();
  if (dup && dup.child.exitCode === null) {
    dup.child.kill('SIGTERM');
    await dup.exited;
  }
  if (inst) await rm(inst.dir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(TAPE_WRITER))('duplicator with real tape writers', () => {
  it(`commits ${IMAGES} images over two virtual drives exactly once, surviving a writer SIGKILL`, async () => {
    ensureBuilt();
    inst = await makeInstallation(files, {
      writerMain: TAPE_WRITER,
      clockScale: 1000,
      policy: { policy: 'fixed', fixedBatchImages: 8 },
      heartbeat: { intervalMs: 500, timeoutMs: 10_000 },
    });
    dup = startDuplicator(inst.configFile);
    sched = new TestScheduler(inst);
    const d = dup;
    await Promise.race([
      sched.ready,
      d.exited.then((e) => {
        throw new Error(`duplicator exited (${e.code}/${e.signal}): ${d.stderr().slice(-3000)}`);
      }),
    ]);
    const names = Object.keys(files);
    const reply = await sched.request({
      v: 1,
      type: 'submit',
      id: 'e2e1',
      images: names.map((n, i) => ({
        backupId: `i${i}`,
        sizeBytes: files[n]!.length,
        source: { kind: 'disk', dsu: 'dsu1', path: n },
      })),
      copies: 1,
      pool: 'default',
      priority: 50,
    });
    expect(reply.type, JSON.stringify(reply)).toBe('accepted');
    if (reply.type !== 'accepted') return;
    // Kill the writer of the first copy written, while its batch is open.
    const first = await sched.waitEvents((ev) =>
      ev.find(
        (e): e is Extract<DuplicatorEvent, { type: 'image-written' }> =>
          e.type === 'image-written' && e.requestId === reply.requestId,
      ),
    );
    const connected = logLines(d.stderr()).filter(
      (l) => l.msg === 'writer connected' && l.driveId === first.driveId,
    );
    const pid = Number(connected.at(-1)?.pid);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const done = await sched.waitEvents((ev) =>
      ev.find((e) => e.type === 'request-done' && e.requestId === reply.requestId),
    );
    expect(done, d.stderr().slice(-3000)).toMatchObject({ outcome: 'done', committed: IMAGES, failed: 0 });
    const committed = sched.events.filter(
      (e): e is Extract<DuplicatorEvent, { type: 'image-committed' }> => e.type === 'image-committed',
    );
    expect(committed).toHaveLength(IMAGES);
    expect(new Set(committed.map((e) => e.backupId)).size).toBe(IMAGES);
    for (const e of committed) {
      const i = Number(e.backupId.slice(1));
      expect(e.sha256).toBe(createHash('sha256').update(files[`e2e/i${i}.img`]!).digest('hex'));
    }
    // The killed writer's unsynced copies failed and were retried; none was committed before.
    const failed = sched.events.filter((e) => e.type === 'image-failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((f) => (f as { reason: string }).reason === 'WRITER_DIED')).toBe(true);
    for (const f of failed) {
      const failAt = sched.events.indexOf(f);
      const commitAt = sched.events.findIndex(
        (e) => e.type === 'image-committed' && e.backupId === (f as { backupId: string }).backupId,
      );
      expect(commitAt).toBeGreaterThan(failAt);
    }
    expect(new Set(committed.map((e) => e.driveId)).size).toBe(2);
  }, 180_000);
});
