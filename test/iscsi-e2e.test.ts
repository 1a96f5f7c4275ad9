/**
 * End to end over a real iSCSI tape target: the duplicator process spawns the real tape writers,
 * each driving one tgtd tape LUN through the native addon (`iscsi://127.0.0.1:<port>/<iqn>/<lun>`).
 *
 * 1. A duplication of 120 images to two LUNs: every image committed once; `tgtimg --op show` of each
 *    cartridge lists exactly the tape files, blocks and filemarks the SQLite catalog records; tapedup's
 *    reader verifies every image over iSCSI and restores images positioned from the catalog.
 * 2. tgtd killed mid-batch (SIGKILL) and started again: nothing that a sync did not cover is
 *    committed, the failed batch is requeued, and the request completes once the target is back.
 * 3. A drive spec naming an unreachable portal or a malformed target: the writer exits with a typed
 *    error that reaches the duplicator's log, and is restarted with growing delays, not in a loop.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuplicatorEvent } from '@tapedup/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  type CatalogedMedium,
  compareWithCatalog,
  readCatalog,
  restoreOverIscsi,
  verifyOverIscsi,
  withIscsiDevice,
} from './helpers/iscsi-duplication';
import { freePort, startTgtTarget, type TgtTarget, tgtSkipReason } from './helpers/tgt';
import { listCartridge } from './helpers/tgtimg-listing';

const skip = tgtSkipReason() ?? (existsSync(TAPE_WRITER) ? undefined : `${TAPE_WRITER} not built`);

const KiB = 1024;
const MiB = 1024 * KiB;
const FIRST = 120;
const SECOND = 100;

type Event<T extends DuplicatorEvent['type']> = Extract<DuplicatorEvent, { type: T }>;

/** 4 KiB .. ~300 KiB images, every 25th one 2 MiB (several blocks per image). */
function makeImages(prefix: string, count: number): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (let i = 0; i < count; i++) {
    const size = i % 25 === 7 ? 2 * MiB - i : 4 * KiB + ((i * 7919) % (300 * KiB));
    out[`${prefix}/i${i}.img`] = randomBytes(size);
  }
  return out;
}

const first = makeImages('first', FIRST);
const second = makeImages('second', SECOND);
const files = { ...first, ...second };
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const byBackupId = new Map(
  Object.entries(files).map(([path, data]) => [backupIdOf(path), { sha256: sha(data) }]),
);

/** `promise`, or a rejection naming `what` and the end of the processes' log once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number, what: string, d: RunningDuplicator): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: not within ${ms} ms\n${d.stderr().slice(-6000)}`));
    }, ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function tally(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

function backupIdOf(path: string): string {
  return path.replace(/\.img$/, '').replace('/', '-');
}

describe.skipIf(skip !== undefined)(
  `duplication to iSCSI tape LUNs on tgtd${skip === undefined ? '' : ` (skipped: ${skip})`}`,
  () => {
    let target: TgtTarget;
    let inst: Installation;
    let dup: RunningDuplicator | undefined;
    let sched: TestScheduler | undefined;
    const specs: string[] = [];
    const barcodes: string[] = [];

    beforeAll(async () => {
      ensureBuilt();
      target = await startTgtTarget({ luns: 2 });
      for (const lun of [1, 2]) {
        specs.push(`iscsi://127.0.0.1:${target.port}/${target.iqn}/${lun}`);
        barcodes.push((await listCartridge(target.cartridge(lun))).barcode);
      }
      inst = await makeInstallation(files, {
        writerMain: TAPE_WRITER,
        drives: specs.map((spec, i) => ({
          id: `d${i}`,
          spec,
          medium: { barcode: barcodes[i], pool: 'default' },
        })),
        library: { pools: { default: { cartridges: 1, capacityBytes: 256 * 1_000_000 } } },
        // Batches long enough that the kill below lands inside one even when this process lags behind.
        policy: { policy: 'fixed', fixedBatchImages: 24 },
        heartbeat: { intervalMs: 500, timeoutMs: 20_000, startupTimeoutMs: 30_000 },
        retry: { maxAttempts: 5, backoffMs: 200, maxBackoffMs: 2000 },
        startupSettleMs: 10_000,
      });
    }, 60_000);

    afterAll(async () => {
      await stopDuplicator();
      await target?.stop();
      if (inst) await rm(inst.dir, { recursive: true, force: true });
    });

    async function startDup(): Promise<{ dup: RunningDuplicator; sched: TestScheduler }> {
      const d = startDuplicator(inst.configFile);
      const s = new TestScheduler(inst);
      dup = d;
      sched = s;
      await Promise.race([
        s.ready,
        d.exited.then((e) => {
          throw new Error(`duplicator exited (${e.code}/${e.signal}): ${d.stderr().slice(-3000)}`);
        }),
      ]);
      return { dup: d, sched: s };
    }

    /** Graceful stop: the writers close their iSCSI sessions, so the LUNs can be read. */
    async function stopDuplicator(): Promise<void> {
      sched?.close();
      sched = undefined;
      if (dup && dup.child.exitCode === null && dup.child.signalCode === null) {
        dup.child.kill('SIGTERM');
        await dup.exited;
      }
      dup = undefined;
    }

    async function submit(s: TestScheduler, id: string, images: Record<string, Buffer>): Promise<string> {
      const reply = await s.request({
        v: 1,
        type: 'submit',
        id,
        images: Object.entries(images).map(([path, data]) => ({
          backupId: backupIdOf(path),
          sizeBytes: data.length,
          source: { kind: 'disk', dsu: 'dsu1', path },
        })),
        copies: 1,
        pool: 'default',
        priority: 50,
      });
      expect(reply.type, JSON.stringify(reply)).toBe('accepted');
      if (reply.type !== 'accepted') throw new Error('not accepted');
      return reply.requestId;
    }

    /** The catalog against tgtimg's listing and tapedup's reader, for every medium; the copies seen. */
    async function checkCartridges(): Promise<Map<string, CatalogedMedium>> {
      const media = readCatalog(join(inst.dir, 'state', 'catalog.sqlite'));
      for (const [i, barcode] of barcodes.entries()) {
        const medium = media.get(barcode);
        expect(medium, `catalog has ${barcode}`).toBeDefined();
        if (medium === undefined) continue;
        const listing = await listCartridge(target.cartridge(i + 1));
        expect(listing.barcode).toBe(barcode);
        expect(compareWithCatalog(listing, medium)).toEqual([]);
        for (const copy of medium.copies) expect(copy.sha256).toBe(byBackupId.get(copy.backupId)?.sha256);

        const spec = specs[i] as string;
        await withIscsiDevice(spec, async (device) => {
          const verified = await verifyOverIscsi(device);
          expect(verified.media[0]?.label?.barcode).toBe(barcode);
          expect(verified.ok, JSON.stringify(verified.media[0]?.problems)).toBe(true);
          // Exactly the committed copies are on the tape, each where the catalog says, each intact.
          const onTape = verified.images.map((im) => ({
            backupId: im.backupId,
            verdict: im.verdict,
            sha256: im.sha256,
            tapeFile: im.fragments[0]?.tapeFile,
            blockNumber: im.fragments[0]?.blockNumber,
          }));
          expect(onTape).toEqual(
            medium.copies.map((c) => ({
              backupId: c.backupId,
              verdict: 'ok',
              sha256: c.sha256,
              tapeFile: c.fileNumber,
              blockNumber: c.blockAddress,
            })),
          );
          // Restores positioned from the catalog: the last, the largest, and one near the start.
          const largest = [...medium.copies].sort((a, b) => b.size - a.size)[0];
          for (const copy of new Set([medium.copies.at(-1), largest, medium.copies[1]])) {
            if (copy === undefined) continue;
            expect(await restoreOverIscsi(device, copy)).toBe(byBackupId.get(copy.backupId)?.sha256);
          }
        });
      }
      return media;
    }

    it(`duplicates ${FIRST} images to two LUNs; tgtimg and tapedup's reader agree with the catalog`, async () => {
      const started = Date.now();
      const { dup: d, sched: s } = await startDup();
      const requestId = await submit(s, 'iscsi-1', first);
      const done = await s.waitEvents((ev) =>
        ev.find((e): e is Event<'request-done'> => e.type === 'request-done' && e.requestId === requestId),
      );
      expect(done, d.stderr().slice(-4000)).toMatchObject({ outcome: 'done', committed: FIRST, failed: 0 });
      const committed = s.events.filter(
        (e): e is Event<'image-committed'> => e.type === 'image-committed' && e.requestId === requestId,
      );
      expect(new Set(committed.map((e) => e.backupId)).size).toBe(FIRST);
      expect(new Set(committed.map((e) => e.driveId))).toEqual(new Set(['d0', 'd1']));
      // Each drive wrote on the cartridge loaded in its LUN.
      for (const e of committed) expect(e.medium).toBe(barcodes[Number(e.driveId.slice(1))]);
      for (const e of committed) expect(e.sha256).toBe(byBackupId.get(e.backupId)?.sha256);
      const written = Date.now() - started;

      await stopDuplicator();
      const media = await checkCartridges();
      const total = [...media.values()].reduce((n, m) => n + m.copies.length, 0);
      expect(total).toBe(FIRST);
      console.info(
        `[iscsi-e2e] ${FIRST} images (${(Object.values(first).reduce((n, b) => n + b.length, 0) / MiB).toFixed(1)} MiB) ` +
          `committed in ${written} ms; cartridges checked in ${Date.now() - started - written} ms`,
      );
    }, 240_000);

    it('tgtd killed mid-batch: nothing unsynced is committed, the batch is requeued, all complete after it returns', async () => {
      const started = Date.now();
      const { dup: d, sched: s } = await startDup();
      const requestId = await submit(s, 'iscsi-2', second);
      // Stop tgtd (SIGSTOP, then SIGKILL as a crash) while a batch is open early: one to six copies
      // of the second request written and reported on a drive since its last commit, so its sync
      // (after the 24th) cannot have happened yet.
      const pid = await target.pid();
      const openBatch = (ev: DuplicatorEvent[]): string[] | undefined => {
        for (const driveId of ['d0', 'd1']) {
          const mine = ev.filter(
            (e) => 'requestId' in e && e.requestId === requestId && 'driveId' in e && e.driveId === driveId,
          );
          const lastCommit = mine.findLastIndex((e) => e.type === 'image-committed');
          const written = mine
            .slice(lastCommit + 1)
            .filter((e): e is Event<'image-written'> => e.type === 'image-written')
            .map((e) => e.backupId);
          if (written.length >= 1 && written.length <= 6 && mine.length > 12) return written;
        }
        return undefined;
      };
      const unsynced = await s.waitEvents(openBatch);
      process.kill(pid, 'SIGSTOP');
      const killedAt = s.events.length;
      await target.kill();
      const failedOnce = await within(
        s.waitEvents((ev) =>
          ev.slice(killedAt).find((e): e is Event<'image-failed'> => e.type === 'image-failed'),
        ),
        60_000,
        'a copy failed after tgtd was killed',
        d,
      );
      expect(failedOnce.retryable).toBe(true);
      await target.resume();
      const done = await within(
        s.waitEvents((ev) =>
          ev.find((e): e is Event<'request-done'> => e.type === 'request-done' && e.requestId === requestId),
        ),
        120_000,
        'the request completed after tgtd came back',
        d,
      );
      expect(done, d.stderr().slice(-4000)).toMatchObject({ outcome: 'done', committed: SECOND, failed: 0 });

      const events = s.events.filter((e) => 'requestId' in e && e.requestId === requestId);
      const commits = events.filter((e): e is Event<'image-committed'> => e.type === 'image-committed');
      expect(commits).toHaveLength(SECOND);
      expect(new Set(commits.map((e) => e.backupId)).size).toBe(SECOND);
      // The copies the lost connection failed: none of them had been committed, each was committed
      // exactly once afterwards, on a retry. (A copy written just before the kill whose sync still
      // returned GOOD is committed without failing: its data was on the medium.)
      const after = s.events.slice(killedAt);
      const failedNow = after.filter(
        (e): e is Event<'image-failed'> => e.type === 'image-failed' && e.requestId === requestId,
      );
      expect(failedNow.length).toBeGreaterThan(0);
      // The copies written in the open batch when the target was frozen either failed with the lost
      // connection (and were retried), or their sync had already returned GOOD (under load the freeze can
      // land just after it). A copy committed and then failed would be a false report: never allowed.
      for (const b of unsynced) {
        const failedAt = s.events.findIndex(
          (e, i) => i >= killedAt && e.type === 'image-failed' && e.backupId === b,
        );
        if (failedAt < 0) continue;
        const committedBefore = s.events.some(
          (e, i) =>
            i < failedAt && e.type === 'image-committed' && e.requestId === requestId && e.backupId === b,
        );
        expect(committedBefore, `${b} was committed before its failure`).toBe(false);
      }
      for (const f of failedNow) {
        const at = s.events.indexOf(f);
        const commitsOf = s.events
          .map((e, i) => ({ e, i }))
          .filter(({ e }) => e.type === 'image-committed' && e.backupId === f.backupId);
        expect(commitsOf.map(({ i }) => i > at)).toEqual([true]);
        expect(f.reason).toMatch(/^TRANSPORT_/);
      }
      expect(failedNow.every((f) => f.retryable)).toBe(true);
      const lines = logLines(d.stderr());
      // The writers stayed up: their devices waited for the target and reconnected.
      expect(lines.filter((l) => typeof l.msg === 'string' && /writer exited/.test(l.msg))).toEqual([]);
      const reconnected = new Set(lines.filter((l) => l.msg === 'device reconnected').map((l) => l.driveId));
      expect(reconnected.size).toBeGreaterThan(0);
      const recovered = Date.now() - started;

      await stopDuplicator();
      const media = await checkCartridges();
      const total = [...media.values()].reduce((n, m) => n + m.copies.length, 0);
      expect(total).toBe(FIRST + SECOND);
      console.info(
        `[iscsi-e2e] kill/resume: ${failedNow.length} copy failures retried ` +
          `(${JSON.stringify(tally(failedNow.map((f) => `${f.reason} attempt ${f.attempt}`)))}), ` +
          `${reconnected.size} drive(s) reconnected; ${SECOND} images done in ${recovered} ms`,
      );
    }, 240_000);

    it('an unreachable portal, a wrong target, a wrong path or a bad spec: a typed error in the log, restarts with backoff', async () => {
      const port = await freePort();
      const bad = await makeInstallation(
        {},
        {
          writerMain: TAPE_WRITER,
          drives: [
            { id: 'refused', spec: `iscsi://127.0.0.1:${port}/${target.iqn}/1` },
            { id: 'nologin', spec: `iscsi://127.0.0.1:${target.port}/iqn.2024-01.io.tapedup:nobody/1` },
            { id: 'nodev', spec: 'sg:/dev/tapedup-no-such-sg' },
            { id: 'badiqn', spec: `iscsi://127.0.0.1:${target.port}/not-an-iqn/1` },
          ],
          library: { pools: { default: { cartridges: 1, capacityBytes: 256 * 1_000_000 } } },
          dsu: { dsu1: inst.dsu },
          restart: { initialMs: 100, maxMs: 800, factor: 2, healthyMs: 60_000 },
          startupSettleMs: 0,
        },
      );
      const d = startDuplicator(bad.configFile);
      try {
        const expected = [
          ['refused', { type: 'ScsiTransportError', errno: 'ECONNREFUSED', category: 'transport' }],
          ['nologin', { type: 'ScsiTransportError', errno: 'ELOGIN', category: 'transport' }],
          ['nodev', { type: 'ScsiTransportError', errno: 'ENOENT', category: 'transport' }],
          ['badiqn', { type: 'DeviceSpecError', code: 'SPEC_BAD_IQN' }],
        ] as const;
        // Four exits per drive: each one logged with the delay before the next start.
        const exits = (driveId: string) =>
          logLines(d.stderr()).filter((l) => l.driveId === driveId && typeof l.restartInMs === 'number');
        await new Promise<void>((resolve, reject) => {
          const check = () => {
            if (expected.every(([driveId]) => exits(driveId).length >= 4)) return resolve();
            if (d.child.exitCode !== null) return reject(new Error(`duplicator exited: ${d.stderr()}`));
            setImmediate(() => d.child.stderr?.once('data', check));
          };
          check();
        });
        expect(d.child.exitCode, 'the duplicator keeps running').toBeNull();
        const lines = logLines(d.stderr());
        for (const [driveId, error] of expected) {
          const fatal = lines.filter((l) => l.driveId === driveId && l.msg === 'cannot open the drive');
          expect(fatal.length).toBeGreaterThanOrEqual(4);
          expect(fatal[0]?.err).toMatchObject(error);
          const delays = exits(driveId).map((l) => Number(l.restartInMs));
          expect(exits(driveId).every((l) => l.code === 1)).toBe(true);
          // Exponential backoff: 100, 200, 400, 800 (the cap), never a tight loop.
          expect(delays.slice(0, 4)).toEqual([100, 200, 400, 800]);
        }
      } finally {
        if (d.child.exitCode === null) {
          d.child.kill('SIGTERM');
          await d.exited;
        }
        await rm(bad.dir, { recursive: true, force: true });
      }
    }, 60_000);
  },
);
