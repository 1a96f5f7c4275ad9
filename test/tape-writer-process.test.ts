/**
 * The built tape-writer process against a ROUTER played by this test (the duplicator's side of the
 * writer protocol), on a temporary virtual library and disk storage unit: hello and heartbeats, a
 * batch of disk images written and committed, typed refusals of bad frames, the drive lock, SIGKILL
 * mid-batch, and a restart that resumes at the last committed position. What the writer reported is
 * then checked against what a reader finds on the cartridge.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type AssignItem, type encode, type MessageOf, makeMessage } from '@tapedup/protocol';
import { listTape, restoreImage } from '@tapedup/tape-format';
import { CollectingSink } from '@tapedup/tape-format/testing';
import { VirtualClock, VirtualDrive, VirtualLibrary } from '@tapedup/virtual-drive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arr, map, str, uint } from '../packages/protocol/src/testing/msgpack-builder';
import { WriterRouter } from '../packages/tape-writer/src/testing/writer-router';

const root = resolve(import.meta.dirname, '..');
const writerMain = join(root, 'packages/tape-writer/dist/main.js');
const workerJs = join(root, 'packages/tape-writer/dist/sources/disk-worker.js');

let base: string;
let libraryDir: string;
let dsuDir: string;
let endpoint: string;
let router: WriterRouter;
let barcode: string;
const images: { name: string; size: number; sha: string }[] = [];
const children = new Set<ChildProcess>();

function spawnWriter(driveId = 'd0'): {
  child: ChildProcess;
  exit: Promise<{ code: number | null; stderr: string }>;
} {
  const child = spawn(
    process.execPath,
    [
      writerMain,
      '--drive-id',
      driveId,
      '--drive',
      `virtual:${libraryDir}#drive0`,
      '--connect',
      endpoint,
      '--dsu',
      `main=${dsuDir}`,
      '--clock-scale',
      '1000',
      '--heartbeat-ms',
      '100',
      '--log-level',
      'warn',
      '--block-payload-size',
      '16384',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<{ code: number | null; stderr: string }>((ok) =>
    child.once('exit', (code) => {
      children.delete(child);
      ok({ code, stderr });
    }),
  );
  return { child, exit };
}

let msgSeq = 0;
const send = (driveId: string, message: Parameters<typeof encode>[0]) => router.send(driveId, message);
const item = (i: number, copyId: string, decision: 'defer' | 'sync', attempt = 1): AssignItem => ({
  copyId,
  requestId: 'r1',
  backupId: images[i]!.name,
  copy: 1,
  sizeBytes: images[i]!.size,
  source: { kind: 'disk', dsu: 'main', path: `hosts/${images[i]!.name}` },
  priority: 50,
  attempt,
  decision,
  reason: decision === 'defer' ? 'fixed policy: batch open' : 'retry',
});
const assign = (items: AssignItem[], resumeAt?: { fileNumber: number; blockAddress: number }) =>
  makeMessage('assign', { id: `a${++msgSeq}`, medium: barcode, items, ...(resumeAt ? { resumeAt } : {}) });

beforeAll(async () => {
  if (!existsSync(writerMain) || !existsSync(workerJs)) {
    execFileSync('node', ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' });
  }
  base = mkdtempSync(join(tmpdir(), 'tw-proc-'));
  libraryDir = join(base, 'library');
  dsuDir = join(base, 'dsu');
  mkdirSync(join(dsuDir, 'hosts'), { recursive: true });
  const library = await VirtualLibrary.open(libraryDir, {
    pools: { p1: 2 },
    drives: ['drive0'],
    capacityBytes: 2_000_000_000,
  });
  barcode = (await library.list())[0]!.barcode;
  for (let i = 0; i < 30; i++) {
    const size = 1 + ((i * 7919 * 131) % 300_000);
    const data = randomBytes(size);
    const name = `img${String(i).padStart(2, '0')}`;
    writeFileSync(join(dsuDir, 'hosts', name), data);
    images.push({ name, size, sha: createHash('sha256').update(data).digest('hex') });
  }
  endpoint = `ipc://${join(base, 'writers.sock')}`;
  router = await WriterRouter.bind(endpoint);
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  router?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

/** Reads the cartridge back with the tape-format reader. */
async function readBack() {
  const library = await VirtualLibrary.open(libraryDir);
  const medium = await library.openMedium(barcode);
  const drive = new VirtualDrive({ name: 'reader', clock: new VirtualClock(), medium, profile: 'untimed' });
  await drive.open();
  try {
    const listing = await listTape(drive);
    const restored = new Map<string, { sha256: string; tapeFile: number; blockNumber: number }>();
    for (const f of listing.files) {
      if (f.kind !== 'fragment') continue;
      const backupId = f.images[0]!.entry.backupId;
      const r = await restoreImage(drive, { backupId, copy: 1 }, new CollectingSink(), {
        startAt: { tapeFile: f.tapeFile },
      });
      restored.set(backupId, { sha256: r.sha256, tapeFile: f.tapeFile, blockNumber: f.blockNumber });
    }
    return { listing, restored };
  } finally {
    await drive.close();
    await medium.close();
  }
}

describe('tape-writer process', () => {
  const committed = new Map<string, MessageOf<'batch-synced'>['committed'][number]>();
  let resumeAt: { fileNumber: number; blockAddress: number } | undefined;

  it('says hello, heartbeats, writes 20 deferred disk images and commits them all at sync-now', async () => {
    const { child, exit } = spawnWriter();
    const hello = await router.next('hello');
    expect(hello).toMatchObject({ driveId: 'd0', pid: child.pid, drive: { transport: 'virtual' } });
    expect(hello.capabilities.immediateFilemarks).toBe(true);
    const hb = await router.next('heartbeat');
    expect(hb.state).toBe('idle');

    send('d0', assign(images.slice(0, 20).map((_, i) => item(i, `c${i}`, 'defer'))));
    const written: MessageOf<'copy-written'>[] = [];
    for (let i = 0; i < 20; i++) written.push(await router.next('copy-written'));
    expect(written.map((w) => w.copyId)).toEqual(images.slice(0, 20).map((_, i) => `c${i}`));
    expect(written.every((w) => w.pendingSync)).toBe(true);
    expect(written.map((w) => w.sha256)).toEqual(images.slice(0, 20).map((im) => im.sha));

    send('d0', makeMessage('sync-now', { id: 'sync-1', batchId: 'B1' }));
    const synced = await router.next('batch-synced');
    expect(synced).toMatchObject({ re: 'sync-1', batchId: 'B1' });
    expect(synced.committed.map((c) => c.copyId)).toEqual(written.map((w) => w.copyId));
    for (const c of synced.committed) committed.set(images[Number(c.copyId.slice(1))]!.name, c);
    resumeAt = { fileNumber: synced.position.fileNumber, blockAddress: synced.position.blockAddress };

    const stats = await router.next('heartbeat', (h) => h.stats.imagesWritten === 20);
    expect(stats.stats).toMatchObject({ immediateFilemarks: 20, pendingCopies: 0 });

    // Garbage gets typed refusals and the writer keeps working.
    router.sendRaw('d0', Buffer.from([0xc1, 0x00, 0xff]));
    expect((await router.next('error')).code).toBe('NOT_MSGPACK');
    router.sendRaw(
      'd0',
      map([
        ['v', uint(1)],
        ['type', str('bogus')],
        ['id', str('g1')],
      ]),
    );
    expect(await router.next('error')).toMatchObject({ code: 'UNKNOWN_TYPE', re: 'g1' });
    router.sendRaw(
      'd0',
      map([
        ['v', uint(1)],
        ['type', str('copy-written')],
        ['id', str('g2')],
      ]),
    );
    expect(await router.next('error')).toMatchObject({ code: 'UNKNOWN_TYPE', re: 'g2' });
    router.sendRaw(
      'd0',
      map([
        ['v', uint(1)],
        ['type', str('assign')],
        ['id', str('g3')],
        ['medium', str(barcode)],
        ['items', arr([])],
      ]),
    );
    expect(await router.next('error')).toMatchObject({ code: 'INVALID_FIELD', re: 'g3' });
    router.sendRaw('d0', Buffer.alloc(2 * 1024 * 1024, 0x90));
    expect((await router.next('error')).code).toBe('FRAME_TOO_LARGE');

    // A second writer for the same drive is refused while this one runs.
    const second = spawnWriter('d1');
    const refused = await second.exit;
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('DRIVE_LOCKED');

    send('d0', assign([item(20, 'c20', 'sync')]));
    const own = await router.next('batch-synced');
    expect(own.re).toBeUndefined();
    expect(own.committed.map((c) => c.copyId)).toEqual(['c20']);
    committed.set(images[20]!.name, own.committed[0]!);
    resumeAt = { fileNumber: own.position.fileNumber, blockAddress: own.position.blockAddress };

    send('d0', makeMessage('shutdown', { id: 'bye', graceful: true, reason: 'test' }));
    expect(await router.next('shutdown-ack')).toMatchObject({ re: 'bye', uncommitted: [] });
    expect((await exit).code).toBe(0);
  }, 60_000);

  it('SIGKILL mid-batch commits nothing unsynced; a restarted writer resumes at the committed end', async () => {
    const { child, exit } = spawnWriter();
    await router.next('hello');
    send('d0', assign(images.slice(21, 30).map((_, k) => item(21 + k, `k${21 + k}`, 'defer'))));
    await router.next('copy-written');
    await router.next('copy-written');
    child.kill('SIGKILL');
    expect((await exit).code).toBe(null);
    const killedBatch = images.slice(21, 30).map((_, k) => `k${21 + k}`);
    const everCommitted = router.inbox.flatMap((m) =>
      m.type === 'batch-synced' ? m.committed.map((c) => c.copyId) : [],
    );
    expect(everCommitted.filter((id) => killedBatch.includes(id))).toEqual([]);

    // The stale lock of the killed writer does not keep the drive; the catalog's position is honoured.
    const again = spawnWriter();
    await router.next('hello');
    send('d0', assign([item(21, 'k21-r2', 'sync', 2), item(22, 'k22-r2', 'sync', 2)], resumeAt));
    const first = await router.next('batch-synced');
    expect(first.committed[0]).toMatchObject({
      copyId: 'k21-r2',
      fileNumber: resumeAt!.fileNumber,
      blockAddress: resumeAt!.blockAddress,
    });
    const secondSync = await router.next('batch-synced');
    committed.set(images[21]!.name, first.committed[0]!);
    committed.set(images[22]!.name, secondSync.committed[0]!);
    resumeAt = { fileNumber: secondSync.position.fileNumber, blockAddress: secondSync.position.blockAddress };
    send('d0', makeMessage('shutdown', { id: 'bye2', graceful: false, reason: 'test' }));
    await router.next('shutdown-ack');
    expect((await again.exit).code).toBe(0);

    // A writer whose parent goes away (its IPC channel closes) exits on its own.
    const orphan = spawnWriter();
    await router.next('hello');
    orphan.child.disconnect();
    expect((await orphan.exit).code).toBe(0);

    // The cartridge holds exactly the committed copies, where the writer said, with their digests.
    const { listing, restored } = await readBack();
    const onTape = listing.files.flatMap((f) => (f.kind === 'fragment' ? [f.images[0]!.entry.backupId] : []));
    expect(onTape).toEqual([...committed.keys()]);
    for (const [name, c] of committed) {
      const image = images.find((im) => im.name === name)!;
      expect(restored.get(name)).toEqual({
        sha256: image.sha,
        tapeFile: c.fileNumber,
        blockNumber: c.blockAddress,
      });
      expect(c.sha256).toBe(image.sha);
    }
  }, 60_000);

  it('SIGTERM mid-batch: the command in progress finishes, the writer acks with its uncommitted copies, no fragment is cut after its header', async () => {
    const { child, exit } = spawnWriter();
    await router.next('hello');
    const ids = images.slice(0, 20).map((_, i) => `t${i}`);
    send(
      'd0',
      assign(
        images.slice(0, 20).map((_, i) => item(i, ids[i]!, 'defer')),
        resumeAt,
      ),
    );
    const first = await router.next('copy-written');
    expect(first.copyId).toBe('t0');
    child.kill('SIGTERM');
    // The engine is told to stop (nothing new starts) and acks before the drive is closed.
    const ack = await router.next('shutdown-ack');
    expect(ack.uncommitted).toContain('t0');
    expect(ack.uncommitted.every((id) => ids.includes(id))).toBe(true);
    expect(ack.uncommitted.length).toBeLessThan(ids.length);
    expect((await exit).code).toBe(0);
    expect(
      router.inbox.some((m) => m.type === 'batch-synced' && m.committed.some((c) => ids.includes(c.copyId))),
    ).toBe(false);

    // Every fragment on the cartridge holds data or an image end: none stops right after its header.
    const library = await VirtualLibrary.open(libraryDir);
    const medium = await library.openMedium(barcode);
    const drive = new VirtualDrive({ name: 'reader', clock: new VirtualClock(), medium, profile: 'untimed' });
    await drive.open();
    try {
      const fragments = (await listTape(drive)).files.flatMap((f) => (f.kind === 'fragment' ? [f] : []));
      expect(fragments.length).toBeGreaterThan(committed.size);
      for (const f of fragments) {
        expect(
          f.images.some((i) => i.dataBlocks > 0 || i.trailer !== undefined),
          `fragment ${f.tapeFile} holds only its header`,
        ).toBe(true);
      }
      // What was committed before is untouched: it still restores with its digest.
      for (const [name, c] of committed) {
        const r = await restoreImage(drive, { backupId: name, copy: 1 }, new CollectingSink(), {
          startAt: { tapeFile: c.fileNumber },
        });
        expect(r.sha256).toBe(c.sha256);
      }
    } finally {
      await drive.close();
      await medium.close();
    }
  }, 60_000);
});
