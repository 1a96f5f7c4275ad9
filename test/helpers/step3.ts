/**
 * Shared by the Step 3 acceptance tests: a real duplicator with real tape writers on virtual drives
 * (process-harness does the installation, the process and the scheduler sockets), plus what the
 * acceptance checks need on top: waiting for a request while the duplicator may die, the drives'
 * filemark commands from their debug log, and a read-back of every cartridge compared with the
 * catalog (positions, SHA-256, nothing uncommitted cataloged).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuplicatorEvent } from '@tapedup/protocol';
import {
  type CatalogImageRecord,
  listTape,
  type MediumListing,
  rebuildCatalog,
  restoreImage,
} from '@tapedup/tape-format';
import { openCartridge, openLibrary } from '../../packages/cli/src/tape/cartridges';
import {
  type BatchRecord,
  Catalog,
  type CatalogEvent,
  type CopyRecord,
  type FragmentRecord,
  type MediumRecord,
} from '../../packages/duplicator/src/catalog';
import {
  type Installation,
  logLines,
  makeInstallation,
  type RunningDuplicator,
  startDuplicator,
  TAPE_WRITER,
  TestScheduler,
} from '../../packages/duplicator/src/testing/process-harness';

export type EventOf<T extends DuplicatorEvent['type']> = Extract<DuplicatorEvent, { type: T }>;

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * `count` images of varied small sizes under `dir/`, filled with bytes that differ per image (a
 * copy of the wrong image, or a block out of place, shows in the SHA-256).
 */
export function imageSet(
  dir: string,
  count: number,
  minBytes = 2048,
  spread = 30_000,
): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < count; i++) {
    const size = minBytes + ((i * 7919) % spread);
    const data = Buffer.alloc(size);
    let x = (i + 1) * 2_654_435_761;
    for (let j = 0; j < size; j++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      data[j] = x & 0xff;
    }
    files[`${dir}/i${i}.img`] = data;
  }
  return files;
}

/** The backupId the tests give the image stored at `name` (`set/i12.img` → `set_i12`). */
export const backupIdOf = (name: string): string => name.replace(/\.img$/, '').replace(/[^A-Za-z0-9]/g, '_');

export interface Run {
  inst: Installation;
  dup: RunningDuplicator;
  sched: TestScheduler;
  files: Record<string, Buffer>;
  /** Every duplicator started for this installation (a restart adds one). */
  lives: RunningDuplicator[];
  /** Events of every scheduler connection, in order (a restart opens a new one). */
  events: () => DuplicatorEvent[];
}

/** Overrides every Step 3 run shares: real writers, a fast model clock, fast supervision. */
export const REAL_WRITERS = {
  writerMain: TAPE_WRITER,
  clockScale: 1000,
  heartbeat: { intervalMs: 200, timeoutMs: 10_000, startupTimeoutMs: 60_000 },
  restart: { initialMs: 50, maxMs: 500, factor: 2, healthyMs: 60_000 },
  startupSettleMs: 10_000,
};

export interface DriveEntry {
  id: string;
  spec: string;
  faults?: unknown;
}

/**
 * Starts an installation with `files` in its DSU and the real duplicator + writers; awaits the
 * sockets. `drives` may rewrite the installation's drive list (two virtual drives by default), e.g.
 * to give one a fault plan.
 */
export async function startRun(
  files: Record<string, Buffer>,
  overrides: Record<string, unknown> = {},
  drives?: (defaults: DriveEntry[], inst: Installation) => DriveEntry[] | Promise<DriveEntry[]>,
): Promise<Run> {
  const inst = await makeInstallation(files, { ...REAL_WRITERS, ...overrides });
  const config = JSON.parse(await readFile(inst.configFile, 'utf8')) as {
    drives: DriveEntry[];
    endpoints: Record<string, string>;
  };
  // ipc endpoints in the installation's own directory: no TCP port shared with other test processes.
  inst.scheduler = `ipc://${join(inst.dir, 'scheduler.sock')}`;
  inst.events = `ipc://${join(inst.dir, 'events.sock')}`;
  config.endpoints = { ...config.endpoints, scheduler: inst.scheduler, events: inst.events };
  if (drives !== undefined) config.drives = await drives(config.drives, inst);
  await writeFile(inst.configFile, JSON.stringify(config, null, 2));
  const dup = startDuplicator(inst.configFile);
  const sched = new TestScheduler(inst);
  const earlier: DuplicatorEvent[][] = [];
  const run: Run = {
    inst,
    dup,
    sched,
    files,
    lives: [dup],
    events: () => [...earlier.flat(), ...run.sched.events],
  };
  (run as Run & { retire: () => void }).retire = () => earlier.push(run.sched.events);
  await orDeath(dup, sched.ready);
  return run;
}

/** Kills the duplicator with SIGKILL and starts it again on the same installation and catalog. */
export async function restartDuplicator(run: Run): Promise<void> {
  run.dup.child.kill('SIGKILL');
  await run.dup.exited;
  run.sched.close();
  (run as Run & { retire: () => void }).retire();
  run.dup = startDuplicator(run.inst.configFile);
  run.lives.push(run.dup);
  run.sched = new TestScheduler(run.inst);
  await orDeath(run.dup, run.sched.ready);
}

/** Resolves with `work`, or rejects with the duplicator's last log lines when it exits first. */
export function orDeath<T>(dup: RunningDuplicator, work: Promise<T>): Promise<T> {
  return Promise.race([
    work,
    dup.exited.then((e) => {
      throw new Error(`duplicator exited (${e.code}/${e.signal}): ${dup.stderr().slice(-4000)}`);
    }),
  ]);
}

/** Submits every image of `names` (disk images of the run's DSU), one copy each unless `extra` says. */
export async function submit(
  run: Run,
  names: readonly string[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const reply = await run.sched.request({
    v: 1,
    type: 'submit',
    id: run.sched.nextId(),
    images: names.map((n) => ({
      backupId: backupIdOf(n),
      sizeBytes: run.files[n]!.length,
      source: { kind: 'disk', dsu: 'dsu1', path: n },
    })),
    copies: 1,
    pool: 'default',
    priority: 50,
    ...extra,
  });
  if (reply.type !== 'accepted') throw new Error(`submit refused: ${JSON.stringify(reply)}`);
  return reply.requestId;
}

/** Awaits `request-done` for `requestId` on the current scheduler connection. */
export function requestDone(run: Run, requestId: string): Promise<EventOf<'request-done'>> {
  return orDeath(
    run.dup,
    run.sched.waitEvents((ev) =>
      ev.find((e): e is EventOf<'request-done'> => e.type === 'request-done' && e.requestId === requestId),
    ),
  );
}

/** Awaits the `n`-th event of `type` matching `pred` (1-based) on the current connection. */
export function nthEvent<T extends DuplicatorEvent['type']>(
  run: Run,
  type: T,
  n: number,
  pred: (e: EventOf<T>) => boolean = () => true,
): Promise<EventOf<T>> {
  return orDeath(
    run.dup,
    run.sched.waitEvents((ev) => eventsOf(ev, type).filter(pred)[n - 1]),
  );
}

export function eventsOf<T extends DuplicatorEvent['type']>(
  events: DuplicatorEvent[],
  type: T,
): EventOf<T>[] {
  return events.filter((e) => e.type === type) as EventOf<T>[];
}

/** Log lines of every duplicator life (their writers log to the same stderr). */
export function allLogs(run: Run): Record<string, unknown>[] {
  return run.lives.flatMap((d) => logLines(d.stderr()));
}

/** The pid of the writer process currently serving `driveId` (from the duplicator's log). */
export function writerPid(run: Run, driveId: string): number {
  const connected = logLines(run.dup.stderr()).filter(
    (l) => l.msg === 'writer connected' && l.driveId === driveId,
  );
  const pid = Number(connected.at(-1)?.pid);
  if (!(pid > 0)) throw new Error(`no connected writer for ${driveId}`);
  return pid;
}

/** Stops the duplicator gracefully (its writers with it) and closes the scheduler sockets. */
export async function stopRun(run: Run): Promise<void> {
  run.sched.close();
  if (run.dup.child.exitCode === null && run.dup.child.signalCode === null) {
    run.dup.child.kill('SIGTERM');
    await run.dup.exited;
  }
}

/** One WRITE FILEMARKS the virtual drive executed (from its `command` debug log lines). */
export interface FilemarkCommand {
  driveId: string;
  pid: number;
  count: number;
  immediate: boolean;
  failed: boolean;
}

/** Every WRITE FILEMARKS of every writer's virtual drive, in log order (needs logLevel debug). */
export function filemarkCommands(logs: Record<string, unknown>[]): FilemarkCommand[] {
  return logs
    .filter((l) => l.msg === 'command' && l.op === 'writeFilemarks')
    .map((l) => {
      const args = l.args as { count: number; immediate: boolean };
      return {
        driveId: String(l.driveId),
        pid: Number(l.pid),
        count: args.count,
        immediate: args.immediate,
        failed: l.error !== undefined,
      };
    });
}

/** A committed-or-not copy as the acceptance checks look at it. */
export interface CatalogCopy extends CopyRecord {
  backupId: string;
}

export interface CatalogView {
  copies: CatalogCopy[];
  /** Fragments of every copy, by copy id, in image order. */
  fragments: Map<number, FragmentRecord[]>;
  media: MediumRecord[];
  batches: BatchRecord[];
  events: CatalogEvent[];
}

/** Reads the run's catalog through the duplicator's Catalog; call it once the duplicator stopped. */
export function readCatalog(inst: Installation): CatalogView {
  const catalog = new Catalog({ path: join(inst.dir, 'state', 'catalog.sqlite') });
  try {
    const page = { limit: 1_000_000 };
    const backupIds = new Map(catalog.listImages(page).map((i) => [i.id, i.backupId]));
    const copies = catalog
      .listCopies(page)
      .map((c) => Object.assign({}, c, { backupId: backupIds.get(c.imageId) ?? '?' }));
    const fragments = new Map(copies.map((c) => [c.id, catalog.listFragments({ copyId: c.id })]));
    return {
      copies,
      fragments,
      media: catalog.listMedia(page),
      batches: catalog.listBatches(page),
      events: catalog.listEvents(page),
    };
  } finally {
    catalog.close();
  }
}

export interface TapeView {
  listings: Map<string, MediumListing>;
  rebuilt: CatalogImageRecord[];
}

/** Lists every written cartridge of the run's library and rebuilds catalog records from the tapes alone. */
export async function readTapes(inst: Installation, barcodes: readonly string[]): Promise<TapeView> {
  const library = await openLibrary(join(inst.dir, 'lib'));
  const listings = new Map<string, MediumListing>();
  const rebuilt: CatalogImageRecord[] = [];
  for (const barcode of barcodes) {
    if (!existsSync(library.cartridgePath(barcode))) continue;
    const cartridge = await openCartridge(library, barcode);
    try {
      listings.set(barcode, await listTape(cartridge.device));
      await cartridge.device.rewind();
      rebuilt.push(...(await rebuildCatalog([cartridge.device])).images);
    } finally {
      await cartridge.close();
    }
  }
  return { listings, rebuilt };
}

/**
 * Restores every committed copy from its cartridge, starting at the tape file the catalog names,
 * and returns backupId → { SHA-256 of the bytes restored, where the reader found its first fragment }.
 */
export async function restoreCommitted(
  inst: Installation,
  copies: readonly CatalogCopy[],
): Promise<Map<string, { sha256: string; bytes: number; tapeFile: number; blockNumber: number }>> {
  const library = await openLibrary(join(inst.dir, 'lib'));
  const out = new Map<string, { sha256: string; bytes: number; tapeFile: number; blockNumber: number }>();
  const byMedium = new Map<string, CatalogCopy[]>();
  for (const c of copies) {
    if (c.state !== 'committed' || c.medium === null) continue;
    byMedium.set(c.medium, [...(byMedium.get(c.medium) ?? []), c]);
  }
  for (const [barcode, list] of byMedium) {
    const cartridge = await openCartridge(library, barcode);
    try {
      for (const c of list) {
        const hash = createHash('sha256');
        const result = await restoreImage(
          cartridge.device,
          { backupId: c.backupId, copy: c.copyNumber },
          { write: (chunk) => void hash.update(chunk) },
          { startAt: { tapeFile: c.fileNumber ?? 0, blockNumber: c.blockAddress ?? undefined } },
        );
        const first = result.fragments[0]!;
        out.set(`${c.backupId}/${c.copyNumber}`, {
          sha256: hash.digest('hex'),
          bytes: result.bytes,
          tapeFile: first.tapeFile,
          blockNumber: first.blockNumber,
        });
      }
    } finally {
      await cartridge.close();
    }
  }
  return out;
}

/**
 * Compares the catalog with what the reader finds on the tapes and returns every disagreement
 * (empty when they agree):
 * - each committed copy is a complete, checksummed occurrence on its medium whose first fragment is
 *   at the cataloged tape file and block address, with the cataloged SHA-256, and each cataloged
 *   fragment row matches a fragment the reader found;
 * - every occurrence before a medium's committed end is such a committed copy (nothing uncommitted
 *   sits inside committed data);
 * - nothing at or after a medium's committed end (an abandoned attempt) is cataloged;
 * - the committed end is at or before the end of data the reader found.
 */
export function tapeVersusCatalog(view: CatalogView, tapes: TapeView): string[] {
  const problems: string[] = [];
  const end = new Map(view.media.map((m) => [m.barcode, m.lastCommitted]));
  const committed = view.copies.filter((c) => c.state === 'committed');
  const keyOf = (backupId: string, copy: number, barcode: string | undefined, tapeFile: number) =>
    `${backupId}/${copy}@${barcode}:${tapeFile}`;
  const cataloged = new Map(
    committed.map((c) => [keyOf(c.backupId, c.copyNumber, c.medium ?? '', c.fileNumber ?? -1), c]),
  );
  if (cataloged.size !== committed.length) problems.push('two committed copies share one position');
  const found = new Map<string, CatalogImageRecord>();
  for (const image of tapes.rebuilt) {
    const first = image.fragments[0];
    if (first === undefined) continue;
    const key = keyOf(image.backupId, image.copy, first.barcode, first.tapeFile);
    found.set(key, image);
    const committedEnd = first.barcode === undefined ? undefined : end.get(first.barcode);
    const copy = cataloged.get(key);
    if (committedEnd !== undefined && first.tapeFile < committedEnd.fileNumber && copy === undefined) {
      problems.push(`${key}: on tape inside committed data (${image.status}) but not a committed copy`);
    }
    if (committedEnd !== undefined && first.tapeFile >= committedEnd.fileNumber && copy !== undefined) {
      problems.push(`${key}: cataloged beyond the medium's committed end ${JSON.stringify(committedEnd)}`);
    }
  }
  for (const c of committed) {
    const key = keyOf(c.backupId, c.copyNumber, c.medium ?? '', c.fileNumber ?? -1);
    const image = found.get(key);
    if (image === undefined) {
      problems.push(`${key}: committed, but the reader finds no occurrence starting there`);
      continue;
    }
    if (image.status !== 'ok') problems.push(`${key}: the reader says ${image.status}`);
    if (image.sha256 !== c.sha256)
      problems.push(`${key}: SHA-256 ${image.sha256} on tape, ${c.sha256} cataloged`);
    if (image.fragments[0]?.blockNumber !== c.blockAddress) {
      problems.push(`${key}: block ${image.fragments[0]?.blockNumber} on tape, ${c.blockAddress} cataloged`);
    }
    const rows = view.fragments.get(c.id) ?? [];
    for (const row of rows) {
      const match = image.fragments.find(
        (f) =>
          f.barcode === row.medium &&
          f.tapeFile === row.fileNumber &&
          f.blockNumber === row.blockAddress &&
          f.offset === row.offset &&
          f.bytes === row.length,
      );
      if (match === undefined) problems.push(`${key}: fragment row ${JSON.stringify(row)} not found on tape`);
    }
    const last = end.get(c.medium ?? '');
    if (last === undefined || (c.fileNumber ?? -1) >= last.fileNumber) {
      problems.push(`${key}: at or beyond its medium's committed end ${JSON.stringify(last)}`);
    }
  }
  for (const [barcode, listing] of tapes.listings) {
    const last = end.get(barcode);
    const eod = listing.endOfData;
    if (last !== undefined && eod !== undefined && last.blockAddress > eod.blockNumber) {
      problems.push(
        `${barcode}: committed end ${JSON.stringify(last)} beyond end of data ${JSON.stringify(eod)}`,
      );
    }
    if (listing.problems.length > 0 && last !== undefined) {
      // A format problem is only acceptable beyond the committed end (a cut-off abandoned attempt).
      for (const p of listing.problems) {
        const at = p.tapeFile;
        if (at === undefined || at < last.fileNumber) problems.push(`${barcode}: ${p.code} ${p.message}`);
      }
    }
  }
  return problems;
}

/** Every committed copy restored from tape with the SHA-256 of its source; returns the mismatches. */
export async function restoreAndCompare(run: Run, view: CatalogView): Promise<string[]> {
  const problems: string[] = [];
  const restored = await restoreCommitted(run.inst, view.copies);
  const byBackupId = new Map(Object.entries(run.files).map(([n, data]) => [backupIdOf(n), data]));
  for (const c of view.copies) {
    if (c.state !== 'committed') continue;
    const got = restored.get(`${c.backupId}/${c.copyNumber}`);
    const source = byBackupId.get(c.backupId);
    if (got === undefined || source === undefined) {
      problems.push(`${c.backupId}/${c.copyNumber}: not restored`);
      continue;
    }
    if (got.sha256 !== sha256(source)) problems.push(`${c.backupId}/${c.copyNumber}: restored bytes differ`);
    if (got.tapeFile !== c.fileNumber || got.blockNumber !== c.blockAddress) {
      problems.push(
        `${c.backupId}/${c.copyNumber}: restored from file ${got.tapeFile} block ${got.blockNumber}, cataloged ${c.fileNumber}/${c.blockAddress}`,
      );
    }
  }
  return problems;
}

/** Resolves with the first log line of the current duplicator (or its writers) matching `pred`. */
export function waitLog(
  run: Run,
  pred: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const dup = run.dup;
  const found = () => logLines(dup.stderr()).find(pred);
  return orDeath(
    dup,
    new Promise((ok) => {
      const check = () => {
        const line = found();
        if (line === undefined) return;
        dup.child.stderr?.off('data', check);
        ok(line);
      };
      // The harness appends to stderr() on 'data' too; this listener runs after its own.
      dup.child.stderr?.on('data', check);
      check();
    }),
  );
}
