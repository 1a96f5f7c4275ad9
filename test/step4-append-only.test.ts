/**
 * Step 4, append-only mode end to end: the drive's writer runs with `drives[].writer.appendOnly`, so
 * it turns SSC-4 append-only mode on at mount. A scripted sync failure fails the first batch; the
 * duplicator resumes at the catalog's committed end and the writer authorises exactly that
 * overwrite with ALLOW OVERWRITE (seen in the drive's command log) before writing again: every image
 * commits and restores. On the written cartridge, an overwrite of committed data without ALLOW
 * OVERWRITE is refused with a data-protect error, and succeeds once authorised.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ScsiError } from '@tapedup/scsi';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  type Installation,
  makeInstallation,
  type RunningDuplicator,
  startDuplicator,
  TAPE_WRITER,
  TestScheduler,
} from '../packages/duplicator/src/testing/process-harness';
import {
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

const IMAGES = 6;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const files: Record<string, Buffer> = {};
for (let i = 0; i < IMAGES; i++) files[`ao/i${i}.img`] = randomBytes(40_000 + i * 11_000);

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

describe.skipIf(!existsSync(TAPE_WRITER))('append-only mode', () => {
  it('recovers a failed batch with ALLOW OVERWRITE at the resume point; an unauthorised overwrite is refused', async () => {
    ensureBuilt();
    dir = await mkdtemp('/tmp/s4a-');
    const libraryDir = join(dir, 'lib');
    const log = join(dir, 'd0.log');
    inst = await makeInstallation(files, {
      writerMain: TAPE_WRITER,
      clockScale: 200,
      drives: [
        {
          id: 'd0',
          spec: `virtual:${libraryDir}#drive0`,
          writer: { appendOnly: true, logFile: log, logLevel: 'debug' },
          // Sync 1 is the label's synchronous filemark at mount, 2 the first batch's.
          faults: { scripted: [{ kind: 'sync-failure', trigger: { op: 'sync', nth: 2 } }] },
        },
      ],
      library: { pools: { default: { cartridges: 2, capacityBytes: 2_000_000_000 } } },
      policy: { policy: 'fixed', fixedBatchImages: 3 },
      heartbeat: { intervalMs: 500, timeoutMs: 20_000 },
    });
    dup = startDuplicator(inst.configFile);
    sched = new TestScheduler(inst);
    const d = dup;
    const s = sched;
    await schedulerReady(s, d);
    const reply = await submitFiles(s, 'ao1', files, 1);
    expect(reply.type, JSON.stringify(reply)).toBe('accepted');
    if (reply.type !== 'accepted') return;
    const done = await requestDone(s, d, reply.requestId);
    expect(done, d.stderr().slice(-4000)).toMatchObject({ outcome: 'done', committed: IMAGES, failed: 0 });
    const failed = eventsOf(s, 'image-failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f).toMatchObject({ retryable: true, attempt: 1 });
    await stopDuplicator(d);

    const committed = eventsOf(s, 'image-committed');
    const committed0Block = () => Math.min(...committed.map((c) => c.blockAddress));
    const commands = driveCommands(await readLog(log));
    expect(commands.some((c) => c.op === 'setAppendOnly' && c.args.enabled === true)).toBe(true);
    const failedSync = commands.findIndex((c) => c.op === 'writeFilemarks' && c.error !== undefined);
    expect(failedSync).toBeGreaterThan(0);
    // After the failure, the first write is preceded by ALLOW OVERWRITE for exactly the block it starts at.
    const after = commands.slice(failedSync + 1);
    const allow = after.findIndex((c) => c.op === 'allowOverwrite');
    expect(allow).toBeGreaterThanOrEqual(0);
    const firstWrite = after.findIndex((c) => c.op === 'writeBlock');
    expect(firstWrite).toBeGreaterThan(allow);
    const located = after
      .slice(0, allow)
      .filter((c) => c.op === 'locate')
      .at(-1);
    expect(located?.args.blockNumber).toBe(after[allow]!.args.blockNumber);
    // That is the data area's start: nothing was committed before the failed batch.
    expect(after[allow]!.args.blockNumber).toBe(committed0Block());
    // No write after the failure was refused: every overwrite was authorised.
    expect(after.filter((c) => c.error?.category === 'data-protect')).toEqual([]);

    const barcodes = [...new Set(committed.map((c) => c.medium))];
    expect(barcodes).toHaveLength(1);
    const media = await openMedia(libraryDir, barcodes);
    try {
      for (const c of committed) {
        const r = await restoreCopy(media, barcodes, c);
        expect(sha(r.bytes), c.backupId).toBe(sha(files[`ao/${c.backupId}.img`]!));
      }
      // On the written cartridge: overwriting committed data needs ALLOW OVERWRITE.
      const drive = media.devices[0]!;
      await drive.setAppendOnly(true);
      const target = committed[0]!.blockAddress;
      await drive.locate(target);
      const refused = await drive.writeBlock(new Uint8Array(512)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(ScsiError);
      expect((refused as ScsiError).category).toBe('data-protect');
      await drive.locate(target);
      await drive.allowOverwrite(target);
      await expect(drive.writeBlock(new Uint8Array(512))).resolves.toBeDefined();
    } finally {
      await media.close();
    }
  }, 180_000);
});
