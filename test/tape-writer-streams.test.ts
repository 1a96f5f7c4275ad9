/**
 * The built tape-writer process in MPX mode with live `stream` images over real ZeroMQ sockets: the
 * test plays the duplicator (a ROUTER) and the stream senders (PUSH sockets). Streams and disk
 * images share fragments; a sender pushing before its copy is assigned is held back by the
 * high-water marks (backpressure); a stream that goes silent mid-image fails that copy alone while
 * the others of its group commit; what was committed restores byte for byte from the cartridge.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type AssignItem, makeMessage } from '@tapedup/protocol';
import { analyseMedia, restoreImage } from '@tapedup/tape-format';
import { CollectingSink } from '@tapedup/tape-format/testing';
import { VirtualClock, VirtualDrive, VirtualLibrary } from '@tapedup/virtual-drive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamSender } from '../packages/tape-writer/src/testing/stream-sender';
import { WriterRouter } from '../packages/tape-writer/src/testing/writer-router';

const root = resolve(import.meta.dirname, '..');
const writerMain = join(root, 'packages/tape-writer/dist/main.js');
const workerJs = join(root, 'packages/tape-writer/dist/sources/disk-worker.js');

let base: string;
let libraryDir: string;
let dsuDir: string;
let router: WriterRouter;
let barcode: string;
const children = new Set<ChildProcess>();
const senders: StreamSender[] = [];
const disk = new Map<string, Uint8Array>();
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  if (!existsSync(writerMain) || !existsSync(workerJs)) {
    execFileSync('node', ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' });
  }
  base = mkdtempSync(join(tmpdir(), 'tw-streams-'));
  libraryDir = join(base, 'library');
  dsuDir = join(base, 'dsu');
  mkdirSync(dsuDir, { recursive: true });
  const library = await VirtualLibrary.open(libraryDir, {
    pools: { p1: 1 },
    drives: ['drive0'],
    capacityBytes: 2_000_000_000,
  });
  barcode = (await library.list())[0]!.barcode;
  for (let i = 0; i < 6; i++) {
    const data = randomBytes(100_000 + i * 37_001);
    disk.set(`disk${i}`, data);
    writeFileSync(join(dsuDir, `disk${i}`), data);
  }
  router = await WriterRouter.bind(`ipc://${join(base, 'writers.sock')}`);
});

afterAll(async () => {
  for (const s of senders) s.close();
  for (const child of children) child.kill('SIGKILL');
  router?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

function spawnWriter() {
  const child = spawn(
    process.execPath,
    [
      writerMain,
      ...['--drive-id', 'd0', '--drive', `virtual:${libraryDir}#drive0`],
      ...['--connect', `ipc://${join(base, 'writers.sock')}`, '--dsu', `main=${dsuDir}`],
      ...['--clock-scale', '1000', '--heartbeat-ms', '100', '--log-level', 'warn'],
      ...['--block-payload-size', '16384', '--mpx', '4', '--min-fragment-ms', '0'],
      ...['--stream-idle-ms', '1000'],
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

const diskItem = (name: string, decision: 'defer' | 'sync'): AssignItem => ({
  copyId: `c-${name}`,
  requestId: 'r1',
  backupId: name,
  copy: 1,
  sizeBytes: disk.get(name)!.length,
  source: { kind: 'disk', dsu: 'main', path: name },
  priority: 50,
  attempt: 1,
  decision,
  reason: 'test',
  mpxGroup: 'g1',
});
const streamItem = (name: string): AssignItem => ({
  copyId: `c-${name}`,
  requestId: 'r1',
  backupId: name,
  copy: 1,
  sizeBytes: 0,
  source: { kind: 'stream' },
  priority: 50,
  attempt: 1,
  decision: 'sync',
  reason: 'stream images are never deferred',
  mpxGroup: 'g1',
  streamEndpoint: `ipc://${join(base, `${name}.sock`)}`,
});

function sender(item: AssignItem, bytes: Uint8Array, options: { cutAfter?: number; hwm?: number } = {}) {
  const s = new StreamSender(item.streamEndpoint!, item, bytes, {
    ...(options.cutAfter === undefined ? {} : { cutAfter: options.cutAfter }),
    sendHighWaterMark: options.hwm ?? 2,
  });
  senders.push(s);
  return s;
}

describe('tape-writer process: MPX with live streams', () => {
  it('streams and disk images share fragments, backpressure holds the sender, a cut stream fails alone', async () => {
    const { exit } = spawnWriter();
    await router.next('hello');

    // A sender that starts before its copy is assigned gets no further than the high-water marks.
    const early = streamItem('live-early');
    const earlyBytes = randomBytes(600_000);
    const earlySender = sender(early, earlyBytes, { hwm: 1 });
    router.send(
      'd0',
      makeMessage('assign', { id: 'a1', medium: barcode, items: [diskItem('disk0', 'sync')] }),
    );
    await router.next('batch-synced');
    const frames = earlySender.frames;
    expect(earlySender.accepted).toBeLessThan(frames / 4);

    // One MPX group: disk images, the early stream, a good stream, a stream cut mid-image. The disk
    // copies are deferred, so their fragment stays open until the streams' data arrives and joins it.
    const good = streamItem('live-good');
    const goodBytes = randomBytes(450_000);
    const goodSender = sender(good, goodBytes);
    const cut = streamItem('live-cut');
    const cutSender = sender(cut, randomBytes(400_000), { cutAfter: 150_000 });
    const items = [
      diskItem('disk1', 'defer'),
      early,
      cut,
      diskItem('disk2', 'defer'),
      good,
      diskItem('disk3', 'defer'),
      diskItem('disk4', 'defer'),
    ];
    router.send('d0', makeMessage('assign', { id: 'a2', medium: barcode, items }));
    const failed = await router.find('copy-failed');
    expect(failed).toMatchObject({ copyId: 'c-live-cut', reason: 'SOURCE_STREAM_CUT', retryable: true });
    await Promise.all([earlySender.done, goodSender.done, cutSender.done]);
    expect(earlySender.accepted).toBe(frames);

    // Wait for every other copy to be written, then flush.
    const wanted = items.filter((i) => i !== cut).map((i) => i.copyId);
    for (const id of wanted) await router.find('copy-written', (w) => w.copyId === id);
    router.send('d0', makeMessage('sync-now', { id: 's1', batchId: 'B1' }));
    await router.find('batch-synced', (b) => b.re === 's1');
    const committed = router.inbox.flatMap((m) => (m.type === 'batch-synced' ? m.committed : []));
    expect(committed.map((c) => c.copyId).sort()).toEqual(['c-disk0', ...wanted].sort());
    expect(router.inbox.some((m) => m.type === 'sync-failed')).toBe(false);

    router.send('d0', makeMessage('shutdown', { id: 'x1', graceful: true, reason: 'test' }));
    expect((await router.find('shutdown-ack')).uncommitted).toEqual([]);
    expect((await exit).code).toBe(0);

    // The cartridge: multiplexed fragments; every committed copy restores byte for byte.
    const library = await VirtualLibrary.open(libraryDir);
    const medium = await library.openMedium(barcode);
    const drive = new VirtualDrive({ name: 'reader', clock: new VirtualClock(), medium, profile: 'untimed' });
    await drive.open();
    try {
      const analysis = await analyseMedia([drive]);
      const fragments = analysis.media[0]!.files.flatMap((f) => (f.kind === 'fragment' ? [f] : []));
      // Streams and disk images were multiplexed: some fragment's image table names both kinds.
      expect(fragments.some((f) => new Set(f.images.map((i) => i.entry.kind)).size === 2)).toBe(true);
      const verdicts = Object.fromEntries(analysis.images.map((i) => [i.backupId, i.verdict]));
      expect(verdicts['live-cut']).toBe('aborted');
      const expected = new Map<string, Uint8Array>([
        ...disk,
        ['live-early', earlyBytes],
        ['live-good', goodBytes],
      ]);
      for (const c of committed) {
        const name = c.copyId.slice(2);
        const sink = new CollectingSink();
        const r = await restoreImage(drive, { backupId: name, copy: 1 }, sink, {
          startAt: { tapeFile: c.fileNumber, blockNumber: c.blockAddress },
        });
        expect(r.sha256).toBe(c.sha256);
        expect(sha(sink.bytes())).toBe(sha(expected.get(name)!));
      }
    } finally {
      await drive.close();
      await medium.close();
    }
  });
});
