/**
 * Writer throughput on the host: disk images read by the piscina pool (read + CRC32C + SHA-256 +
 * framing off the main thread) written by the engine to an untimed virtual drive over a tgt
 * cartridge file, with one sync at the end. Prints MB/s and the pickup latency.
 *
 *   pnpm run build && pnpm exec tsx packages/tape-writer/src/bench-writer.ts [images] [MiB each]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeMessage, type WriterToDuplicator } from '@tapedup/protocol';
import { RealClock, TgtCartridgeFile, VirtualDrive } from '@tapedup/virtual-drive';
import pino from 'pino';
import { parseDsuRoots } from './dsu';
import { WriterEngine } from './engine/engine';
import { LoadedMediumChanger } from './media/loaded-medium-changer';
import { DiskSourceOpener } from './sources/disk';

const count = Number(process.argv[2] ?? 16);
const mib = Number(process.argv[3] ?? 16);
const base = mkdtempSync(join(tmpdir(), 'bench-writer-'));
mkdirSync(join(base, 'dsu'));
const chunk = randomBytes(mib * 1024 * 1024);
for (let i = 0; i < count; i++) writeFileSync(join(base, 'dsu', `i${i}`), chunk);
const medium = await TgtCartridgeFile.create(join(base, 'c.img'), {
  barcode: 'BENCH1L9',
  capacityBytes: 1e12,
});
const clock = new RealClock();
const drive = new VirtualDrive({ name: 'virtual:bench', clock, medium, profile: 'untimed' });
await drive.open();
const sources = new DiskSourceOpener({ roots: parseDsuRoots([`main=${join(base, 'dsu')}`]) });
const reports: WriterToDuplicator[] = [];
const engine = new WriterEngine({
  driveId: 'bench',
  device: drive,
  clock: { now: () => Date.now() },
  logger: pino({ level: 'silent' }),
  sources,
  changer: new LoadedMediumChanger(drive),
  report: (m) => reports.push(m),
});
void engine.start();
const t0 = performance.now();
engine.handle(
  makeMessage('assign', {
    id: 'a',
    medium: 'BENCH1L9',
    items: Array.from({ length: count }, (_, i) => ({
      copyId: `c${i}`,
      requestId: 'r',
      backupId: `i${i}`,
      copy: 1,
      sizeBytes: chunk.length,
      source: { kind: 'disk' as const, dsu: 'main', path: `i${i}` },
      priority: 1,
      attempt: 1,
      decision: i === count - 1 ? ('sync' as const) : ('defer' as const),
      reason: 'bench',
    })),
  }),
);
await engine.whenIdle();
const seconds = (performance.now() - t0) / 1000;
const committed = reports.filter((r) => r.type === 'batch-synced').flatMap((r) => r.committed).length;
const stats = engine.stats();
console.log(
  JSON.stringify({
    images: count,
    mibEach: mib,
    committed,
    seconds: Number(seconds.toFixed(3)),
    mibPerSec: Number(((count * mib) / seconds).toFixed(1)),
    pickupMeanMs: Number(stats.pickup.meanMs.toFixed(2)),
    immediateFilemarks: stats.immediateFilemarks,
    syncs: stats.syncs,
  }),
);
await sources.close();
await drive.close();
await medium.close();
rmSync(base, { recursive: true, force: true });
