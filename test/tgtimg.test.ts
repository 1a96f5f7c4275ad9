/**
 * Interoperability of the virtual cartridge file with tgt's own tool: cartridges made by
 * `tgtimg --op new` open in TgtCartridgeFile, and cartridges TgtCartridgeFile wrote are listed by
 * `tgtimg --op show` with exactly the blocks and filemarks written.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppendObject } from '../packages/virtual-drive/src/medium';
import { TgtCartridgeFile } from '../packages/virtual-drive/src/tgt-cartridge';

const MiB = 1024 * 1024;

function findTgtimg(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  return dirs.map((d) => join(d, 'tgtimg')).find((p) => p.startsWith('/') && existsSync(p));
}

const tgtimg = findTgtimg();
const hasTgtimg = tgtimg !== undefined;

interface ShownBlock {
  type: number;
  blockNumber: number;
  prev: number;
  curr: number;
  next: number;
  size: number;
}

interface Shown {
  barcode: string;
  capacityMiB: number;
  blocks: ShownBlock[];
  stdout: string;
  stderr: string;
}

/** Runs `tgtimg --op show` and parses its listing (BOT line, then one line per block up to EOD). */
function show(file: string): Shown {
  const result = spawnSync(tgtimg as string, ['--op', 'show', '--device-type', 'tape', `--file=${file}`], {
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
  const lines = result.stdout.split('\n');
  const barcode = /^Media\s+:\s*(\S+)/.exec(lines[0] ?? '')?.[1] ?? '';
  const bot = /Beginning of Tape\(16\): Capacity (\d+) MB/.exec(result.stdout);
  const blocks: ShownBlock[] = [];
  const pattern = /\((\d+)\): Blk No\. (\d+), prev (\d+), curr (\d+),\s+next (\d+), sz (\d+)$/;
  for (const line of lines) {
    const m = pattern.exec(line);
    if (m === null) continue;
    const [type, blockNumber, prev, curr, next, size] = m.slice(1).map(Number) as number[];
    blocks.push({
      type: type as number,
      blockNumber: blockNumber as number,
      prev: prev as number,
      curr: curr as number,
      next: next as number,
      size: size as number,
    });
  }
  return { barcode, capacityMiB: Number(bot?.[1]), blocks, stdout: result.stdout, stderr: result.stderr };
}

/** What tgtimg should list for `objects`: data blocks (type 2) and filemarks (64), then EOD (32). */
function expectedListing(objects: ReadonlyArray<AppendObject>): { type: number; size: number }[] {
  return [
    ...objects.map((o) => (o.kind === 'data' ? { type: 2, size: o.length } : { type: 64, size: 0 })),
    { type: 32, size: 0 },
  ];
}

/** The listing's chain must be consistent: numbered 1.., each prev the previous curr, next = curr + 48 + size. */
function expectConsistentChain(blocks: ShownBlock[]): void {
  blocks.forEach((b, i) => {
    expect(b.blockNumber).toBe(i + 1);
    expect(b.prev).toBe(i === 0 ? 0 : blocks[i - 1]?.curr);
    expect(b.next).toBe(b.type === 32 ? b.curr : b.curr + 48 + b.size);
  });
}

function block(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) bytes[i] = (seed + i) & 0xff;
  return bytes;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tgtimg-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tgtimg interoperability', () => {
  it.skipIf(!hasTgtimg)(
    'a cartridge made by tgtimg --op new opens empty with its barcode and capacity, byte-identical to ours [skipped if tgtimg not installed (apt-get install tgt)]',
    async () => {
      const file = join(dir, 'tgt.img');
      execFileSync(tgtimg as string, [
        '--op',
        'new',
        '--device-type',
        'tape',
        '--barcode=TD0042L9',
        '--size=20',
        '--type=data',
        `--file=${file}`,
      ]);
      const store = await TgtCartridgeFile.open(file);
      expect(store.objectCount()).toBe(0);
      expect(store.info()).toMatchObject({
        barcode: 'TD0042L9',
        capacityBytes: 20 * MiB,
        writeProtected: false,
      });
      const seconds = Number(/_(\d+)$/.exec(store.mam.mediumSerialNumber)?.[1]);
      expect(seconds).toBeGreaterThan(0);
      await store.close();

      const ours = join(dir, 'ours.img');
      const created = await TgtCartridgeFile.create(ours, {
        barcode: 'TD0042L9',
        capacityBytes: 20 * MiB,
        now: () => seconds * 1000,
      });
      await created.close();
      const [theirs, mine] = await Promise.all([readFile(file), readFile(ours)]);
      expect(Buffer.compare(mine, theirs)).toBe(0);

      // Blocks appended to tgtimg's cartridge are listed by tgtimg.
      const appended = await TgtCartridgeFile.open(file);
      await appended.append([{ kind: 'data', length: 512, data: block(512, 1) }, { kind: 'filemark' }]);
      await appended.close();
      const listing = show(file);
      expect(listing.blocks.map(({ type, size }) => ({ type, size }))).toEqual([
        { type: 2, size: 512 },
        { type: 64, size: 0 },
        { type: 32, size: 0 },
      ]);
    },
  );

  it.skipIf(!hasTgtimg)(
    'tgtimg --op show lists exactly the data blocks and filemarks written [skipped if tgtimg not installed (apt-get install tgt)]',
    async () => {
      const file = join(dir, 'mix.img');
      const store = await TgtCartridgeFile.create(file, { barcode: 'TD0007L9', capacityBytes: 32 * MiB });
      const objects: AppendObject[] = [
        { kind: 'data', length: 80, data: block(80, 1) },
        { kind: 'filemark' },
        { kind: 'data', length: 262_144, data: block(262_144, 2) },
        { kind: 'data', length: 1, data: block(1, 3) },
        { kind: 'data', length: 65_537 },
        { kind: 'filemark' },
        { kind: 'filemark' },
        { kind: 'data', length: 1_048_576, data: block(1_048_576, 4) },
        { kind: 'filemark' },
      ];
      await store.append(objects.slice(0, 2));
      await store.sync();
      await store.append(objects.slice(2, 5));
      await store.append(objects.slice(5));
      await store.close();

      const listing = show(file);
      expect(listing.barcode).toBe('TD0007L9');
      expect(listing.capacityMiB).toBe(32);
      expect(listing.stdout).not.toMatch(/Unknown type|short read/);
      expect(listing.stderr).not.toMatch(/crc error/);
      expect(listing.blocks.map(({ type, size }) => ({ type, size }))).toEqual(expectedListing(objects));
      expectConsistentChain(listing.blocks);
      expect(listing.blocks[0]?.curr).toBe(1152);
    },
  );

  it.skipIf(!hasTgtimg)(
    'after truncate in the middle and append, tgtimg lists the new sequence [skipped if tgtimg not installed (apt-get install tgt)]',
    async () => {
      const file = join(dir, 'trunc.img');
      const store = await TgtCartridgeFile.create(file, { barcode: 'TD0008L9', capacityBytes: 16 * MiB });
      const first: AppendObject[] = [
        { kind: 'data', length: 4096, data: block(4096, 1) },
        { kind: 'filemark' },
        { kind: 'data', length: 8192, data: block(8192, 2) },
        { kind: 'filemark' },
        { kind: 'data', length: 100, data: block(100, 3) },
      ];
      await store.append(first);
      await store.sync();
      await store.truncate(2);
      const second: AppendObject[] = [
        { kind: 'data', length: 3000, data: block(3000, 4) },
        { kind: 'filemark' },
      ];
      await store.append(second);
      await store.close();

      const listing = show(file);
      expect(listing.stderr).not.toMatch(/crc error/);
      expect(listing.blocks.map(({ type, size }) => ({ type, size }))).toEqual(
        expectedListing([...first.slice(0, 2), ...second]),
      );
      expectConsistentChain(listing.blocks);
      const reopened = await TgtCartridgeFile.open(file);
      expect(await reopened.readData(2)).toEqual(block(3000, 4));
      await reopened.close();
    },
  );
});
