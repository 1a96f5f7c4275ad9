/**
 * Step 4, spanning end to end: small cartridges (3 MB) and a duplication of about 7 MB through the
 * built duplicator and a real tape writer (MPX 2). At early warning the writer ends the fragment,
 * syncs and reports the medium full; the duplicator marks it full, takes the next scratch cartridge
 * and continues the same copies there. Afterwards the tape-format reader restores every image from
 * the cartridges, following the ones that span from one cartridge to the next.
 */

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VirtualLibrary } from '@tapedup/virtual-drive';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ensureBuilt,
  type Installation,
  makeInstallation,
  ROOT,
  type RunningDuplicator,
  startDuplicator,
  TAPE_WRITER,
  TestScheduler,
} from '../packages/duplicator/src/testing/process-harness';
import {
  eventsOf,
  openMedia,
  readLog,
  requestDone,
  restoreCopy,
  schedulerReady,
  stopDuplicator,
  submitFiles,
} from './helpers/step4';

const IMAGES = 10;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const files: Record<string, Buffer> = {};
for (let i = 0; i < IMAGES; i++) files[`span/i${i}.img`] = randomBytes(600_000 + i * 23_000);

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

describe.skipIf(!existsSync(TAPE_WRITER))('a duplication larger than one cartridge', () => {
  it('spans cartridges and every image restores byte-identical across them', async () => {
    ensureBuilt();
    dir = await mkdtemp('/tmp/s4s-');
    const writerLog = join(dir, 'd0.log');
    const libraryDir = join(dir, 'lib');
    inst = await makeInstallation(files, {
      writerMain: TAPE_WRITER,
      clockScale: 200,
      drives: [
        {
          id: 'd0',
          spec: `virtual:${libraryDir}#drive0`,
          writer: { mpx: 2, minFragmentMs: 0, logFile: writerLog },
        },
      ],
      library: { pools: { default: { cartridges: 4, capacityBytes: 3_000_000 } } },
      policy: { policy: 'fixed', fixedBatchImages: 4 },
      heartbeat: { intervalMs: 500, timeoutMs: 10_000 },
    });
    dup = startDuplicator(inst.configFile);
    sched = new TestScheduler(inst);
    const d = dup;
    const s = sched;
    await schedulerReady(s, d);
    const reply = await submitFiles(s, 'span1', files, 1);
    expect(reply.type, JSON.stringify(reply)).toBe('accepted');
    if (reply.type !== 'accepted') return;
    const done = await requestDone(s, d, reply.requestId);
    expect(done, d.stderr().slice(-4000)).toMatchObject({ outcome: 'done', committed: IMAGES, failed: 0 });
    // Nothing failed on the way: the copy cut at early warning continued, it was not restarted.
    expect(eventsOf(s, 'image-failed')).toEqual([]);
    const committed = eventsOf(s, 'image-committed');
    expect(committed).toHaveLength(IMAGES);

    await stopDuplicator(d);
    const lines = await readLog(writerLog);
    const full = lines.filter((l) => l.msg === 'early warning: medium full');
    expect(full.length).toBeGreaterThanOrEqual(1);
    expect(lines.some((l) => l.msg === 'continuing copy on a new medium')).toBe(true);

    // The cartridges in the order the writer mounted them; the first one(s) ended full.
    const used = [...new Set(lines.filter((l) => l.msg === 'medium ready').map((l) => String(l.medium)))];
    expect(used.length).toBeGreaterThanOrEqual(2);
    const library = await VirtualLibrary.open(libraryDir);
    const states = new Map((await library.list()).map((c) => [c.barcode, c.state]));
    for (const b of used.slice(0, full.length)) expect(states.get(b)).toBe('full');

    const media = await openMedia(libraryDir, used);
    const spannedIds: string[] = [];
    try {
      const spanned = spannedIds;
      for (const c of committed) {
        const r = await restoreCopy(media, used, c);
        expect(r.sha256).toBe(c.sha256);
        expect(sha(r.bytes), c.backupId).toBe(sha(files[`span/${c.backupId}.img`]!));
        if (r.media.length > 1) spanned.push(c.backupId);
      }
      // At least one image lies on two cartridges, and it restored whole.
      expect(spanned.length).toBeGreaterThanOrEqual(1);
    } finally {
      await media.close();
    }

    // The `tapedup` command reads across cartridges too, from the catalog's fragments.
    const cli = join(ROOT, 'packages/cli/dist/main.js');
    if (!existsSync(cli)) return;
    const cliConfig = join(dir, 'cli.json');
    await writeFile(
      cliConfig,
      JSON.stringify({
        stateDir: join(inst.dir, 'state'),
        drives: [{ id: 'd0', spec: `virtual:${libraryDir}#drive0` }],
        library: { dir: libraryDir, pools: { default: { cartridges: 4, capacityBytes: 3_000_000 } } },
        dsu: { dsu1: inst.dsu },
      }),
    );
    const run = (args: string[]) =>
      JSON.parse(
        execFileSync(process.execPath, [cli, ...args, '--json', '--config', cliConfig], { encoding: 'utf8' }),
      );
    for (const backupId of spannedIds) {
      const out = join(dir, `${backupId}.out`);
      const restored = run(['restore', backupId, '--out', out]) as { media: string[] };
      expect(restored.media.length, backupId).toBeGreaterThanOrEqual(2);
      expect(sha(await readFile(out))).toBe(sha(files[`span/${backupId}.img`]!));
    }
    const verified = run(['verify']) as {
      ok: boolean;
      checked: number;
      verified: number;
      mismatches: unknown[];
    };
    expect(verified).toMatchObject({ ok: true, checked: IMAGES, verified: IMAGES, mismatches: [] });
  }, 180_000);
});
