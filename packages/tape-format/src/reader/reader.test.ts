import { createHash } from 'node:crypto';
import { ScsiError, SenseKey } from '@tapedup/scsi';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeDataBlock, encodeDataBlock } from '../data-block';
import { blockTypeOf } from '../decode-block';
import { TapeFormatError } from '../errors';
import { decodeFragmentEnd } from '../fragment-end';
import { encodeImageTrailer } from '../image-trailer';
import { MemoryTape } from '../testing/memory-tape';
import { CollectingSink } from '../testing/sinks';
import { TapeBuilder, type TestImage, testBytes } from '../testing/tape-builder';
import type { VolumeLabel } from '../volume-label';
import { listTape, verifyTape } from './list-tape';
import { rebuildCatalog } from './rebuild-catalog';
import { restoreImage } from './restore-image';

const label1: VolumeLabel = {
  labelId: '11111111-2222-4333-8444-555555555555',
  barcode: 'TAPE01L9',
  pool: 'offsite',
  createdAt: 1_700_000_000_000,
};
const label2: VolumeLabel = {
  ...label1,
  labelId: '66666666-2222-4333-8444-555555555555',
  barcode: 'TAPE02L9',
};

const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

async function openTape(
  name: string,
  options: ConstructorParameters<typeof MemoryTape>[0] = {},
): Promise<MemoryTape> {
  const tape = new MemoryTape({ name, ...options });
  await tape.open();
  return tape;
}

async function rejection(promise: Promise<unknown>): Promise<TapeFormatError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TapeFormatError) return error;
    throw error;
  }
  throw new Error('expected a TapeFormatError');
}

async function restored(tapes: MemoryTape | MemoryTape[], backupId: string, copy = 1): Promise<Buffer> {
  const sink = new CollectingSink();
  await restoreImage(tapes, { backupId, copy }, sink);
  return sink.bytes();
}

/** Index of the n-th data block of a tag on the medium (its logical object number). */
function dataBlockAt(tape: MemoryTape, tag: number, n: number): number {
  let seen = 0;
  for (let i = 0; i < tape.objects.length; i++) {
    const o = tape.objects[i]!;
    if (
      o.kind === 'data' &&
      blockTypeOf(o.data) === 'data' &&
      decodeDataBlock(o.data).tag === tag &&
      seen++ === n
    ) {
      return i;
    }
  }
  throw new Error(`no data block ${n} for tag ${tag}`);
}

const imgA: TestImage = { backupId: 'alpha_1700000001', data: testBytes(2500, 1) };
const imgB: TestImage = {
  backupId: 'beta_1700000002',
  data: testBytes(5000, 2),
  kind: 'stream',
  sizeKnown: false,
};
const imgC: TestImage = { backupId: 'gamma_1700000003', data: testBytes(1024 * 3, 3), copy: 2 };
const imgD: TestImage = { backupId: 'delta_1700000004', data: testBytes(1800, 4) };

describe('single-image fragments', () => {
  let tape: MemoryTape;
  beforeEach(async () => {
    tape = await openTape('t1');
    const b = new TapeBuilder(tape, label1);
    await b.writeLabel();
    await b.writeFragment({ images: [b.cursor(imgA)] });
    await b.writeFragment({ images: [b.cursor(imgC)] });
  });

  it('lists the label and each fragment with block addresses, counts, trailers and filemarks', async () => {
    const listing = await listTape(tape);
    expect(listing.label).toEqual(label1);
    expect(listing.problems).toEqual([]);
    const [lbl, f1, f2] = listing.files;
    expect(lbl).toMatchObject({ kind: 'label', tapeFile: 0, blockNumber: 0, blocks: 1, filemarkAt: 1 });
    // header + 3 data blocks (1024+1024+452) + trailer + fragment end = 6 blocks, objects 2..7, filemark 8
    expect(f1).toMatchObject({ kind: 'fragment', tapeFile: 1, blockNumber: 2, blocks: 6, filemarkAt: 8 });
    expect(f2).toMatchObject({ kind: 'fragment', tapeFile: 2, blockNumber: 9, blocks: 6, filemarkAt: 15 });
    if (f1?.kind !== 'fragment' || f2?.kind !== 'fragment') throw new Error('fragments expected');
    expect(f1.images).toHaveLength(1);
    expect(f1.images[0]).toMatchObject({
      dataBlocks: 3,
      bytes: 2500,
      joined: false,
      introducedAt: 2,
      trailerAt: 6,
    });
    expect(f1.images[0]!.entry).toMatchObject({
      backupId: imgA.backupId,
      copy: 1,
      totalSize: 2500,
      kind: 'disk',
    });
    expect(f1.images[0]!.trailer).toMatchObject({ status: 'complete', totalBytes: 2500, blockCount: 3 });
    expect(f1.end).toMatchObject({ tapeFile: 1, reason: 'image-complete' });
    expect(f2.images[0]!.entry).toMatchObject({ backupId: imgC.backupId, copy: 2 });
    expect(listing.endOfData).toEqual({ device: 't1', tapeFile: 3, blockNumber: 16 });
    expect(listing.endsWithEmptyHeader).toBe(false);
  });

  it('restores each image byte for byte and verifies the tape', async () => {
    expect(await restored(tape, imgA.backupId)).toEqual(Buffer.from(imgA.data));
    expect(await restored(tape, imgC.backupId, 2)).toEqual(Buffer.from(imgC.data));
    const verdict = await verifyTape(tape);
    expect(verdict.ok).toBe(true);
    expect(verdict.images.map((i) => [i.backupId, i.verdict, i.sha256])).toEqual([
      [imgA.backupId, 'ok', sha(imgA.data)],
      [imgC.backupId, 'ok', sha(imgC.data)],
    ]);
  });

  it('does not confuse copies: copy 1 of gamma is not on the tape', async () => {
    const e = await rejection(restoreImage(tape, { backupId: imgC.backupId, copy: 1 }, new CollectingSink()));
    expect(e).toMatchObject({ code: 'IMAGE_NOT_FOUND', backupId: imgC.backupId, copy: 1 });
  });

  it('restores from a catalog position (LOCATE, or REWIND + SPACE without a block address)', async () => {
    const catalog = await rebuildCatalog([tape]);
    const c = catalog.images.find((i) => i.backupId === imgC.backupId)!;
    expect(c.fragments[0]).toMatchObject({
      barcode: 'TAPE01L9',
      tapeFile: 2,
      blockNumber: 9,
      offset: 0,
      bytes: 3072,
    });
    for (const startAt of [{ tapeFile: 2, blockNumber: 9 }, { tapeFile: 2 }]) {
      const reads: number[] = [];
      const original = tape.readBlock.bind(tape);
      tape.readBlock = async (max) => {
        reads.push(tape.position);
        return original(max);
      };
      const sink = new CollectingSink();
      const result = await restoreImage(tape, { backupId: imgC.backupId, copy: 2 }, sink, { startAt });
      tape.readBlock = original;
      expect(sink.bytes()).toEqual(Buffer.from(imgC.data));
      expect(result.fragments[0]).toMatchObject({ tapeFile: 2, blockNumber: 9 });
      expect(reads[0]).toBe(9); // started at the fragment header, the label and fragment 1 were not read
    }
  });

  it('awaits the sink before reading the next block (backpressure, one block in flight)', async () => {
    let writing = false;
    let overlapped = false;
    const original = tape.readBlock.bind(tape);
    tape.readBlock = async (max) => {
      if (writing) overlapped = true;
      return original(max);
    };
    let resolveWrite: (() => void) | undefined;
    const chunks: number[] = [];
    const sink = {
      write: (chunk: Uint8Array) => {
        writing = true;
        chunks.push(chunk.length);
        return new Promise<void>((resolve) => {
          resolveWrite = () => {
            writing = false;
            resolve();
          };
          queueMicrotask(() => setImmediate(() => resolveWrite?.()));
        });
      },
    };
    await restoreImage(tape, { backupId: imgA.backupId, copy: 1 }, sink);
    expect(chunks).toEqual([1024, 1024, 452]);
    expect(overlapped).toBe(false);
  });
});

describe('MPX fragments', () => {
  let tape: MemoryTape;
  beforeEach(async () => {
    tape = await openTape('mpx');
    const b = new TapeBuilder(tape, label1);
    await b.writeLabel();
    await b.writeFragment({
      images: [b.cursor(imgA), b.cursor(imgB), b.cursor(imgC)],
      joins: [{ afterBlocks: 4, images: [b.cursor(imgD)] }],
    });
  });

  it('interleaves blocks of three images and a joining fourth one', async () => {
    const tags = tape.objects
      .filter((o) => o.kind === 'data' && blockTypeOf(o.data) === 'data')
      .map((o) => (o.kind === 'data' ? decodeDataBlock(o.data).tag : -1));
    expect(tags.slice(0, 6)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(tags).toContain(3);
    const listing = await listTape(tape);
    const frag = listing.files[1]!;
    if (frag.kind !== 'fragment') throw new Error('fragment expected');
    expect(frag.images.map((i) => [i.entry.backupId, i.joined, i.bytes])).toEqual([
      [imgA.backupId, false, 2500],
      [imgB.backupId, false, 5000],
      [imgC.backupId, false, 3072],
      [imgD.backupId, true, 1800],
    ]);
    expect(frag.images[3]!.introducedAt).toBeGreaterThan(frag.blockNumber);
    expect(frag.images[1]!.entry.totalSize).toBeUndefined();
  });

  it('demultiplexes every image byte for byte', async () => {
    for (const img of [imgA, imgB, imgC, imgD]) {
      expect(await restored(tape, img.backupId, img.copy ?? 1)).toEqual(Buffer.from(img.data));
    }
    expect((await verifyTape(tape)).images.map((i) => i.verdict)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('a payload bit flip fails that image with BAD_CRC naming the block; the others still restore', async () => {
    const at = dataBlockAt(tape, 1, 2);
    const o = tape.objects[at]!;
    if (o.kind !== 'data') throw new Error('data expected');
    o.data[100]! ^= 0x04;
    const e = await rejection(restoreImage(tape, { backupId: imgB.backupId, copy: 1 }, new CollectingSink()));
    expect(e).toMatchObject({
      code: 'BAD_CRC',
      field: 'payload',
      blockNumber: at,
      tapeFile: 1,
      tag: 1,
      sequence: 2,
    });
    expect(e.device).toBe('mpx');
    expect(await restored(tape, imgA.backupId)).toEqual(Buffer.from(imgA.data));
    const verdict = await verifyTape(tape);
    expect(verdict.ok).toBe(false);
    expect(verdict.images.find((i) => i.backupId === imgB.backupId)).toMatchObject({ verdict: 'corrupt' });
    expect(verdict.images.filter((i) => i.verdict === 'ok')).toHaveLength(3);
    expect(verdict.media[0]!.problems.map((p) => [p.code, p.blockNumber])).toEqual([['BAD_CRC', at]]);
  });

  it('a truncated block is blamed on the image whose sequence it breaks; the others restore', async () => {
    const at = dataBlockAt(tape, 2, 1);
    const o = tape.objects[at]!;
    if (o.kind !== 'data') throw new Error('data expected');
    o.data = o.data.slice(0, 20);
    // The block's owner shows itself by the gap in its sequence; the truncated block is named as the cause.
    const e = await rejection(restoreImage(tape, { backupId: imgC.backupId, copy: 2 }, new CollectingSink()));
    expect(e).toMatchObject({ code: 'TRUNCATED', blockNumber: at });
    for (const img of [imgA, imgB, imgD]) {
      expect(await restored(tape, img.backupId)).toEqual(Buffer.from(img.data));
    }
    const v = await verifyTape(tape);
    expect(v.media[0]!.problems[0]).toMatchObject({ code: 'TRUNCATED', blockNumber: at });
    expect(Object.fromEntries(v.images.map((i) => [i.backupId, i.verdict]))).toEqual({
      [imgA.backupId]: 'ok',
      [imgB.backupId]: 'ok',
      [imgC.backupId]: 'corrupt',
      [imgD.backupId]: 'ok',
    });
    const c = v.images.find((i) => i.backupId === imgC.backupId)!;
    expect(c.problems.map((p) => p.code)).toEqual(['TRUNCATED', 'SEQUENCE_GAP']);
  });

  it('a missing block is a SEQUENCE_GAP', async () => {
    const at = dataBlockAt(tape, 0, 1);
    tape.objects.splice(at, 1);
    const e = await rejection(restoreImage(tape, { backupId: imgA.backupId, copy: 1 }, new CollectingSink()));
    expect(e).toMatchObject({ code: 'SEQUENCE_GAP', sequence: 2, tag: 0 });
    const v = await verifyTape(tape);
    expect(v.images.find((i) => i.backupId === imgA.backupId)!.problems.map((p) => p.code)).toContain(
      'SEQUENCE_GAP',
    );
  });

  it('a trailer whose digest does not match is TRAILER_MISMATCH on sha256', async () => {
    const at = tape.objects.findIndex((o) => o.kind === 'data' && blockTypeOf(o.data) === 'image-trailer');
    const o = tape.objects[at]!;
    if (o.kind !== 'data') throw new Error('trailer expected');
    // The first trailer is image D's or A's; rewrite it with a wrong digest but a valid CRC.
    const view = new DataView(o.data.buffer, o.data.byteOffset);
    const tag = view.getUint16(12);
    o.data = encodeImageTrailer({
      tag,
      status: 'complete',
      totalBytes: Number(view.getBigUint64(16)),
      blockCount: Number(view.getBigUint64(24)),
      sha256: new Uint8Array(32),
    });
    const owner = [imgA, imgB, imgC, imgD][tag]!;
    const e = await rejection(
      restoreImage(tape, { backupId: owner.backupId, copy: owner.copy ?? 1 }, new CollectingSink()),
    );
    expect(e).toMatchObject({ code: 'TRAILER_MISMATCH', field: 'sha256', blockNumber: at });
    const v = await verifyTape(tape);
    expect(v.images.find((i) => i.backupId === owner.backupId)).toMatchObject({ verdict: 'corrupt' });
  });

  it('a fragment header with a wrong magic is reported and its images are not found', async () => {
    const header = tape.objects[2]!;
    if (header.kind !== 'data') throw new Error('header expected');
    header.data[0] = 0x00;
    const listing = await listTape(tape);
    expect(listing.files[1]).toMatchObject({ kind: 'unrecognised', tapeFile: 1, blockNumber: 2 });
    expect(listing.problems[0]).toMatchObject({ code: 'BAD_MAGIC', blockNumber: 2 });
    expect(
      listing.problems.slice(1).every((p) => p.code === 'UNKNOWN_TAG' || p.code === 'UNEXPECTED_BLOCK'),
    ).toBe(true);
    const e = await rejection(restoreImage(tape, { backupId: imgA.backupId, copy: 1 }, new CollectingSink()));
    expect(e.code).toBe('IMAGE_NOT_FOUND');
  });
});

describe('empty header', () => {
  it('is listed as the end of data when nothing follows it', async () => {
    const tape = await openTape('eh');
    const b = new TapeBuilder(tape, label1);
    await b.writeLabel();
    await b.writeFragment({ images: [b.cursor(imgA), b.cursor(imgB)] });
    const eh = await b.writeEmptyHeader();
    const listing = await listTape(tape);
    expect(listing.endsWithEmptyHeader).toBe(true);
    expect(listing.files.at(-1)).toMatchObject({
      kind: 'empty-header',
      tapeFile: 2,
      blockNumber: eh.blockNumber,
      blocks: 1,
    });
    expect(listing.problems).toEqual([]);
    const catalog = await rebuildCatalog([tape]);
    expect(catalog.media[0]).toMatchObject({
      emptyHeaderAt: eh.blockNumber,
      tapeFiles: 3,
      barcode: 'TAPE01L9',
    });
    expect(await restored(tape, imgB.backupId)).toEqual(Buffer.from(imgB.data));
  });

  for (const withFilemark of [false, true]) {
    it(`overwritten by the next fragment header (EH ${withFilemark ? 'with' : 'without'} filemark) leaves no trace`, async () => {
      const tape = await openTape('eh2');
      const b = new TapeBuilder(tape, label1);
      await b.writeLabel();
      await b.writeFragment({ images: [b.cursor(imgA)] });
      const eh = await b.writeEmptyHeader(withFilemark);
      await tape.locate(eh.blockNumber);
      const next = await b.writeFragment({ images: [b.cursor(imgC)] });
      expect(next).toEqual(eh);
      const listing = await listTape(tape);
      expect(listing.endsWithEmptyHeader).toBe(false);
      expect(listing.files.map((f) => f.kind)).toEqual(['label', 'fragment', 'fragment']);
      expect(listing.problems).toEqual([]);
      expect(await restored(tape, imgC.backupId, 2)).toEqual(Buffer.from(imgC.data));
    });
  }

  it('a fragment appended after an EH and its filemark (not overwritten) is still read', async () => {
    const tape = await openTape('eh3');
    const b = new TapeBuilder(tape, label1);
    await b.writeLabel();
    await b.writeFragment({ images: [b.cursor(imgA)] });
    await b.writeEmptyHeader(true);
    b.tapeFile += 1;
    await b.writeFragment({ images: [b.cursor(imgD)] });
    const listing = await listTape(tape);
    expect(listing.files.map((f) => f.kind)).toEqual(['label', 'fragment', 'empty-header', 'fragment']);
    expect(listing.endsWithEmptyHeader).toBe(false);
    expect(await restored(tape, imgD.backupId)).toEqual(Buffer.from(imgD.data));
  });
});

describe('spanning and split fragments', () => {
  const big: TestImage = { backupId: 'huge_1700000009', data: testBytes(10_000, 9) };
  let t1: MemoryTape;
  let t2: MemoryTape;
  beforeEach(async () => {
    t1 = await openTape('drive0:TAPE01');
    t2 = await openTape('drive0:TAPE02');
    const b1 = new TapeBuilder(t1, label1);
    await b1.writeLabel();
    const cursor = b1.cursor(big);
    // A split on the same medium (max fragment size), then early warning ends the medium.
    await b1.writeFragment({ images: [cursor, b1.cursor(imgA)], maxBlocks: 6, reason: 'max-fragment-size' });
    await b1.writeFragment({ images: [cursor], maxBlocks: 3, endsMedium: true });
    const b2 = new TapeBuilder(t2, label2);
    await b2.writeLabel();
    await b2.writeFragment({ images: [cursor, b2.cursor(imgD)] });
  });

  it("records continuation in the fragment end and the next medium's header", async () => {
    const l1 = await listTape(t1);
    const last = l1.files.at(-1)!;
    if (last.kind !== 'fragment') throw new Error('fragment expected');
    expect(last.end).toMatchObject({ reason: 'end-of-medium' });
    expect(last.end!.images[0]).toMatchObject({ continues: true, continuesOnOtherMedium: true });
    const l2 = await listTape(t2);
    const first = l2.files[1]!;
    if (first.kind !== 'fragment') throw new Error('fragment expected');
    expect(first.images[0]!.entry).toMatchObject({
      fragmentIndex: 2,
      fromOtherMedium: true,
      firstSequence: 6,
    });
    expect(first.images[0]!.entry.offset).toBe(6 * 1024);
    const endRecord = t1.objects.findLast((o) => o.kind === 'data' && blockTypeOf(o.data) === 'fragment-end');
    expect(endRecord?.kind === 'data' && decodeFragmentEnd(endRecord.data).tapeFile).toBe(2);
  });

  it('restores across media given in order, or through nextMedium', async () => {
    expect(await restored([t1, t2], big.backupId)).toEqual(Buffer.from(big.data));
    const asked: Array<string | undefined> = [];
    const sink = new CollectingSink();
    const result = await restoreImage(t1, { backupId: big.backupId, copy: 1 }, sink, {
      nextMedium: async (after) => {
        asked.push(after.label?.barcode);
        return asked.length === 1 ? t2 : undefined;
      },
    });
    expect(sink.bytes()).toEqual(Buffer.from(big.data));
    expect(asked).toEqual(['TAPE01L9']);
    expect(result.fragments.map((f) => [f.barcode, f.tapeFile, f.offset, f.bytes])).toEqual([
      ['TAPE01L9', 1, 0, 3072],
      ['TAPE01L9', 2, 3072, 3072],
      ['TAPE02L9', 1, 6144, 3856],
    ]);
    expect(result.sha256).toBe(sha(big.data));
  });

  it('fails with INCOMPLETE_IMAGE when the next medium is missing', async () => {
    const e = await rejection(restoreImage(t1, { backupId: big.backupId, copy: 1 }, new CollectingSink()));
    expect(e).toMatchObject({ code: 'INCOMPLETE_IMAGE', backupId: big.backupId });
  });

  it('verifies spans whole, and says what it cannot check on one medium alone', async () => {
    const both = await verifyTape([t1, t2]);
    expect(both.ok).toBe(true);
    expect(both.images.find((i) => i.backupId === big.backupId)).toMatchObject({
      verdict: 'ok',
      sha256: sha(big.data),
    });
    const first = await verifyTape(t1);
    expect(first.images.find((i) => i.backupId === big.backupId)).toMatchObject({
      verdict: 'incomplete',
      endOffset: 6144,
    });
    const second = await verifyTape(t2);
    expect(second.images.find((i) => i.backupId === big.backupId)).toMatchObject({
      verdict: 'unverified',
      startOffset: 6144,
      endOffset: 10_000,
    });
  });

  it('rebuilds the catalog from the two media with no catalog at hand', async () => {
    const catalog = await rebuildCatalog([t1, t2]);
    expect(catalog.media.map((m) => [m.barcode, m.tapeFiles, m.problems])).toEqual([
      ['TAPE01L9', 3, 0],
      ['TAPE02L9', 2, 0],
    ]);
    const record = catalog.images.find((i) => i.backupId === big.backupId)!;
    expect(record).toMatchObject({
      status: 'ok',
      size: 10_000,
      blocks: 10,
      sha256: sha(big.data),
      kind: 'disk',
    });
    expect(
      record.fragments.map((f) => [f.barcode, f.tapeFile, f.blockNumber, f.fragmentIndex, f.offset, f.bytes]),
    ).toEqual([
      ['TAPE01L9', 1, 2, 0, 0, 3072],
      ['TAPE01L9', 2, t1.objects.findIndex((o, i) => i > 2 && o.kind === 'filemark') + 1, 1, 3072, 3072],
      ['TAPE02L9', 1, 2, 2, 6144, 3856],
    ]);
    expect(catalog.images.map((i) => i.backupId).sort()).toEqual(
      [imgA.backupId, imgD.backupId, big.backupId].sort(),
    );
  });

  it('a fragment whose offset does not continue the image is a DISCONTINUITY', async () => {
    // Drop tape 1's second fragment: tape 2 then continues at 6144 while only 3072 bytes were read.
    const firstMark = t1.objects.findIndex((o, i) => i > 2 && o.kind === 'filemark');
    t1.objects.length = firstMark + 1;
    const e = await rejection(
      restoreImage([t1, t2], { backupId: big.backupId, copy: 1 }, new CollectingSink()),
    );
    expect(e).toMatchObject({
      code: 'DISCONTINUITY',
      field: 'offset',
      device: 'drive0:TAPE02',
      blockNumber: 2,
    });
    const v = await verifyTape([t1, t2]);
    expect(v.images.some((i) => i.problems.some((p) => p.code === 'DISCONTINUITY'))).toBe(true);
  });
});

describe('aborted and retried images', () => {
  it('skips an aborted attempt when the sink can reset, and reports it otherwise', async () => {
    const tape = await openTape('retry');
    const b = new TapeBuilder(tape, label1);
    await b.writeLabel();
    const failed = b.cursor(imgB);
    failed.abortAfter = 3000;
    await b.writeFragment({ images: [failed, b.cursor(imgA)], reason: 'image-failure' });
    await b.writeFragment({ images: [b.cursor(imgB)] });
    const sink = new CollectingSink();
    await restoreImage(tape, { backupId: imgB.backupId, copy: 1 }, sink);
    expect(sink.bytes()).toEqual(Buffer.from(imgB.data));
    expect(sink.resets).toBe(1);
    const e = await rejection(restoreImage(tape, { backupId: imgB.backupId, copy: 1 }, { write: () => {} }));
    expect(e).toMatchObject({ code: 'IMAGE_ABORTED', backupId: imgB.backupId });
    const v = await verifyTape(tape);
    expect(v.images.filter((i) => i.backupId === imgB.backupId).map((i) => i.verdict)).toEqual([
      'aborted',
      'ok',
    ]);
  });

  it('an unfinished attempt followed by a fresh start is superseded', async () => {
    const tape = await openTape('restart');
    const b = new TapeBuilder(tape, label1);
    await b.writeLabel();
    await b.writeFragment({ images: [b.cursor(imgB)], maxBlocks: 2 });
    await b.writeFragment({ images: [b.cursor(imgB)] });
    const sink = new CollectingSink();
    await restoreImage(tape, { backupId: imgB.backupId, copy: 1 }, sink);
    expect(sink.bytes()).toEqual(Buffer.from(imgB.data));
    const e = await rejection(restoreImage(tape, { backupId: imgB.backupId, copy: 1 }, { write: () => {} }));
    expect(e.code).toBe('DISCONTINUITY');
    const v = await verifyTape(tape);
    expect(v.images.map((i) => i.verdict)).toEqual(['incomplete', 'ok']);
  });
});

describe('media that are not tapedup tapes', () => {
  it('a blank medium has no label', async () => {
    const tape = await openTape('blank');
    expect((await rejection(listTape(tape))).code).toBe('NO_LABEL');
    expect((await rejection(restoreImage(tape, { backupId: 'x', copy: 1 }, new CollectingSink()))).code).toBe(
      'IMAGE_NOT_FOUND',
    );
  });

  it('a medium that starts with data has no label and its problems are listed', async () => {
    const tape = await openTape('foreign');
    await tape.writeBlock(encodeDataBlock(0, 0, new Uint8Array(10)));
    await tape.writeFilemarks(2, { immediate: false });
    const v = await verifyTape(tape);
    expect(v.media[0]!.problems.map((p) => p.code)).toEqual(['NO_LABEL', 'UNKNOWN_TAG']);
    expect(v.media[0]!.files.map((f) => [f.kind, f.blocks])).toEqual([
      ['unrecognised', 1],
      ['unrecognised', 0],
    ]);
  });

  it('a block longer than the reader allows is OVERLENGTH_BLOCK', async () => {
    const tape = await openTape('long');
    const b = new TapeBuilder(tape, label1, 4096);
    await b.writeLabel();
    await b.writeFragment({ images: [b.cursor(imgC)] });
    const listing = await listTape(tape, { maxBlockSize: 2048 });
    expect(listing.problems[0]).toMatchObject({ code: 'OVERLENGTH_BLOCK', blockNumber: 3 });
  });

  it('device failures reject with the device error, not a format error', async () => {
    const tape = await openTape('failing');
    const b = new TapeBuilder(tape, label1);
    await b.writeLabel();
    await b.writeFragment({ images: [b.cursor(imgA)] });
    tape.readBlock = async () => {
      throw new ScsiError('unrecovered read error', { senseKey: SenseKey.MEDIUM_ERROR, asc: 0x11 });
    };
    await expect(listTape(tape)).rejects.toMatchObject({ name: 'ScsiError', category: 'medium' });
  });
});

describe('positioning and the memory tape', () => {
  it('a start position beyond the last tape file finds nothing', async () => {
    const tape = await openTape('short');
    const b = new TapeBuilder(tape, label1);
    await b.writeLabel();
    await b.writeFragment({ images: [b.cursor(imgA)] });
    const e = await rejection(
      restoreImage(tape, { backupId: imgA.backupId, copy: 1 }, new CollectingSink(), {
        startAt: { tapeFile: 9 },
      }),
    );
    expect(e.code).toBe('IMAGE_NOT_FOUND');
  });

  it('spaces like SSC: blocks stop after a filemark, filemarks stop at EOD and BOT', async () => {
    const tape = await openTape('space');
    await tape.writeBlock(new Uint8Array([1]));
    await tape.writeFilemarks(1, { immediate: true });
    await tape.writeBlock(new Uint8Array([2]));
    await tape.rewind();
    expect(await tape.space('blocks', 5)).toEqual({ spaced: 1, stoppedAt: 'filemark' });
    expect(tape.position).toBe(2);
    expect(await tape.space('filemarks', 3)).toEqual({ spaced: 0, stoppedAt: 'end-of-data' });
    expect(await tape.space('filemarks', -3)).toEqual({ spaced: 1, stoppedAt: 'bot' });
    expect(await tape.space('end-of-data', 0)).toEqual({ spaced: 3 });
    expect(await tape.readBlock(10)).toEqual({ kind: 'end-of-data' });
    await tape.locate(1);
    await tape.writeBlock(new Uint8Array([3]));
    expect(tape.objects).toHaveLength(2); // writing truncates what followed
    expect((await tape.readPosition()).fileNumber).toBe(0);
  });

  it('reports early warning and refuses writes past capacity', async () => {
    const tape = await openTape('ew', { earlyWarningAt: 2, capacityObjects: 3 });
    expect(await tape.writeBlock(new Uint8Array(1))).toEqual({ earlyWarning: false });
    expect(await tape.writeBlock(new Uint8Array(1))).toEqual({ earlyWarning: true });
    expect(await tape.writeFilemarks(1, { immediate: false })).toEqual({ earlyWarning: true });
    await expect(tape.writeBlock(new Uint8Array(1))).rejects.toMatchObject({ category: 'volume-overflow' });
  });
});
