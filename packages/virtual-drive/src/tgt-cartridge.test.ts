import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppendObject, MediumObject } from './medium';
import { TgtCartridgeFile } from './tgt-cartridge';
import {
  CartridgeArgumentError,
  CartridgeClosedError,
  CartridgeCorruptError,
  CartridgeOptionError,
  CartridgeWriteProtectedError,
} from './tgt-errors';
import { BLANK_CARTRIDGE_SIZE, encodeBlankCartridge, FIRST_BLOCK_OFFSET } from './tgt-format';
import { type IoOperation, MemoryCartridgeIo } from './tgt-memory-io';

const MiB = 1024 * 1024;

/** Deterministic block content, distinct per seed, so a misplaced block is noticed. */
function block(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) bytes[i] = (seed * 31 + i * 7) & 0xff;
  return bytes;
}

const data = (length: number, seed: number): AppendObject => ({
  kind: 'data',
  length,
  data: block(length, seed),
});
const FM: AppendObject = { kind: 'filemark' };

function listing(store: TgtCartridgeFile): MediumObject[] {
  const objects: MediumObject[] = [];
  for (let i = 0; i < store.objectCount(); i += 1) objects.push(store.objectAt(i) as MediumObject);
  return objects;
}

function shape(objects: ReadonlyArray<AppendObject>): MediumObject[] {
  return objects.map((o) => (o.kind === 'data' ? { kind: 'data', length: o.length } : { kind: 'filemark' }));
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tgt-cartridge-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('TgtCartridgeFile create/open', () => {
  it('creates a blank cartridge that opens with no objects and its barcode and capacity', async () => {
    const path = join(dir, 'A.img');
    const created = await TgtCartridgeFile.create(path, { barcode: 'TD0001L9', capacityBytes: 64 * MiB });
    expect(created.info()).toEqual({
      barcode: 'TD0001L9',
      capacityBytes: 64 * MiB,
      writeProtected: false,
      storesData: true,
    });
    expect(created.objectCount()).toBe(0);
    expect(created.objectAt(0)).toBeUndefined();
    await created.close();
    expect((await stat(path)).size).toBe(BLANK_CARTRIDGE_SIZE);
    const reopened = await TgtCartridgeFile.open(path);
    expect(reopened.info().barcode).toBe('TD0001L9');
    expect(reopened.objectCount()).toBe(0);
    await reopened.close();
  });

  it('writes the same bytes as the pure encoder (serial from the injected clock)', async () => {
    const path = join(dir, 'B.img');
    const store = await TgtCartridgeFile.create(path, {
      barcode: 'B1',
      capacityBytes: 3 * MiB + 5,
      now: () => 1_700_000_000_500,
    });
    await store.close();
    const expected = encodeBlankCartridge({
      barcode: 'B1',
      capacityBytes: 3 * MiB + 5,
      createdAtSeconds: 1_700_000_000,
    });
    expect(Buffer.compare(await readFile(path), Buffer.from(expected))).toBe(0);
    expect(store.mam.mediumSerialNumber).toBe('B1_1700000000');
  });

  it('refuses to overwrite an existing file and leaves no temporary file behind', async () => {
    const path = join(dir, 'C.img');
    await writeFile(path, 'precious');
    await expect(TgtCartridgeFile.create(path, { barcode: 'C', capacityBytes: MiB })).rejects.toMatchObject({
      code: 'EEXIST',
    });
    expect(await readFile(path, 'utf8')).toBe('precious');
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual(['C.img']);
  });

  it.each([
    ['barcode', { barcode: 'has space', capacityBytes: MiB }],
    ['barcode', { barcode: '', capacityBytes: MiB }],
    ['capacityBytes', { barcode: 'X', capacityBytes: 0 }],
    ['capacityBytes', { barcode: 'X', capacityBytes: 1.5 }],
    ['writeProtected', { barcode: 'X', capacityBytes: MiB, writeProtected: 'yes' }],
  ])('rejects a bad %s option naming it', async (option, options) => {
    const error = await TgtCartridgeFile.create(join(dir, 'D.img'), options as never).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CartridgeOptionError);
    expect(error).toMatchObject({ code: 'INVALID_OPTION', option });
    expect((error as Error).message).toContain(option);
  });
});

describe('TgtCartridgeFile as a MediumStore', () => {
  const objects = [data(1000, 1), data(65536, 2), FM, data(1, 3), FM, FM, data(300_000, 4)];

  it('appends, lists, counts bytes and reads back data; a reopen sees the same after close', async () => {
    const path = join(dir, 'E.img');
    const store = await TgtCartridgeFile.create(path, { barcode: 'E', capacityBytes: 10 * MiB });
    await store.append(objects.slice(0, 3));
    await store.append(objects.slice(3));
    expect(listing(store)).toEqual(shape(objects));
    expect(store.bytesBefore(0)).toBe(0);
    expect(store.bytesBefore(3)).toBe(66536);
    expect(store.bytesBefore(7)).toBe(366537);
    expect(store.bytesBefore(100)).toBe(366537);
    expect(await store.readData(6)).toEqual(block(300_000, 4));
    await store.close();

    const reopened = await TgtCartridgeFile.open(path);
    expect(listing(reopened)).toEqual(shape(objects));
    for (const [i, o] of objects.entries()) {
      if (o.kind === 'data') expect(await reopened.readData(i)).toEqual(o.data);
    }
    await reopened.close();
  });

  it('stores zeros for a block given only its length', async () => {
    const store = await TgtCartridgeFile.create(join(dir, 'F.img'), { barcode: 'F', capacityBytes: MiB });
    await store.append([data(10, 9), { kind: 'data', length: 4096 }]);
    expect(await store.readData(1)).toEqual(new Uint8Array(4096));
    await store.close();
  });

  it('truncates in the middle, then appends where the truncated object was', async () => {
    const path = join(dir, 'G.img');
    const store = await TgtCartridgeFile.create(path, { barcode: 'G', capacityBytes: MiB });
    await store.append(objects);
    await store.sync();
    await store.truncate(3);
    expect(store.objectCount()).toBe(3);
    expect((await stat(path)).size).toBe(FIRST_BLOCK_OFFSET + 3 * 48 + 66536 + 48);
    await store.append([data(77, 5), FM]);
    await store.close();
    const reopened = await TgtCartridgeFile.open(path);
    expect(listing(reopened)).toEqual([
      ...shape(objects.slice(0, 3)),
      { kind: 'data', length: 77 },
      { kind: 'filemark' },
    ]);
    expect(await reopened.readData(3)).toEqual(block(77, 5));
    expect(await reopened.readData(1)).toEqual(block(65536, 2));
    await reopened.close();
  });

  it('truncate(objectCount()) is a no-op and truncate(0) empties the cartridge', async () => {
    const path = join(dir, 'H.img');
    const store = await TgtCartridgeFile.create(path, { barcode: 'H', capacityBytes: MiB });
    await store.append([data(10, 1), FM]);
    await store.truncate(2);
    expect(store.objectCount()).toBe(2);
    await store.sync();
    await store.truncate(0);
    expect(store.objectCount()).toBe(0);
    await store.close();
    expect((await stat(path)).size).toBe(BLANK_CARTRIDGE_SIZE);
    const reopened = await TgtCartridgeFile.open(path);
    expect(reopened.objectCount()).toBe(0);
    await reopened.close();
  });

  it('rejects arguments outside the contract with typed errors', async () => {
    const store = await TgtCartridgeFile.create(join(dir, 'I.img'), { barcode: 'I', capacityBytes: MiB });
    await store.append([data(10, 1), FM]);
    await expect(store.append([{ kind: 'data', length: 0 }])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'objects[0].length',
    });
    await expect(
      store.append([FM, { kind: 'data', length: 5, data: new Uint8Array(4) }]),
    ).rejects.toMatchObject({
      argument: 'objects[1].data',
    });
    await expect(store.readData(1)).rejects.toBeInstanceOf(CartridgeArgumentError);
    await expect(store.readData(2)).rejects.toMatchObject({ argument: 'index' });
    await expect(store.truncate(3)).rejects.toMatchObject({ argument: 'index' });
    expect(() => store.objectAt(-1)).toThrow(CartridgeArgumentError);
    expect(() => store.bytesBefore(0.5)).toThrow(CartridgeArgumentError);
    // A rejected append wrote nothing.
    expect(store.objectCount()).toBe(2);
    await store.close();
    await expect(store.append([FM])).rejects.toBeInstanceOf(CartridgeClosedError);
    await expect(store.close()).resolves.toBeUndefined();
  });

  it('refuses writes when opened write protected but still reads', async () => {
    const path = join(dir, 'J.img');
    const writer = await TgtCartridgeFile.create(path, { barcode: 'J', capacityBytes: MiB });
    await writer.append([data(10, 1)]);
    await writer.close();
    const reader = await TgtCartridgeFile.open(path, { writeProtected: true });
    expect(reader.info().writeProtected).toBe(true);
    await expect(reader.append([FM])).rejects.toBeInstanceOf(CartridgeWriteProtectedError);
    await expect(reader.truncate(0)).rejects.toMatchObject({ code: 'WRITE_PROTECTED', barcode: 'J' });
    expect(await reader.readData(0)).toEqual(block(10, 1));
    await reader.close();
  });
});

describe('TgtCartridgeFile durability', () => {
  it('a second handle (a crashed writer) sees exactly the synced objects', async () => {
    const path = join(dir, 'K.img');
    const writer = await TgtCartridgeFile.create(path, { barcode: 'K', capacityBytes: 10 * MiB });
    await writer.append([data(5000, 1), FM, data(7000, 2)]);
    await writer.sync();
    await writer.append([data(9000, 3), FM]);
    expect(writer.objectCount()).toBe(5);
    expect(writer.committedCount()).toBe(3);

    const afterCrash = await TgtCartridgeFile.open(path, { writeProtected: true });
    expect(listing(afterCrash)).toEqual(shape([data(5000, 1), FM, data(7000, 2)]));
    expect(await afterCrash.readData(2)).toEqual(block(7000, 2));
    await afterCrash.close();

    await writer.sync();
    const afterSync = await TgtCartridgeFile.open(path, { writeProtected: true });
    expect(afterSync.objectCount()).toBe(5);
    expect(await afterSync.readData(3)).toEqual(block(9000, 3));
    await afterSync.close();
    await writer.close();
  });

  it('loseUnsynced forgets unsynced objects; the next append and sync continue from the synced state', async () => {
    const path = join(dir, 'M.img');
    const store = await TgtCartridgeFile.create(path, { barcode: 'M', capacityBytes: MiB });
    await store.append([data(10, 1), FM]);
    await store.sync();
    await store.append([data(20, 2), FM, data(30, 3)]);
    expect(store.filemarksBefore(5)).toBe(2);
    store.loseUnsynced();
    expect(listing(store)).toEqual(shape([data(10, 1), FM]));
    expect(store.filemarksBefore(5)).toBe(1);
    expect(store.bytesBefore(2)).toBe(10);
    await store.append([data(40, 4)]);
    await store.close();
    const reopened = await TgtCartridgeFile.open(path);
    expect(listing(reopened)).toEqual(shape([data(10, 1), FM, data(40, 4)]));
    expect(await reopened.readData(2)).toEqual(block(40, 4));
    await reopened.close();
  });

  it('truncating only unsynced objects keeps the committed chain', async () => {
    const path = join(dir, 'L.img');
    const writer = await TgtCartridgeFile.create(path, { barcode: 'L', capacityBytes: MiB });
    await writer.append([data(10, 1)]);
    await writer.sync();
    await writer.append([data(20, 2), FM, data(30, 3)]);
    await writer.truncate(2);
    expect(writer.committedCount()).toBe(1);
    const other = await TgtCartridgeFile.open(path, { writeProtected: true });
    expect(other.objectCount()).toBe(1);
    await other.close();
    await writer.truncate(1);
    await writer.append([FM]);
    await writer.close();
    const reopened = await TgtCartridgeFile.open(path);
    expect(listing(reopened)).toEqual([{ kind: 'data', length: 10 }, { kind: 'filemark' }]);
    await reopened.close();
  });

  it('every power-loss outcome opens and lists a state that some completed call had committed', async () => {
    // Run a workload over a recording in-memory file, noting what a reader must see after each call.
    const blank = encodeBlankCartridge({ barcode: 'P', capacityBytes: MiB, createdAtSeconds: 1 });
    const io = new MemoryCartridgeIo(blank);
    const store = await TgtCartridgeFile.openIo(io);
    const checkpoints: { logLength: number; objects: AppendObject[] }[] = [{ logLength: 0, objects: [] }];
    let committed: AppendObject[] = [];
    let written: AppendObject[] = [];
    const step = async (action: () => Promise<void>, commits: () => AppendObject[]) => {
      await action();
      committed = commits();
      checkpoints.push({ logLength: io.log.length, objects: committed });
    };
    const append = (objects: AppendObject[]) =>
      step(
        () => store.append(objects),
        () => {
          written = [...written, ...objects];
          return committed;
        },
      );
    const sync = () =>
      step(
        () => store.sync(),
        () => written,
      );
    const truncate = (index: number) =>
      step(
        () => store.truncate(index),
        () => {
          written = written.slice(0, index);
          return committed.slice(0, Math.min(index, committed.length));
        },
      );
    await append([data(100, 1), FM]);
    await append([data(200, 2)]);
    await sync();
    await append([data(300, 3), data(50, 4), FM]);
    await truncate(4);
    await sync();
    await truncate(1);
    await append([data(60, 5), FM, FM]);
    await sync();
    await append([data(70, 6)]);

    // Between two fdatasyncs the kernel may persist any subset of the writes, in any order.
    const log = io.log;
    const barriers = log.flatMap((o, k) => (o.op === 'datasync' ? [k] : []));
    const epochs: [number, number][] = [];
    let start = 0;
    for (const b of [...barriers, log.length]) {
      epochs.push([start, b]);
      start = b + 1;
    }
    let outcomes = 0;
    for (const [from, to] of epochs) {
      const before = log.slice(0, from);
      const inEpoch = log.slice(from, to);
      expect(inEpoch.length).toBeLessThanOrEqual(12);
      // Allowed: the state before the epoch, any state a call completed inside it, and the result
      // of the call still running when the epoch ended.
      const allowed = checkpoints
        .filter((c) => c.logLength > from && c.logLength <= to + 1)
        .concat(checkpoints.filter((c) => c.logLength <= from).slice(-1))
        .concat(checkpoints.filter((c) => c.logLength > to + 1).slice(0, 1))
        .map((c) => c.objects);
      for (let mask = 0; mask < 1 << inEpoch.length; mask += 1) {
        const persisted: IoOperation[] = [...before, ...inEpoch.filter((_, k) => (mask >> k) & 1)];
        const image = MemoryCartridgeIo.apply(blank, persisted);
        const recovered = await TgtCartridgeFile.openIo(new MemoryCartridgeIo(image));
        const got = listing(recovered);
        const match = allowed.find((objects) => JSON.stringify(shape(objects)) === JSON.stringify(got));
        expect(match, `epoch [${from}, ${to}) mask ${mask}: ${JSON.stringify(got)}`).toBeDefined();
        for (const [i, o] of (match ?? []).entries()) {
          if (o.kind === 'data') expect(await recovered.readData(i)).toEqual(o.data);
        }
        outcomes += 1;
      }
    }
    expect(outcomes).toBeGreaterThan(20);
  });

  it('the durable image after a power loss lists the last synced state, intact', async () => {
    const blank = encodeBlankCartridge({ barcode: 'Q', capacityBytes: MiB, createdAtSeconds: 1 });
    const io = new MemoryCartridgeIo(blank);
    const store = await TgtCartridgeFile.openIo(io);
    await store.append([data(1000, 1), FM]);
    await store.sync();
    await store.append([data(2000, 2), FM, data(10, 3)]);
    const recovered = await TgtCartridgeFile.openIo(new MemoryCartridgeIo(io.durableImage()));
    expect(listing(recovered)).toEqual(shape([data(1000, 1), FM]));
    expect(await recovered.readData(0)).toEqual(block(1000, 1));
  });
});

describe('TgtCartridgeFile corrupt files', () => {
  async function written(): Promise<{ path: string; bytes: Buffer }> {
    const path = join(dir, 'Z.img');
    const store = await TgtCartridgeFile.create(path, { barcode: 'Z', capacityBytes: MiB });
    await store.append([data(100, 1), FM, data(200, 2)]);
    await store.close();
    return { path, bytes: await readFile(path) };
  }

  async function openError(path: string, bytes: Uint8Array): Promise<CartridgeCorruptError> {
    await writeFile(path, bytes);
    const error = await TgtCartridgeFile.open(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CartridgeCorruptError);
    return error as CartridgeCorruptError;
  }

  it('names the offset of a header whose checksum fails', async () => {
    const { path, bytes } = await written();
    const second = FIRST_BLOCK_OFFSET + 48 + 100;
    bytes[second + 20] = (bytes[second + 20] as number) ^ 0xff;
    const error = await openError(path, bytes);
    expect(error).toMatchObject({
      code: 'CARTRIDGE_CORRUPT',
      reason: 'header-checksum',
      offset: second,
      path,
    });
    expect(error.message).toContain(String(second));
  });

  it('reports a chain cut short by a truncated file', async () => {
    const { path, bytes } = await written();
    const error = await openError(path, bytes.subarray(0, bytes.length - 10));
    expect(error.reason).toBe('short-file');
    expect(error.offset).toBe(bytes.length - 48);
  });

  it('rejects a file too small to be a cartridge, a wrong version and a bad BOT', async () => {
    const { path, bytes } = await written();
    expect((await openError(path, bytes.subarray(0, 1000))).reason).toBe('short-file');
    const version = Buffer.from(bytes);
    version.writeUInt32BE(3, 48);
    expect(await openError(path, version)).toMatchObject({ reason: 'bad-version', offset: 48 });
    const bot = Buffer.from(bytes);
    bot[3] = (bot[3] as number) ^ 1;
    expect(await openError(path, bot)).toMatchObject({ reason: 'header-checksum', offset: 0 });
  });

  it('ignores bytes after EOD, as tgt leaves them after a write in the middle', async () => {
    const { path, bytes } = await written();
    await writeFile(path, Buffer.concat([bytes, Buffer.alloc(5000, 0xaa)]));
    const store = await TgtCartridgeFile.open(path);
    expect(store.objectCount()).toBe(3);
    await store.append([FM]);
    await store.close();
    expect((await TgtCartridgeFile.open(path, { writeProtected: true })).objectCount()).toBe(4);
  });
});
