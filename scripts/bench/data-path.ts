/**
 * Data path, real time: disk-storage-unit files through real tape-writer processes (read, CRC32C
 * per block, SHA-256 per image, tape framing) into virtual drives with the rate model off, against
 * `dd bs=1M` copying the same files to the same filesystem, in the same run, alternating, with one
 * drive and with two in parallel (two writers or two dd chains, half the files each).
 *
 * Both sides read page-cache-warm files (just written, no cache dropped). The writer's time ends
 * at `batch-synced`, i.e. after the cartridge file's fdatasync; so `dd` is timed twice: to its
 * exit (page cache only) and to the end of a `sync` of its output files (the same durability).
 * Each side starts its clock a few seconds after the previous side's output was deleted (see `Leftover`).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { type AssignItem, makeMessage } from '@tapedup/protocol';
import {
  MB,
  makeLibrary,
  median,
  orExit,
  startMountedWriter,
  stopWriter,
  type WriterProcess,
  WriterRouter,
} from './processes';

const run = promisify(execFile);

export interface DataPathSizes {
  files: number;
  fileBytes: number;
  repetitions: number;
}

export interface DataPathRow {
  readonly drives: 1 | 2;
  readonly totalBytes: number;
  readonly repetitions: number;
  /** Medians over the repetitions, MB/s (10^6 bytes). */
  readonly writerMBps: number;
  readonly ddMBps: number;
  readonly ddSyncedMBps: number;
  /** writer ÷ dd (each the median). */
  readonly ratio: number;
  readonly ratioSynced: number;
  /** Every repetition, seconds. */
  readonly writerSeconds: readonly number[];
  readonly ddSeconds: readonly number[];
  readonly ddSyncedSeconds: readonly number[];
}

/** Writes `files` files of `fileBytes` into `dir` (a random 8 MiB pattern repeated). */
export function makeFiles(dir: string, files: number, fileBytes: number): string[] {
  mkdirSync(dir, { recursive: true });
  const chunk = randomBytes(8 * 1024 * 1024);
  const names: string[] = [];
  for (let i = 0; i < files; i++) {
    const name = `img${String(i).padStart(3, '0')}`;
    const parts: Buffer[] = [];
    for (let left = fileBytes; left > 0; left -= chunk.length)
      parts.push(chunk.subarray(0, Math.min(left, chunk.length)));
    // Unique first bytes per file so no two images are identical.
    const first = Buffer.from(parts[0]!);
    first.write(name, 0, 'latin1');
    parts[0] = first;
    writeFileSync(join(dir, name), Buffer.concat(parts));
    names.push(name);
  }
  return names;
}

/** Flushes dirty pages so each timed run starts from the same state (caches are kept, not dropped). */
async function settle(): Promise<void> {
  await run('sync');
}

/** How long freed memory takes to go back to the host (measured on the bench machine, see `Leftover`). */
const FREED_MEMORY_SETTLE_MS = 4000;

/**
 * The output of the last timed run (a cartridge library or dd's copies), deleted before the next
 * timed run, which then waits until the freed memory has settled. On a virtual machine that hands
 * free memory back to its host (virtio-balloon free page reporting, from about 2 s after it is
 * freed) writing into the page cache costs several times the CPU once the freed pages are gone:
 * 1 GB took 0.26 CPU-s right after a delete, 0.55 s one or two seconds later and 0.85 s after 3 s
 * or more on the bench machine. A run that starts right after a delete is fast only while it is
 * short, which favoured dd (it started right after the writer's cartridge was deleted, the writer
 * after seconds of process setup); with the wait, both sides write into settled memory.
 */
export class Leftover {
  #path: string | undefined;

  /** `path` is the newest output: the one deleted at the next {@link release}. */
  keep(path: string): void {
    this.discard();
    this.#path = path;
  }

  /** Deletes the last output, if any, without waiting. */
  discard(): void {
    if (this.#path !== undefined) rmSync(this.#path, { recursive: true, force: true });
    this.#path = undefined;
  }

  /** Deletes the last output, if any, and waits until its memory settled. */
  async release(): Promise<void> {
    if (this.#path === undefined) return;
    rmSync(this.#path, { recursive: true, force: true });
    this.#path = undefined;
    await delay(FREED_MEMORY_SETTLE_MS);
  }
}

/** One `sh` per lane copying its files one after the other with dd; seconds to exit and to synced. */
export async function ddRun(
  lanes: readonly string[][],
  dsu: string,
  out: string,
  leftover: Leftover,
): Promise<[number, number]> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await settle();
  await leftover.release();
  const t0 = performance.now();
  let copied = 0;
  await Promise.all(
    lanes.map(
      (names) =>
        new Promise<void>((ok, fail) => {
          const script = names
            .map((n) => `dd if='${join(dsu, n)}' of='${join(out, n)}' bs=1M status=none`)
            .join(' && ');
          const p = spawn('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          p.stderr.on('data', (d: Buffer) => {
            err += d.toString();
          });
          p.once('exit', (code) => {
            if (code === 0) {
              copied = Math.max(copied, performance.now() - t0);
              ok();
            } else fail(new Error(`dd lane failed (${code}): ${err}`));
          });
        }),
    ),
  );
  // The same durability as the writer's batch-synced: fdatasync of every output file.
  await run('sync', ['-d', ...lanes.flat().map((n) => join(out, n))]);
  const synced = performance.now() - t0;
  leftover.keep(out);
  return [copied / 1000, synced / 1000];
}

/** Fresh library and writers per repetition; time from the assigns to the last batch-synced. */
export async function writerRun(
  base: string,
  rep: number,
  lanes: readonly string[][],
  dsu: string,
  fileBytes: number,
  leftover: Leftover,
): Promise<number> {
  const dir = join(base, `w${lanes.length}-${rep}`);
  mkdirSync(dir, { recursive: true });
  const driveNames = lanes.map((_, i) => `drive${i}`);
  const barcodes = await makeLibrary(join(dir, 'lib'), driveNames, lanes.length, 1e12);
  const endpoint = `ipc://${join(dir, 'w.sock')}`;
  const router = await WriterRouter.bind(endpoint);
  const writers: WriterProcess[] = [];
  try {
    for (const [i, drive] of driveNames.entries()) {
      writers.push(
        await startMountedWriter(router, {
          driveId: `d${i}`,
          drive: `virtual:${join(dir, 'lib')}#${drive}`,
          endpoint,
          dsu,
          barcode: barcodes[i]!,
        }),
      );
    }
    await settle();
    await leftover.release();
    const synced = writers.map((w) => router.find('batch-synced', (m) => m.batchId === `B-${w.driveId}`));
    const t0 = performance.now();
    await Promise.all(
      writers.map(async (w, i) => {
        const items: AssignItem[] = lanes[i]!.map((name) => ({
          copyId: `${w.driveId}-${name}`,
          requestId: 'bench',
          backupId: name,
          copy: 1,
          sizeBytes: fileBytes,
          source: { kind: 'disk', dsu: 'main', path: name },
          priority: 50,
          attempt: 1,
          decision: 'defer',
          reason: 'bench: one batch',
        }));
        await router.send(
          w.driveId,
          makeMessage('assign', { id: `a-${w.driveId}`, medium: barcodes[i]!, items }),
        );
        await router.send(
          w.driveId,
          makeMessage('sync-now', { id: `s-${w.driveId}`, batchId: `B-${w.driveId}` }),
        );
      }),
    );
    const results = await orExit(Promise.all(synced), writers);
    const seconds = (performance.now() - t0) / 1000;
    for (const [i, r] of results.entries()) {
      if (r.committed.length !== lanes[i]!.length) {
        throw new Error(`${r.batchId}: ${r.committed.length} copies committed, ${lanes[i]!.length} expected`);
      }
    }
    return seconds;
  } finally {
    for (const w of writers) await stopWriter(router, w);
    router.close();
    leftover.keep(dir);
  }
}

export async function runDataPath(
  base: string,
  sizes: DataPathSizes,
  progress: (line: string) => void = () => {},
): Promise<DataPathRow[]> {
  const dsu = join(base, 'dsu');
  const names = makeFiles(dsu, sizes.files, sizes.fileBytes);
  const totalBytes = sizes.files * sizes.fileBytes;
  const rows: DataPathRow[] = [];
  const leftover = new Leftover();
  try {
    for (const drives of [1, 2] as const) {
      const lanes: string[][] = Array.from({ length: drives }, (_, i) =>
        names.filter((_, n) => n % drives === i),
      );
      const w: number[] = [];
      const d: number[] = [];
      const ds: number[] = [];
      for (let rep = 0; rep < sizes.repetitions; rep++) {
        w.push(await writerRun(base, rep, lanes, dsu, sizes.fileBytes, leftover));
        const [copied, synced] = await ddRun(lanes, dsu, join(base, `dd-out-${drives}-${rep}`), leftover);
        d.push(copied);
        ds.push(synced);
        progress(
          `data path, ${drives} drive(s), repetition ${rep + 1}: writer ${(totalBytes / MB / w.at(-1)!).toFixed(0)} MB/s, dd ${(totalBytes / MB / copied).toFixed(0)} MB/s (${(totalBytes / MB / synced).toFixed(0)} synced)`,
        );
      }
      const mbps = (s: number[]) => totalBytes / MB / median(s);
      rows.push({
        drives,
        totalBytes,
        repetitions: sizes.repetitions,
        writerMBps: mbps(w),
        ddMBps: mbps(d),
        ddSyncedMBps: mbps(ds),
        ratio: mbps(w) / mbps(d),
        ratioSynced: mbps(w) / mbps(ds),
        writerSeconds: w,
        ddSeconds: d,
        ddSyncedSeconds: ds,
      });
    }
  } finally {
    leftover.discard();
    rmSync(dsu, { recursive: true, force: true });
  }
  return rows;
}
