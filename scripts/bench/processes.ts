/**
 * What the real-time benchmarks share: the built entry points, a virtual library, a tape-writer
 * process driven over its DEALER by a ROUTER in the bench (the duplicator's side of the protocol),
 * /proc memory figures, and the statistics every table uses.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeMessage } from '@tapedup/protocol';
import { VirtualLibrary } from '@tapedup/virtual-drive';
import { WriterRouter } from '../../packages/tape-writer/src/testing/writer-router';

export const ROOT = join(import.meta.dirname, '..', '..');
export const WRITER_MAIN = join(ROOT, 'packages/tape-writer/dist/main.js');
export const DUPLICATOR_MAIN = join(ROOT, 'packages/duplicator/dist/main.js');
const DISK_WORKER = join(ROOT, 'packages/tape-writer/dist/sources/disk-worker.js');

/**
 * The profile of the writer's virtual drive in the real-time benches: \`untimed\` turns the rate model
 * off, so what is measured is the host's work (reading, checksumming, framing, the cartridge file).
 */
export const BENCH_DRIVE_PROFILE = 'untimed';

/** Builds the bundled entry points (writer, its piscina worker, duplicator) unless they exist. */
export function ensureBuilt(): void {
  if (existsSync(WRITER_MAIN) && existsSync(DISK_WORKER) && existsSync(DUPLICATOR_MAIN)) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'ignore' });
}

/** Peak and current resident set of a live process, from /proc/<pid>/status, in bytes. */
export function memoryOf(pid: number): { peakBytes: number; rssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    if (m?.[1] === undefined) throw new Error(`/proc/${pid}/status has no ${key}`);
    return Number(m[1]) * 1024;
  };
  return { peakBytes: kb('VmHWM'), rssBytes: kb('VmRSS') };
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Nearest-rank quantile (the rule the writer's own percentiles use). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export const MB = 1e6;

/** A virtual library of `drives` drives and `cartridges` blank cartridges in pool `bench`. */
export async function makeLibrary(
  dir: string,
  drives: readonly string[],
  cartridges: number,
  capacityBytes: number,
): Promise<string[]> {
  const library = await VirtualLibrary.open(dir, {
    pools: { bench: cartridges },
    drives: [...drives],
    capacityBytes,
  });
  return (await library.list()).map((c) => c.barcode);
}

export interface WriterProcess {
  readonly driveId: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

export interface WriterSpawn {
  driveId: string;
  /** `virtual:<library>#<drive>` */
  drive: string;
  endpoint: string;
  dsu: string;
  logFile?: string;
}

/** Starts `node packages/tape-writer/dist/main.js` on a virtual drive with the rate model off. */
export function spawnWriter(o: WriterSpawn): WriterProcess {
  const args = [
    // Extra node flags for the writer (e.g. --cpu-prof, --trace-gc) when profiling it under the bench.
    ...(process.env.TAPEDUP_BENCH_WRITER_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0),
    // Another build of the writer (e.g. an older commit's) to compare against in the same run.
    process.env.TAPEDUP_BENCH_WRITER ?? WRITER_MAIN,
    '--drive-id',
    o.driveId,
    '--drive',
    o.drive,
    '--connect',
    o.endpoint,
    '--dsu',
    `main=${o.dsu}`,
    '--profile',
    BENCH_DRIVE_PROFILE,
    '--log-level',
    o.logFile === undefined ? 'warn' : 'info',
    ...(o.logFile === undefined ? [] : ['--log-file', o.logFile]),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 1_000_000) err = err.slice(-500_000);
  });
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  if (child.pid === undefined) throw new Error(`cannot start ${WRITER_MAIN}`);
  return { driveId: o.driveId, child, pid: child.pid, exited, stderr: () => err };
}

/** Starts the writer, awaits its hello and mounts `barcode` (labelling it): ready to take work. */
export async function startMountedWriter(
  router: WriterRouter,
  o: WriterSpawn & { barcode: string },
): Promise<WriterProcess> {
  const hello = router.find('hello', (m) => m.driveId === o.driveId);
  const writer = spawnWriter(o);
  const exitedEarly = writer.exited.then((code) => {
    throw new Error(`writer ${o.driveId} exited (${code}) before its hello: ${writer.stderr().slice(-2000)}`);
  });
  await Promise.race([hello, exitedEarly]);
  const id = `mount-${o.driveId}-${o.barcode}`;
  const mounted = router.find('mounted', (m) => m.re === id);
  await router.send(o.driveId, makeMessage('mount', { id, barcode: o.barcode }));
  await Promise.race([mounted, exitedEarly]);
  void exitedEarly.catch(() => undefined);
  return writer;
}

/** Graceful shutdown over the protocol; resolves with the exit code. */
export async function stopWriter(router: WriterRouter, writer: WriterProcess): Promise<number | null> {
  if (writer.child.exitCode !== null) return writer.child.exitCode;
  await router.send(
    writer.driveId,
    makeMessage('shutdown', { id: `stop-${writer.driveId}-${writer.pid}`, graceful: true, reason: 'bench' }),
  );
  return writer.exited;
}

/** Rejects with the writer's stderr when it exits before `work` settles. */
export function orExit<T>(work: Promise<T>, writers: readonly WriterProcess[]): Promise<T> {
  return Promise.race([
    work,
    ...writers.map((w) =>
      w.exited.then((code): T => {
        throw new Error(`writer ${w.driveId} exited (${code}): ${w.stderr().slice(-2000)}`);
      }),
    ),
  ]);
}

export { WriterRouter };
