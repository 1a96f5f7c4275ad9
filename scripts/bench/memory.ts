/**
 * Memory and scale, real processes:
 * - the tape-writer's peak RSS (VmHWM of the process, its piscina read threads included) while it
 *   duplicates one large image: a sparse file (`truncate`), read through the disk reader like any
 *   other (it reads as zeros at full speed), framed, checksummed and written to the virtual drive;
 * - the duplicator's RSS with 100,000 images queued, and the time to accept them over its
 *   scheduler socket (ten `submit`s of 10,000 images, the protocol's most per request, one after the
 *   other), with one drive whose writer never says hello so that nothing leaves the queue.
 */
import { linkSync, mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { makeMessage } from '@tapedup/protocol';
import {
  type Installation,
  startDuplicator,
  TestScheduler,
} from '../../packages/duplicator/src/testing/process-harness';
import { MB, makeLibrary, memoryOf, orExit, startMountedWriter, stopWriter, WriterRouter } from './processes';

export interface WriterMemoryFigures {
  readonly imageBytes: number;
  readonly seconds: number;
  readonly mbps: number;
  /** VmRSS right after the mount, before any image. */
  readonly idleRssBytes: number;
  /** VmHWM at the end of the image (the peak over the process's life). */
  readonly peakBytes: number;
}

export async function runWriterMemory(
  base: string,
  imageBytes: number,
  progress: (line: string) => void = () => {},
): Promise<WriterMemoryFigures> {
  const dir = join(base, 'writer-memory');
  const dsu = join(dir, 'dsu');
  mkdirSync(dsu, { recursive: true });
  // Sparse: no blocks on disk, read back as zeros.
  writeFileSync(join(dsu, 'big'), '');
  truncateSync(join(dsu, 'big'), imageBytes);
  const [barcode] = await makeLibrary(join(dir, 'lib'), ['drive0'], 1, imageBytes * 2 + 1e11);
  const endpoint = `ipc://${join(dir, 'w.sock')}`;
  const router = await WriterRouter.bind(endpoint);
  const writer = await startMountedWriter(router, {
    driveId: 'd0',
    drive: `virtual:${join(dir, 'lib')}#drive0`,
    endpoint,
    dsu,
    barcode: barcode!,
  });
  try {
    const idle = memoryOf(writer.pid);
    const synced = router.find('batch-synced', (m) => m.batchId === 'B-big');
    const t0 = performance.now();
    await router.send(
      'd0',
      makeMessage('assign', {
        id: 'a-big',
        medium: barcode!,
        items: [
          {
            copyId: 'big',
            requestId: 'memory',
            backupId: 'big',
            copy: 1,
            sizeBytes: imageBytes,
            source: { kind: 'disk', dsu: 'main', path: 'big' },
            priority: 50,
            attempt: 1,
            decision: 'defer',
            reason: 'bench: one large image',
          },
        ],
      }),
    );
    await router.send('d0', makeMessage('sync-now', { id: 's-big', batchId: 'B-big' }));
    const batch = await orExit(synced, [writer]);
    const seconds = (performance.now() - t0) / 1000;
    if (batch.committed.length !== 1) throw new Error('writer memory: the image was not committed');
    const end = memoryOf(writer.pid);
    const figures: WriterMemoryFigures = {
      imageBytes,
      seconds,
      mbps: imageBytes / MB / seconds,
      idleRssBytes: idle.rssBytes,
      peakBytes: end.peakBytes,
    };
    progress(
      `writer memory: ${(imageBytes / 1e9).toFixed(0)} GB in ${seconds.toFixed(1)} s, VmHWM ${(end.peakBytes / MB).toFixed(0)} MB (idle ${(idle.rssBytes / MB).toFixed(0)} MB)`,
    );
    return figures;
  } finally {
    await stopWriter(router, writer);
    router.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface DuplicatorMemoryFigures {
  readonly images: number;
  readonly requests: number;
  /** Send of the first submit → `accepted` of the last, ms. */
  readonly submitTotalMs: number;
  /** Each request's send → `accepted`, ms. */
  readonly submitMs: readonly number[];
  /** `status` of every request, send → reply, ms. */
  readonly statusMs: number;
  /** VmRSS after start, before any submit. */
  readonly startRssBytes: number;
  /** VmRSS and VmHWM with every image queued. */
  readonly rssBytes: number;
  readonly peakBytes: number;
}

const PER_REQUEST = 10_000;
/** Source files share this many inodes (hard links; ext4 allows 65,000 links per inode). */
const INODES = 4;

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? ok(address.port) : fail(new Error('no port')),
      );
    });
  });
}

export async function runDuplicatorMemory(
  base: string,
  images: number,
  progress: (line: string) => void = () => {},
): Promise<DuplicatorMemoryFigures> {
  const dir = join(base, 'duplicator-memory');
  const dsu = join(dir, 'dsu');
  mkdirSync(join(dsu, 's'), { recursive: true });
  // The submit check stats every source: each image needs a file of its size. Hard links to a few
  // one-byte files give 100,000 names at the cost of directory entries only.
  for (let k = 0; k < INODES; k++) writeFileSync(join(dsu, `seed${k}`), 'x');
  for (let n = 0; n < images; n++) linkSync(join(dsu, `seed${n % INODES}`), join(dsu, 's', String(n)));
  // A writer that never speaks: the drive is configured but never ready, so nothing is assigned.
  const silent = join(dir, 'silent-writer.mjs');
  writeFileSync(
    silent,
    "process.on('disconnect', () => process.exit(0));\nsetInterval(() => {}, 1 << 30);\n",
  );
  const [p1, p2] = [await freePort(), await freePort()];
  const inst: Installation = {
    dir,
    configFile: join(dir, 'config.json'),
    scheduler: `tcp://127.0.0.1:${p1}`,
    events: `tcp://127.0.0.1:${p2}`,
    dsu,
  };
  writeFileSync(
    inst.configFile,
    JSON.stringify({
      stateDir: join(dir, 'state'),
      logLevel: 'warn',
      endpoints: { scheduler: inst.scheduler, events: inst.events, writers: `ipc://${join(dir, 'w.sock')}` },
      drives: [{ id: 'd0', spec: `virtual:${join(dir, 'lib')}#drive0` }],
      library: { pools: { default: { cartridges: 2, capacityBytes: 18_000_000_000_000 } } },
      dsu: { dsu1: dsu },
      writerMain: silent,
      startupSettleMs: 0,
      heartbeat: { intervalMs: 1000, timeoutMs: 5000, startupTimeoutMs: 3_600_000 },
      maxFrameBytes: 8 * 1024 * 1024,
    }),
  );
  const duplicator = startDuplicator(inst.configFile);
  const died = duplicator.exited.then((e): never => {
    throw new Error(`duplicator exited (${e.code ?? e.signal}): ${duplicator.stderr().slice(-2000)}`);
  });
  const scheduler = new TestScheduler(inst);
  try {
    await Promise.race([scheduler.ready, died]);
    const pid = duplicator.child.pid!;
    const start = memoryOf(pid);
    const submitMs: number[] = [];
    const t0 = performance.now();
    for (let r = 0; r * PER_REQUEST < images; r++) {
      const from = r * PER_REQUEST;
      const batch = Array.from({ length: Math.min(PER_REQUEST, images - from) }, (_, i) => ({
        backupId: `b${from + i}`,
        sizeBytes: 1,
        source: { kind: 'disk' as const, dsu: 'dsu1', path: `s/${from + i}` },
      }));
      const message = makeMessage('submit', {
        id: `sub${r}`,
        images: batch,
        copies: 1,
        pool: 'default',
        priority: 50,
      });
      const started = performance.now();
      const reply = await Promise.race([scheduler.request(message), died]);
      submitMs.push(performance.now() - started);
      if (reply.type !== 'accepted') throw new Error(`submit ${r}: ${JSON.stringify(reply).slice(0, 300)}`);
    }
    const submitTotalMs = performance.now() - t0;
    const s0 = performance.now();
    const status = await Promise.race([scheduler.request(makeMessage('status', { id: 'status-all' })), died]);
    const statusMs = performance.now() - s0;
    if (status.type !== 'status-reply') throw new Error(`status: ${JSON.stringify(status).slice(0, 300)}`);
    const queued = memoryOf(pid);
    const figures: DuplicatorMemoryFigures = {
      images,
      requests: submitMs.length,
      submitTotalMs,
      submitMs,
      statusMs,
      startRssBytes: start.rssBytes,
      rssBytes: queued.rssBytes,
      peakBytes: queued.peakBytes,
    };
    progress(
      `duplicator: ${images} images accepted in ${(submitTotalMs / 1000).toFixed(2)} s, VmRSS ${(queued.rssBytes / MB).toFixed(0)} MB, VmHWM ${(queued.peakBytes / MB).toFixed(0)} MB`,
    );
    return figures;
  } finally {
    scheduler.close();
    duplicator.child.kill('SIGTERM');
    await duplicator.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
