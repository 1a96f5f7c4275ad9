/**
 * Helpers of the step 4 end-to-end tests: a duplicator process with real tape writers on virtual
 * drives, the writers' own log files (pino JSON, the virtual drive's command log at debug level),
 * and the tape-format reader over the cartridges once the processes have stopped.
 */
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuplicatorEvent } from '@tapedup/protocol';
import { type Analysis, analyseMedia, restoreImage } from '@tapedup/tape-format';
import { CollectingSink } from '@tapedup/tape-format/testing';
import { VirtualClock, VirtualDrive, VirtualLibrary } from '@tapedup/virtual-drive';
import type { RunningDuplicator, TestScheduler } from '../../packages/duplicator/src/testing/process-harness';

export type Ev<T extends DuplicatorEvent['type']> = Extract<DuplicatorEvent, { type: T }>;

export function eventsOf<T extends DuplicatorEvent['type']>(sched: TestScheduler, type: T): Ev<T>[] {
  return sched.events.filter((e): e is Ev<T> => e.type === type);
}

/** Resolves once the scheduler's sockets are connected, or rejects when the duplicator exits first. */
export function schedulerReady(sched: TestScheduler, dup: RunningDuplicator): Promise<void> {
  return Promise.race([
    sched.ready,
    dup.exited.then((e) => {
      throw new Error(`duplicator exited (${e.code}/${e.signal}): ${dup.stderr().slice(-3000)}`);
    }),
  ]);
}

/** Submits every file of the test's DSU (`dsu1`) as disk images `i0`, `i1`, … in one request. */
export function submitFiles(
  sched: TestScheduler,
  id: string,
  files: Record<string, Buffer>,
  copies: number,
): ReturnType<TestScheduler['request']> {
  return sched.request({
    v: 1,
    type: 'submit',
    id,
    images: Object.keys(files).map((n, i) => ({
      backupId: `i${i}`,
      sizeBytes: files[n]!.length,
      source: { kind: 'disk' as const, dsu: 'dsu1', path: n },
    })),
    copies,
    pool: 'default',
    priority: 50,
  });
}

/** Resolves with the request's `request-done`, or rejects when the duplicator exits first. */
export function requestDone(
  sched: TestScheduler,
  dup: RunningDuplicator,
  requestId: string,
): Promise<Ev<'request-done'>> {
  return Promise.race([
    sched.waitEvents((ev) =>
      ev.find((e): e is Ev<'request-done'> => e.type === 'request-done' && e.requestId === requestId),
    ),
    dup.exited.then((e) => {
      throw new Error(`duplicator exited (${e.code}/${e.signal}): ${dup.stderr().slice(-3000)}`);
    }),
  ]);
}

export type LogLine = Record<string, unknown> & { msg?: string; time?: number };

export async function readLog(path: string): Promise<LogLine[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      return [JSON.parse(l) as LogLine];
    } catch {
      return [];
    }
  });
}

/** Resolves when `pick` finds something in the log file, re-reading it on every change (fs.watch). */
export async function waitForLog<T>(path: string, pick: (lines: LogLine[]) => T | undefined): Promise<T> {
  const dir = join(path, '..');
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let checking = false;
    let again = false;
    const watcher = watch(dir, () => void check());
    const check = async (): Promise<void> => {
      if (done) return;
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        const found = pick(await readLog(path));
        if (found !== undefined) {
          done = true;
          watcher.close();
          resolve(found);
        }
      } catch (error) {
        done = true;
        watcher.close();
        reject(error);
      } finally {
        checking = false;
        if (again && !done) {
          again = false;
          void check();
        }
      }
    };
    void check();
  });
}

/** The virtual drive's command log entries (debug level) in a writer's log. */
export interface DriveCommand {
  op: string;
  args: Record<string, unknown>;
  start: number;
  end: number;
  /** Wall-clock epoch ms of the log line (when the command finished). */
  time: number;
  error?: { code: string; category: string };
}

export function driveCommands(lines: LogLine[]): DriveCommand[] {
  return lines.filter((l) => l.msg === 'command' && typeof l.op === 'string') as unknown as DriveCommand[];
}

export interface OpenedMedia {
  devices: VirtualDrive[];
  close(): Promise<void>;
}

/** Opens cartridges of a virtual library (in the order given) on untimed reader drives. */
export async function openMedia(libraryDir: string, barcodes: readonly string[]): Promise<OpenedMedia> {
  const library = await VirtualLibrary.open(libraryDir);
  const stores: Awaited<ReturnType<VirtualLibrary['openMedium']>>[] = [];
  const devices: VirtualDrive[] = [];
  for (const b of barcodes) {
    const medium = await library.openMedium(b);
    stores.push(medium);
    const drive = new VirtualDrive({
      name: `reader-${b}`,
      clock: new VirtualClock(),
      medium,
      profile: 'untimed',
    });
    await drive.open();
    devices.push(drive);
  }
  return {
    devices,
    close: async () => {
      for (const d of devices) await d.close().catch(() => undefined);
      for (const s of stores) await s.close().catch(() => undefined);
    },
  };
}

/** Restores one committed copy from the media (in order, starting at its first fragment's tape file). */
export async function restoreCopy(
  media: OpenedMedia,
  barcodes: readonly string[],
  committed: Ev<'image-committed'>,
): Promise<{ bytes: Uint8Array; sha256: string; fragments: number; media: string[] }> {
  const first = barcodes.indexOf(committed.medium);
  if (first < 0) throw new Error(`${committed.medium} not opened`);
  const sink = new CollectingSink();
  const r = await restoreImage(
    media.devices.slice(first),
    { backupId: committed.backupId, copy: committed.copy },
    sink,
    {
      startAt: { tapeFile: committed.fileNumber },
    },
  );
  const total = sink.chunks.reduce((n, c) => n + c.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of sink.chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return {
    bytes,
    sha256: r.sha256,
    fragments: r.fragments.length,
    media: [...new Set(r.fragments.map((f) => f.barcode ?? f.device))],
  };
}

export async function analyse(media: OpenedMedia): Promise<Analysis> {
  return analyseMedia(media.devices);
}

/** Stops the duplicator (SIGTERM: graceful, writers told to shut down) and waits for its exit. */
export async function stopDuplicator(dup: RunningDuplicator): Promise<void> {
  if (dup.child.exitCode !== null || dup.child.signalCode !== null) return;
  dup.child.kill('SIGTERM');
  await dup.exited;
}
