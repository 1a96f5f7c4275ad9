/**
 * Format interoperability between the virtual drive and a real iSCSI tape target (tgtd, whose SSC
 * emulation nobody here wrote). The virtual drive keeps its media in tgt's SSC backing-store format,
 * so a cartridge written by it can be served by tgtd and read by tapedup over iSCSI, and a cartridge
 * written over iSCSI can be mounted in the virtual drive. Both directions are checked with the
 * tape-format reader: listings (tape files, block addresses, images, sizes, trailers), verification,
 * restores by SHA-256 and rebuilt catalogs must agree with each other and with the layout the writer
 * laid down.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IscsiTapeDevice } from '@tapedup/native';
import type { TapeDevice } from '@tapedup/scsi';
import {
  type ImageSink,
  listTape,
  type MediumListing,
  type RebuiltCatalog,
  rebuildCatalog,
  restoreImage,
  type VolumeLabel,
  verifyTape,
} from '@tapedup/tape-format';
import { TapeBuilder, type TestImage, testBytes } from '@tapedup/tape-format/testing';
import { TgtCartridgeFile, VirtualClock, VirtualDrive } from '@tapedup/virtual-drive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTgtTarget, type TgtTarget, tgtSkipReason } from './helpers/tgt';
import { serveCartridge, withdrawLun } from './helpers/tgt-cartridge-lun';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Payload bytes per data block; every data block is this plus its 32-byte header. */
const PAYLOAD = 64 * KiB;
const DATA_HEADER = 32;
const TIMEOUTS = { short: 10_000, io: 20_000, long: 30_000 };

// One label for both directions: the format's content is then identical whichever device wrote it,
// so every listing below can be compared with every other.
const LABEL: VolumeLabel = {
  labelId: '5d1f0c2e-8a4b-4c6d-9e0f-a1b2c3d4e5f6',
  barcode: 'IOP001L9',
  pool: 'interop',
  createdAt: 1_700_000_000_000,
};

const image = (backupId: string, size: number, seed: number, extra: Partial<TestImage> = {}): TestImage => ({
  backupId,
  data: testBytes(size, seed),
  ...extra,
});

// Sizes chosen around the block payload: a partial block, exactly one block, one byte, large ones.
const IMAGES = {
  alpha: image('alpha_1700000001', 200_000, 11),
  beta: image('beta_1700000002', PAYLOAD, 12),
  mpxC: image('gamma_1700000003', 300 * KiB + 5, 13),
  mpxD: image('delta_1700000004', 1, 14, { kind: 'stream', sizeKnown: false }),
  mpxE: image('epsilon_1700000005', MiB + 7, 15, { copy: 2 }),
  spanning: image('zeta_1700000006', 2 * MiB + 12_345, 16),
  eta: image('eta_1700000007', 123_457, 17),
} satisfies Record<string, TestImage>;
const ALL_IMAGES: TestImage[] = Object.values(IMAGES);
/** Data blocks of the spanning image that go into its first fragment. */
const SPAN_FIRST_BLOCKS = 16;

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const dataBlocks = (size: number): number => Math.ceil(size / PAYLOAD);

interface Written {
  fragments: Array<{ tapeFile: number; blockNumber: number }>;
  emptyHeader: { tapeFile: number; blockNumber: number };
}

/**
 * The tape both directions write, through tape-format's writer side (encoders, ImageFramer) driven by
 * its TapeBuilder: label; a partial-block image; a one-block image; an MPX fragment interleaving
 * three images; an image split over two fragments (maximum fragment size); another image; an empty
 * header. Every fragment ends with a filemark; the tape is synchronised at the end.
 */
async function writeInteropTape(device: TapeDevice, emptyHeaderFilemark: boolean): Promise<Written> {
  const builder = new TapeBuilder(device, LABEL, PAYLOAD);
  await builder.writeLabel();
  const fragments: Written['fragments'] = [];
  fragments.push(await builder.writeFragment({ images: [builder.cursor(IMAGES.alpha)] }));
  fragments.push(await builder.writeFragment({ images: [builder.cursor(IMAGES.beta)] }));
  fragments.push(
    await builder.writeFragment({
      images: [builder.cursor(IMAGES.mpxC), builder.cursor(IMAGES.mpxD), builder.cursor(IMAGES.mpxE)],
    }),
  );
  const spanning = builder.cursor(IMAGES.spanning);
  fragments.push(
    await builder.writeFragment({
      images: [spanning],
      maxBlocks: SPAN_FIRST_BLOCKS,
      reason: 'max-fragment-size',
    }),
  );
  fragments.push(await builder.writeFragment({ images: [spanning] }));
  fragments.push(await builder.writeFragment({ images: [builder.cursor(IMAGES.eta)] }));
  const emptyHeader = await builder.writeEmptyHeader(emptyHeaderFilemark);
  await device.writeFilemarks(0, { immediate: false });
  return { fragments, emptyHeader };
}

interface ExpectedFile {
  tapeFile: number;
  blockNumber: number;
  kind: 'label' | 'fragment' | 'empty-header';
  blocks: number;
  filemarkAt: number | undefined;
  images: Array<{ backupId: string; dataBlocks: number; bytes: number; ends: boolean }>;
}

/**
 * The layout computed from the image sizes alone, independently of any device: which tape file
 * starts at which logical object, how many blocks each holds and where its filemark is.
 */
function expectedLayout(emptyHeaderFilemark: boolean): { files: ExpectedFile[]; endOfData: number } {
  const spanFirst = SPAN_FIRST_BLOCKS * PAYLOAD;
  const fragments: ExpectedFile['images'][] = [
    [whole(IMAGES.alpha)],
    [whole(IMAGES.beta)],
    [whole(IMAGES.mpxC), whole(IMAGES.mpxD), whole(IMAGES.mpxE)],
    [{ backupId: IMAGES.spanning.backupId, dataBlocks: SPAN_FIRST_BLOCKS, bytes: spanFirst, ends: false }],
    [
      {
        backupId: IMAGES.spanning.backupId,
        dataBlocks: dataBlocks(IMAGES.spanning.data.length - spanFirst),
        bytes: IMAGES.spanning.data.length - spanFirst,
        ends: true,
      },
    ],
    [whole(IMAGES.eta)],
  ];
  const files: ExpectedFile[] = [
    { tapeFile: 0, blockNumber: 0, kind: 'label', blocks: 1, filemarkAt: 1, images: [] },
  ];
  let at = 2;
  fragments.forEach((images, i) => {
    // Fragment header, data blocks, one trailer per image that ends here, fragment end record.
    const blocks = 2 + images.reduce((n, im) => n + im.dataBlocks + (im.ends ? 1 : 0), 0);
    files.push({
      tapeFile: i + 1,
      blockNumber: at,
      kind: 'fragment',
      blocks,
      filemarkAt: at + blocks,
      images,
    });
    at += blocks + 1;
  });
  files.push({
    tapeFile: fragments.length + 1,
    blockNumber: at,
    kind: 'empty-header',
    blocks: 1,
    filemarkAt: emptyHeaderFilemark ? at + 1 : undefined,
    images: [],
  });
  return { files, endOfData: at + (emptyHeaderFilemark ? 2 : 1) };

  function whole(im: TestImage): ExpectedFile['images'][number] {
    return {
      backupId: im.backupId,
      dataBlocks: dataBlocks(im.data.length),
      bytes: im.data.length,
      ends: true,
    };
  }
}

/** The listing reduced to what the writer determined, for comparison with `expectedLayout`. */
function layoutOf(listing: MediumListing): { files: ExpectedFile[]; endOfData: number | undefined } {
  return {
    files: listing.files.map((file) => ({
      tapeFile: file.tapeFile,
      blockNumber: file.blockNumber,
      kind: file.kind as ExpectedFile['kind'],
      blocks: file.blocks,
      filemarkAt: file.filemarkAt,
      images:
        file.kind === 'fragment'
          ? file.images.map((im) => ({
              backupId: im.entry.backupId,
              dataBlocks: im.dataBlocks,
              bytes: im.bytes,
              ends: im.trailer !== undefined,
            }))
          : [],
    })),
    endOfData: listing.endOfData?.blockNumber,
  };
}

/**
 * A deep copy without the device names (the only thing that legitimately differs between the same
 * cartridge read through two devices), with byte arrays as hex and errors as their codes.
 */
function deviceFree(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value instanceof Error) return { error: (value as Error & { code?: unknown }).code ?? value.message };
  if (Array.isArray(value)) return value.map(deviceFree);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== 'device')
        .map(([key, v]) => [key, deviceFree(v)]),
    );
  }
  return value;
}

/** Restored bytes go into a SHA-256 and a count; nothing is kept. */
class HashingSink implements ImageSink {
  hash: Hash = createHash('sha256');
  bytes = 0;

  write(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  reset(): void {
    this.hash = createHash('sha256');
    this.bytes = 0;
  }
}

interface ReaderView {
  listing: MediumListing;
  verified: Awaited<ReturnType<typeof verifyTape>>;
  restored: Map<string, { sha256: string; bytes: number; reported: string }>;
  catalog: RebuiltCatalog;
}

/** Everything the tape-format reader says about the medium in `device`. */
async function readWithTapedup(device: TapeDevice): Promise<ReaderView> {
  const listing = await listTape(device);
  const verified = await verifyTape(device);
  const restored = new Map<string, { sha256: string; bytes: number; reported: string }>();
  for (const im of ALL_IMAGES) {
    const sink = new HashingSink();
    const result = await restoreImage(device, { backupId: im.backupId, copy: im.copy ?? 1 }, sink);
    restored.set(im.backupId, {
      sha256: sink.hash.digest('hex'),
      bytes: sink.bytes,
      reported: result.sha256,
    });
  }
  const catalog = await rebuildCatalog([device]);
  return { listing, verified, restored, catalog };
}

/** The checks every read of the interop tape must pass, whichever device it came through. */
function expectFaithful(view: ReaderView, emptyHeaderFilemark: boolean): void {
  expect(view.listing.problems.map((p) => p.code)).toEqual([]);
  expect(view.listing.label).toEqual(LABEL);
  expect(layoutOf(view.listing)).toEqual(expectedLayout(emptyHeaderFilemark));
  expect(view.listing.endsWithEmptyHeader).toBe(true);

  expect(view.verified.ok).toBe(true);
  expect(view.verified.images.map((r) => [r.backupId, r.copy, r.verdict]).sort()).toEqual(
    ALL_IMAGES.map((im) => [im.backupId, im.copy ?? 1, 'ok']).sort(),
  );
  for (const im of ALL_IMAGES) {
    const restored = view.restored.get(im.backupId);
    expect(restored, im.backupId).toEqual({
      sha256: sha256(im.data),
      bytes: im.data.length,
      reported: sha256(im.data),
    });
  }
  const spanning = view.catalog.images.find((r) => r.backupId === IMAGES.spanning.backupId);
  expect(spanning?.fragments.map((f) => [f.tapeFile, f.fragmentIndex, f.offset, f.bytes])).toEqual([
    [4, 0, 0, SPAN_FIRST_BLOCKS * PAYLOAD],
    [5, 1, SPAN_FIRST_BLOCKS * PAYLOAD, IMAGES.spanning.data.length - SPAN_FIRST_BLOCKS * PAYLOAD],
  ]);
  expect(view.catalog.images.every((r) => r.status === 'ok')).toBe(true);
}

/** Writes the interop tape with the virtual drive to a new cartridge file at `path`, synced and closed. */
async function writeVirtualCartridge(path: string, emptyHeaderFilemark: boolean): Promise<Written> {
  const medium = await TgtCartridgeFile.create(path, { barcode: LABEL.barcode, capacityBytes: 256 * MiB });
  const drive = new VirtualDrive({ name: `virtual:${path}`, clock: new VirtualClock(), medium });
  try {
    await drive.open();
    return await writeInteropTape(drive, emptyHeaderFilemark);
  } finally {
    await drive.close();
    // Closing the cartridge commits what the drive's final synchronous filemark flushed into it.
    await medium.close();
  }
}

/** The positions a writer should have been given for the fragments and the empty header. */
function writtenPositions(layout: { files: ExpectedFile[] }): Written {
  const last = layout.files.at(-1);
  return {
    fragments: layout.files
      .filter((f) => f.kind === 'fragment')
      .map((f) => ({ tapeFile: f.tapeFile, blockNumber: f.blockNumber })),
    emptyHeader: { tapeFile: last?.tapeFile ?? -1, blockNumber: last?.blockNumber ?? -1 },
  };
}

/** Every object of a cartridge file as the tgt backing-store chain holds it, data by digest. */
async function cartridgeObjects(
  path: string,
): Promise<Array<{ kind: 'filemark' } | { kind: 'data'; length: number; sha256: string }>> {
  const medium = await TgtCartridgeFile.open(path, { writeProtected: true });
  try {
    const objects: Array<{ kind: 'filemark' } | { kind: 'data'; length: number; sha256: string }> = [];
    for (let i = 0; i < medium.objectCount(); i++) {
      const object = medium.objectAt(i);
      if (object?.kind === 'data') {
        objects.push({ kind: 'data', length: object.length, sha256: sha256(await medium.readData(i)) });
      } else {
        objects.push({ kind: 'filemark' });
      }
    }
    return objects;
  } finally {
    await medium.close();
  }
}

/** A virtual drive (LTO-9 model on a virtual clock) with a cartridge file loaded. */
async function virtualDriveOn(
  path: string,
  writeProtected: boolean,
): Promise<{ drive: VirtualDrive; close(): Promise<void> }> {
  const medium = await TgtCartridgeFile.open(path, { writeProtected });
  const drive = new VirtualDrive({ name: `virtual:${path}`, clock: new VirtualClock(), medium });
  await drive.open();
  return {
    drive,
    async close() {
      await drive.close();
      await medium.close();
    },
  };
}

async function iscsiDevice(target: TgtTarget, lun: number): Promise<IscsiTapeDevice> {
  const device = new IscsiTapeDevice({
    host: target.host,
    port: target.port,
    targetIqn: target.iqn,
    lun,
    timeoutsMs: TIMEOUTS,
  });
  await device.open();
  return device;
}

const skip = tgtSkipReason();

if (skip !== undefined) {
  describe('format interoperability: virtual drive and tgtd over iSCSI', () => {
    it.skip(`skipped: ${skip}`, () => undefined);
  });
} else {
  describe('format interoperability: virtual drive and tgtd over iSCSI', () => {
    let target: TgtTarget;
    let dir: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tapedup-interop-'));
      target = await startTgtTarget({ luns: 0 });
    });
    afterAll(async () => {
      await target?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('reads a cartridge written by the virtual drive, served by tgtd, exactly as the virtual drive does', async () => {
      const path = join(dir, 'virtual-written.tape');
      const written = await writeVirtualCartridge(path, false);
      const expected = expectedLayout(false);
      // What the writer was told about positions is what the layout predicts.
      expect(written).toEqual(writtenPositions(expected));
      const fileBefore = sha256(await readFile(path));

      const local = await virtualDriveOn(path, true);
      let virtualView: ReaderView;
      try {
        virtualView = await readWithTapedup(local.drive);
      } finally {
        await local.close();
      }
      expectFaithful(virtualView, false);

      const lun = 10;
      await serveCartridge(target, lun, path);
      const device = await iscsiDevice(target, lun);
      let iscsiView: ReaderView;
      try {
        expect(device.name).toContain(target.iqn);
        iscsiView = await readWithTapedup(device);
      } finally {
        await device.close();
        await withdrawLun(target, lun);
      }
      expectFaithful(iscsiView, false);

      // The same medium through both devices: the same listing, verdicts and catalog, to the field.
      expect(deviceFree(iscsiView.listing)).toEqual(deviceFree(virtualView.listing));
      expect(deviceFree(iscsiView.verified)).toEqual(deviceFree(virtualView.verified));
      expect(deviceFree(iscsiView.catalog)).toEqual(deviceFree(virtualView.catalog));
      expect(iscsiView.restored).toEqual(virtualView.restored);
      // Reading over iSCSI left the cartridge as the virtual drive wrote it.
      expect(sha256(await readFile(path))).toBe(fileBefore);
    });

    it('mounts a cartridge written over iSCSI by tgtd in the virtual drive and restores every image', async () => {
      const lun = await target.addLun();
      const device = await iscsiDevice(target, lun);
      let written: Written;
      try {
        written = await writeInteropTape(device, true);
      } finally {
        await device.close();
      }
      // Positions over iSCSI are counted by the device (tgt's READ POSITION answers zeros).
      const expected = expectedLayout(true);
      expect(written).toEqual(writtenPositions(expected));

      // Stop serving it (tgtd closes the file) and take the very file into the virtual drive.
      await withdrawLun(target, lun);
      const path = target.cartridge(lun);
      const local = await virtualDriveOn(path, true);
      try {
        expectFaithful(await readWithTapedup(local.drive), true);
      } finally {
        await local.close();
      }

      // Block for block, tgtd stored what the virtual drive stores for the same writes.
      const reference = join(dir, 'virtual-reference.tape');
      await writeVirtualCartridge(reference, true);
      const fromTgtd = await cartridgeObjects(path);
      expect(fromTgtd).toEqual(await cartridgeObjects(reference));
      expect(fromTgtd.length).toBe(expected.endOfData);
      const fullBlocks = fromTgtd.filter((o) => o.kind === 'data' && o.length === PAYLOAD + DATA_HEADER);
      expect(fullBlocks.length).toBe(
        ALL_IMAGES.reduce((n, im) => n + Math.floor(im.data.length / PAYLOAD), 0),
      );
    });
  });
}
