/**
 * Format interoperability between the virtual drive and a real iSCSI tape target (tgtd, whose SSC
 * emulation nobody here wrote). The virtual drive keeps its media in tgt's SSC backing-store format,
 * so a cartridge written by it can be served by tgtd and read by tapedup over iSCSI, and a cartridge
 * written over iSCSI can be mounted in the virtual drive. Both directions are checked with the
 * tape-format reader: listings (tape files, block addresses, images, sizes, trailers), verification,
 * restores by SHA-256 (from BOT and positioned from the rebuilt catalog) and rebuilt catalogs must
 * agree with each other and with the layout computed from the image sizes alone.
 *
 * Two block payloads (powers of two, as the format requires): the writer's default, and 512 KiB,
 * whose data blocks are longer than half the largest block tgt reports (1 MiB), so that the reader's
 * READ of "up to the largest block" meets a block shorter than the request by less than its own
 * length. tgt before 1.0.94 (Debian 12 ships 1.0.85) then sends only `request - block` bytes of the
 * block (fujita/tgt c7011f2); the iSCSI device must not hand back bytes it never received.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IscsiTapeDevice } from '@tapedup/native';
import type { TapeDevice } from '@tapedup/scsi';
import {
  DATA_HEADER_LENGTH,
  DEFAULT_BLOCK_PAYLOAD_SIZE,
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
const TIMEOUTS = { short: 10_000, io: 20_000, long: 30_000 };
/** Data blocks of the spanning image that go into its first fragment. */
const SPAN_FIRST_BLOCKS = 4;

// One label for both directions: the format's content is then identical whichever device wrote it,
// so every listing below can be compared with every other.
const LABEL: VolumeLabel = {
  labelId: '5d1f0c2e-8a4b-4c6d-9e0f-a1b2c3d4e5f6',
  barcode: 'IOP001L9',
  pool: 'interop',
  createdAt: 1_700_000_000_000,
};

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The images of the interop tape, sized around the block payload `payload`. */
interface TapePlan {
  payload: number;
  images: {
    alpha: TestImage;
    beta: TestImage;
    mpxC: TestImage;
    mpxD: TestImage;
    mpxE: TestImage;
    spanning: TestImage;
    eta: TestImage;
  };
  all: TestImage[];
}

function tapePlan(payload: number): TapePlan {
  const image = (
    backupId: string,
    size: number,
    seed: number,
    extra: Partial<TestImage> = {},
  ): TestImage => ({
    backupId,
    data: testBytes(size, seed),
    ...extra,
  });
  // Partial last blocks, exactly one block, a one-byte stream image of unknown size, a second copy.
  const images = {
    alpha: image('alpha_1700000001', 2 * payload + 12_345, 11),
    beta: image('beta_1700000002', payload, 12),
    mpxC: image('gamma_1700000003', 3 * payload + 5, 13),
    mpxD: image('delta_1700000004', 1, 14, { kind: 'stream', sizeKnown: false }),
    mpxE: image('epsilon_1700000005', 5 * payload - 7, 15, { copy: 2 }),
    spanning: image('zeta_1700000006', (SPAN_FIRST_BLOCKS + 3) * payload + 999, 16),
    eta: image('eta_1700000007', payload - 1, 17),
  };
  return { payload, images, all: Object.values(images) };
}

const dataBlocks = (plan: TapePlan, size: number): number => Math.ceil(size / plan.payload);

interface Written {
  fragments: Array<{ tapeFile: number; blockNumber: number }>;
  emptyHeader: { tapeFile: number; blockNumber: number };
}

/**
 * The tape both directions write, through tape-format's writer side (encoders, ImageFramer) driven by
 * its TapeBuilder: label; a single-image fragment; a one-block image; an MPX fragment interleaving
 * three images; an image split over two fragments (maximum fragment size); another image; an empty
 * header. Every fragment ends with a filemark; the tape is synchronised at the end.
 */
async function writeInteropTape(
  device: TapeDevice,
  plan: TapePlan,
  emptyHeaderFilemark: boolean,
): Promise<Written> {
  const { images } = plan;
  const builder = new TapeBuilder(device, LABEL, plan.payload);
  await builder.writeLabel();
  const fragments: Written['fragments'] = [];
  fragments.push(await builder.writeFragment({ images: [builder.cursor(images.alpha)] }));
  fragments.push(await builder.writeFragment({ images: [builder.cursor(images.beta)] }));
  fragments.push(
    await builder.writeFragment({
      images: [builder.cursor(images.mpxC), builder.cursor(images.mpxD), builder.cursor(images.mpxE)],
    }),
  );
  const spanning = builder.cursor(images.spanning);
  fragments.push(
    await builder.writeFragment({
      images: [spanning],
      maxBlocks: SPAN_FIRST_BLOCKS,
      reason: 'max-fragment-size',
    }),
  );
  fragments.push(await builder.writeFragment({ images: [spanning] }));
  fragments.push(await builder.writeFragment({ images: [builder.cursor(images.eta)] }));
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

interface Layout {
  files: ExpectedFile[];
  endOfData: number | undefined;
}

/**
 * The layout computed from the image sizes alone, independently of any device: which tape file
 * starts at which logical object, how many blocks each holds and where its filemark is.
 */
function expectedLayout(plan: TapePlan, emptyHeaderFilemark: boolean): Layout {
  const { images } = plan;
  const whole = (im: TestImage): ExpectedFile['images'][number] => ({
    backupId: im.backupId,
    dataBlocks: dataBlocks(plan, im.data.length),
    bytes: im.data.length,
    ends: true,
  });
  const spanFirst = SPAN_FIRST_BLOCKS * plan.payload;
  const spanRest = images.spanning.data.length - spanFirst;
  const fragments: ExpectedFile['images'][] = [
    [whole(images.alpha)],
    [whole(images.beta)],
    [whole(images.mpxC), whole(images.mpxD), whole(images.mpxE)],
    [{ backupId: images.spanning.backupId, dataBlocks: SPAN_FIRST_BLOCKS, bytes: spanFirst, ends: false }],
    [
      {
        backupId: images.spanning.backupId,
        dataBlocks: dataBlocks(plan, spanRest),
        bytes: spanRest,
        ends: true,
      },
    ],
    [whole(images.eta)],
  ];
  const files: ExpectedFile[] = [
    { tapeFile: 0, blockNumber: 0, kind: 'label', blocks: 1, filemarkAt: 1, images: [] },
  ];
  let at = 2;
  fragments.forEach((fragmentImages, i) => {
    // Fragment header, data blocks, one trailer per image that ends here, fragment end record.
    const blocks = 2 + fragmentImages.reduce((n, im) => n + im.dataBlocks + (im.ends ? 1 : 0), 0);
    files.push({
      tapeFile: i + 1,
      blockNumber: at,
      kind: 'fragment',
      blocks,
      filemarkAt: at + blocks,
      images: fragmentImages,
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
}

/** The positions a writer should have been given for the fragments and the empty header. */
function writtenPositions(layout: Layout): Written {
  const last = layout.files.at(-1);
  return {
    fragments: layout.files
      .filter((f) => f.kind === 'fragment')
      .map((f) => ({ tapeFile: f.tapeFile, blockNumber: f.blockNumber })),
    emptyHeader: { tapeFile: last?.tapeFile ?? -1, blockNumber: last?.blockNumber ?? -1 },
  };
}

/** The listing reduced to what the writer determined, for comparison with `expectedLayout`. */
function layoutOf(listing: MediumListing): Layout {
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

interface Restored {
  sha256: string;
  bytes: number;
  /** The digest restoreImage reported (checked by it against the trailer). */
  reported: string;
}

interface ReaderView {
  listing: MediumListing;
  verified: Awaited<ReturnType<typeof verifyTape>>;
  /** By backupId: restored from BOT, and restored starting at its first fragment from the catalog. */
  restored: Map<string, { fromStart: Restored; positioned: Restored }>;
  catalog: RebuiltCatalog;
}

async function restore(
  device: TapeDevice,
  im: TestImage,
  startAt?: { tapeFile: number; blockNumber: number },
): Promise<Restored> {
  const sink = new HashingSink();
  const result = await restoreImage(device, { backupId: im.backupId, copy: im.copy ?? 1 }, sink, { startAt });
  return { sha256: sink.hash.digest('hex'), bytes: sink.bytes, reported: result.sha256 };
}

/** Everything the tape-format reader says about the medium in `device`. */
async function readWithTapedup(device: TapeDevice, plan: TapePlan): Promise<ReaderView> {
  const listing = await listTape(device);
  const verified = await verifyTape(device);
  const catalog = await rebuildCatalog([device]);
  const restored = new Map<string, { fromStart: Restored; positioned: Restored }>();
  for (const im of plan.all) {
    const fromStart = await restore(device, im);
    // As a restore driven by the catalog: straight to the image's first fragment (LOCATE where the
    // device has it, otherwise REWIND and SPACE over filemarks with the position counted).
    const first = catalog.images.find((r) => r.backupId === im.backupId)?.fragments[0];
    const positioned = await restore(
      device,
      im,
      first && { tapeFile: first.tapeFile, blockNumber: first.blockNumber },
    );
    restored.set(im.backupId, { fromStart, positioned });
  }
  return { listing, verified, restored, catalog };
}

/** The checks every read of the interop tape must pass, whichever device it came through. */
function expectFaithful(view: ReaderView, plan: TapePlan, emptyHeaderFilemark: boolean): void {
  expect(view.listing.problems.map((p) => `${p.code} at ${p.blockNumber}: ${p.message}`)).toEqual([]);
  expect(view.listing.label).toEqual(LABEL);
  const layout = expectedLayout(plan, emptyHeaderFilemark);
  expect(layoutOf(view.listing)).toEqual(layout);
  expect(view.listing.endsWithEmptyHeader).toBe(true);

  expect(view.verified.ok).toBe(true);
  expect(view.verified.images.map((r) => [r.backupId, r.copy, r.verdict]).sort()).toEqual(
    plan.all.map((im) => [im.backupId, im.copy ?? 1, 'ok']).sort(),
  );
  for (const im of plan.all) {
    const digest = { sha256: sha256(im.data), bytes: im.data.length, reported: sha256(im.data) };
    expect(view.restored.get(im.backupId), im.backupId).toEqual({ fromStart: digest, positioned: digest });
  }

  expect(view.catalog.media.map((m) => [m.barcode, m.tapeFiles, m.endOfData, m.emptyHeaderAt])).toEqual([
    [LABEL.barcode, layout.files.length, layout.endOfData, layout.files.at(-1)?.blockNumber],
  ]);
  expect(view.catalog.images.every((r) => r.status === 'ok')).toBe(true);
  const spanning = view.catalog.images.find((r) => r.backupId === plan.images.spanning.backupId);
  const spanFirst = SPAN_FIRST_BLOCKS * plan.payload;
  expect(
    spanning?.fragments.map((f) => [f.tapeFile, f.blockNumber, f.fragmentIndex, f.offset, f.bytes]),
  ).toEqual([
    [4, layout.files[4]?.blockNumber, 0, 0, spanFirst],
    [5, layout.files[5]?.blockNumber, 1, spanFirst, plan.images.spanning.data.length - spanFirst],
  ]);
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

/** Writes the interop tape with the virtual drive to a new cartridge file at `path`, synced and closed. */
async function writeVirtualCartridge(
  path: string,
  plan: TapePlan,
  emptyHeaderFilemark: boolean,
): Promise<Written> {
  const medium = await TgtCartridgeFile.create(path, { barcode: LABEL.barcode, capacityBytes: 256 * MiB });
  const drive = new VirtualDrive({ name: `virtual:${path}`, clock: new VirtualClock(), medium });
  try {
    await drive.open();
    return await writeInteropTape(drive, plan, emptyHeaderFilemark);
  } finally {
    await drive.close();
    // Closing the cartridge commits what the drive's final synchronous filemark flushed into it.
    await medium.close();
  }
}

type CartridgeObject = { kind: 'filemark' } | { kind: 'data'; length: number; sha256: string };

/** Every object of a cartridge file as the tgt backing-store chain holds it, data by digest. */
async function cartridgeObjects(path: string): Promise<CartridgeObject[]> {
  const medium = await TgtCartridgeFile.open(path, { writeProtected: true });
  try {
    const objects: CartridgeObject[] = [];
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

const PAYLOADS = [
  { name: 'default block payload', payload: DEFAULT_BLOCK_PAYLOAD_SIZE },
  // 512 KiB of payload plus the 32-byte data header: just over half of tgt's 1 MiB block limit.
  { name: 'blocks over half of the largest block tgt reports', payload: 512 * KiB },
];

const skip = tgtSkipReason();

if (skip !== undefined) {
  describe('format interoperability: virtual drive and tgtd over iSCSI', () => {
    it.skip(`skipped: ${skip}`, () => undefined);
  });
} else {
  describe('format interoperability: virtual drive and tgtd over iSCSI', () => {
    let target: TgtTarget;
    let dir: string;
    // LUNs serving files of our own are numbered apart from the target's fresh cartridges (1, 2, ...).
    let ownLun = 100;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tapedup-interop-'));
      target = await startTgtTarget({ luns: 0 });
    });
    afterAll(async () => {
      await target?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    describe.each(PAYLOADS)('$name ($payload bytes)', ({ payload }) => {
      const plan = tapePlan(payload);

      it('reads a cartridge written by the virtual drive, served by tgtd, exactly as the virtual drive does', async () => {
        const path = join(dir, `virtual-written-${payload}.tape`);
        const written = await writeVirtualCartridge(path, plan, false);
        // What the writer was told about positions is what the layout predicts.
        expect(written).toEqual(writtenPositions(expectedLayout(plan, false)));
        const fileBefore = sha256(await readFile(path));

        const local = await virtualDriveOn(path, true);
        let virtualView: ReaderView;
        try {
          virtualView = await readWithTapedup(local.drive, plan);
        } finally {
          await local.close();
        }
        expectFaithful(virtualView, plan, false);

        const lun = ownLun++;
        await serveCartridge(target, lun, path);
        const device = await iscsiDevice(target, lun);
        let iscsiView: ReaderView;
        try {
          expect(device.name).toContain(target.iqn);
          iscsiView = await readWithTapedup(device, plan);
        } finally {
          await device.close();
          await withdrawLun(target, lun);
        }
        expectFaithful(iscsiView, plan, false);

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
          written = await writeInteropTape(device, plan, true);
        } finally {
          await device.close();
        }
        // Positions over iSCSI are counted by the device (tgt's READ POSITION answers zeros).
        const layout = expectedLayout(plan, true);
        expect(written).toEqual(writtenPositions(layout));

        // Stop serving it (tgtd closes the file) and take the very file into the virtual drive.
        await withdrawLun(target, lun);
        const path = target.cartridge(lun);
        const local = await virtualDriveOn(path, true);
        try {
          expectFaithful(await readWithTapedup(local.drive, plan), plan, true);
        } finally {
          await local.close();
        }

        // Block for block, tgtd stored what the virtual drive stores for the same writes.
        const reference = join(dir, `virtual-reference-${payload}.tape`);
        await writeVirtualCartridge(reference, plan, true);
        const fromTgtd = await cartridgeObjects(path);
        expect(fromTgtd).toEqual(await cartridgeObjects(reference));
        expect(fromTgtd.length).toBe(layout.endOfData);
        const fullBlocks = fromTgtd.filter(
          (o) => o.kind === 'data' && o.length === payload + DATA_HEADER_LENGTH,
        ).length;
        expect(fullBlocks).toBe(plan.all.reduce((n, im) => n + Math.floor(im.data.length / payload), 0));
      });
    });
  });
}
