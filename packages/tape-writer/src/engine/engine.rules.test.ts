/**
 * Fragment ends the writer rules add on top of MPX splitting: a sync-now cuts a checkpoint; a stream
 * whose data is complete and whose end (metadata) follows ends the fragment; at MPX factor 1 small
 * deferred images are packed into one fragment.
 */
import { createHash } from 'node:crypto';
import { listTape, restoreImage } from '@tapedup/tape-format';
import { CollectingSink } from '@tapedup/tape-format/testing';
import { describe, expect, it } from 'vitest';
import { syntheticBytes } from '../sources/synthetic';
import {
  emptyFragments,
  engineRig,
  fragmentFilemarks,
  fragmentsOf,
  RIG_PAYLOAD,
  rigAssign,
  rigItem,
  rigSyncNow,
} from './testing/engine-rig';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function expectRestores(
  r: Awaited<ReturnType<typeof engineRig>>,
  images: { backupId: string; size: number }[],
): Promise<void> {
  const committed = r.of('batch-synced').flatMap((s) => s.committed);
  for (const { backupId, size } of images) {
    const c = committed.find((x) => x.copyId === `c-${backupId}`);
    expect(c, backupId).toBeDefined();
    const sink = new CollectingSink();
    const restored = await restoreImage(r.drive, { backupId, copy: 1 }, sink, {
      startAt: { tapeFile: c!.fileNumber, blockNumber: c!.blockAddress },
    });
    expect(sha(sink.bytes()), backupId).toBe(sha(syntheticBytes(backupId, 0, size)));
    expect(restored.sha256).toBe(c!.sha256);
  }
}

describe('WriterEngine checkpoint on sync-now', () => {
  it('cuts the running fragment at a checkpoint with a synchronous filemark; the reply follows it; the images continue', async () => {
    const r = await engineRig({ barcode: 'CKP001L9', mpxFactor: 2, minFragmentMs: 0 });
    // Two long images whose chunks trickle in, and a small one that completes early (deferred).
    const slow = { chunkBytes: RIG_PAYLOAD, delaysMs: [100], fate: 'complete' as const };
    r.scripts.set('long1', slow);
    r.scripts.set('long2', slow);
    r.scripts.set('short', { chunkBytes: RIG_PAYLOAD, delaysMs: [0], fate: 'complete' });
    const sizes = { short: 3 * RIG_PAYLOAD + 7, long1: 40 * RIG_PAYLOAD, long2: 30 * RIG_PAYLOAD + 100 };
    r.engine.handle(
      rigAssign('CKP001L9', [
        rigItem('short', sizes.short),
        rigItem('long1', sizes.long1),
        rigItem('long2', sizes.long2),
      ]),
    );
    // Mid-group: short is done (its trailer and 3 blocks), long1 and long2 are still arriving (a
    // chunk per 100 ms): 12 data blocks and more are on tape.
    await r.afterCommands((e) => e.op === 'writeBlock', 16);
    const sync = rigSyncNow();
    r.engine.handle(sync);
    // A retry queued after the sync-now (as the duplicator sends one) is synced on its own.
    r.engine.handle(
      rigAssign('CKP001L9', [{ ...rigItem('retry', 5_000, { decision: 'sync' }), attempt: 2 }]),
    );
    await r.engine.whenIdle();
    await r.send(rigSyncNow());

    const listing = await listTape(r.drive);
    const fragments = fragmentsOf(listing);
    const ck = fragments.findIndex((f) => f.end?.reason === 'checkpoint');
    expect(ck).toBeGreaterThanOrEqual(0);
    const marks = fragmentFilemarks(r.drive);
    expect(marks[ck]).toBe('synchronous');
    // The running images continue past the checkpoint: the fragment end record says so.
    const continuing = fragments[ck]!.end!.images.filter((e) => e.continues).length;
    expect(continuing).toBeGreaterThanOrEqual(1);

    // The reply names the sync-now and commits what completed before it; nothing is written
    // between the checkpoint's filemark and that reply (it is the confirmation of that filemark).
    const replyAt = r.reports.findIndex((m) => m.type === 'batch-synced' && m.re === sync.id);
    expect(replyAt).toBeGreaterThanOrEqual(0);
    const reply = r.reports[replyAt];
    expect(reply?.type === 'batch-synced' && reply.committed.map((c) => c.copyId)).toEqual(['c-short']);
    const log = r.drive.commandLog;
    const ckMark = log.filter((e) => e.op === 'writeFilemarks' && e.args.count === 1)[ck + 1]!;
    const after = log.slice(log.indexOf(ckMark) + 1);
    expect(after[0]?.op).toBe('readPosition');
    expect(r.reports.slice(0, replyAt).some((m) => m.type === 'copy-written' && m.copyId !== 'c-short')).toBe(
      false,
    );
    expect(r.of('sync-failed')).toEqual([]);
    const batches = r.of('batch-synced').map((b) => b.committed.map((c) => c.copyId).sort());
    expect(batches).toContainEqual(['c-retry']);
    expect(batches).toContainEqual(['c-long1', 'c-long2']);
    // The images running at the checkpoint were proven by a second checkpoint before the retry started.
    expect(fragments.filter((f) => f.end?.reason === 'checkpoint')).toHaveLength(2);
    expect(fragments.at(-1)?.images.map((i) => i.entry.backupId)).toEqual(['retry']);
    expect(emptyFragments(listing)).toEqual([]);
    await expectRestores(r, [
      { backupId: 'retry', size: 5_000 },
      { backupId: 'short', size: sizes.short },
      { backupId: 'long1', size: sizes.long1 },
      { backupId: 'long2', size: sizes.long2 },
    ]);
  });
});

describe('WriterEngine time checkpoints (checkpointMs)', () => {
  const run = async (decision: 'defer' | 'sync') => {
    const r = await engineRig({ barcode: 'CKT001L9', mpxFactor: 1, checkpointMs: 1000 });
    // 60 blocks, one per 100 ms of model time: about 6 s of one image.
    r.scripts.set('long', { chunkBytes: RIG_PAYLOAD, delaysMs: [100], fate: 'complete' });
    const size = 60 * RIG_PAYLOAD - 10;
    await r.send(rigAssign('CKT001L9', [rigItem('long', size, { decision })]));
    await r.send(rigSyncNow());
    const fragments = fragmentsOf(await listTape(r.drive));
    return { r, size, fragments, marks: fragmentFilemarks(r.drive) };
  };

  it('a long deferred image is cut every checkpointMs with immediate filemarks and restores whole', async () => {
    const { r, size, fragments, marks } = await run('defer');
    const reasons = fragments.map((f) => f.end?.reason);
    expect(reasons.filter((x) => x === 'checkpoint').length).toBeGreaterThanOrEqual(4);
    expect(reasons.at(-1)).toBe('image-complete');
    fragments.forEach((f, i) => {
      if (f.end?.reason === 'checkpoint') expect(marks[i]).toBe('immediate');
      // Each checkpoint closes about one second of data (10 blocks), never an empty fragment.
      expect(f.images[0]!.dataBlocks + (f.images[0]!.trailer ? 1 : 0)).toBeGreaterThan(0);
    });
    await expectRestores(r, [{ backupId: 'long', size }]);
  });

  it('with a sync decision every checkpoint is synchronous and proven', async () => {
    const { r, size, fragments, marks } = await run('sync');
    const at = fragments.flatMap((f, i) => (f.end?.reason === 'checkpoint' ? [i] : []));
    expect(at.length).toBeGreaterThanOrEqual(4);
    for (const i of at) expect(marks[i]).toBe('synchronous');
    // Each synchronous checkpoint is confirmed (position read back): one batch-synced each, before
    // the image's own commit.
    expect(r.of('batch-synced').length).toBeGreaterThanOrEqual(at.length + 1);
    await expectRestores(r, [{ backupId: 'long', size }]);
  });

  it('rejects a checkpointMs that is not a positive integer, naming it', async () => {
    await expect(engineRig({ checkpointMs: 0 })).rejects.toThrow(/"checkpointMs"/);
  });
});

describe('WriterEngine data complete, metadata to follow', () => {
  it('a stream whose bytes are all on tape but whose end is late ends the fragment (immediate); its trailer follows in a later one', async () => {
    const r = await engineRig({ barcode: 'DCM001L9', mpxFactor: 2, minFragmentMs: 0 });
    // The stream's size is whole blocks: its last data block is framed before the end arrives.
    r.scripts.set('live', { chunkBytes: RIG_PAYLOAD, delaysMs: [0], fate: 'complete', endDelayMs: 2000 });
    r.scripts.set('bulk', { chunkBytes: RIG_PAYLOAD, delaysMs: [50], fate: 'complete' });
    const sizes = { live: 6 * RIG_PAYLOAD, bulk: 80 * RIG_PAYLOAD };
    await r.send(
      rigAssign('DCM001L9', [rigItem('live', sizes.live, { kind: 'stream' }), rigItem('bulk', sizes.bulk)]),
    );
    await r.send(rigSyncNow());

    const listing = await listTape(r.drive);
    const fragments = fragmentsOf(listing);
    const at = fragments.findIndex((f) => f.end?.reason === 'data-complete-metadata-follows');
    expect(at).toBeGreaterThanOrEqual(0);
    const dcm = fragments[at]!;
    // All of live's bytes are in that fragment, its trailer is not.
    const liveThere = dcm.images.find((i) => i.entry.backupId === 'live')!;
    expect(liveThere.bytes).toBe(sizes.live);
    expect(liveThere.trailer).toBeUndefined();
    expect(dcm.end!.images.find((e) => e.tag === liveThere.entry.tag)?.continues).toBe(true);
    expect(fragmentFilemarks(r.drive)[at]).toBe('immediate');
    // Later: a fragment where live has no data block, only its (complete) trailer.
    const trailerIn = fragments.slice(at + 1).find((f) => f.images.some((i) => i.entry.backupId === 'live'));
    const liveLater = trailerIn?.images.find((i) => i.entry.backupId === 'live');
    expect(liveLater?.dataBlocks).toBe(0);
    expect(liveLater?.trailer?.status).toBe('complete');
    expect(liveLater?.entry.offset).toBe(sizes.live);
    expect(r.of('copy-failed')).toEqual([]);
    expect(emptyFragments(listing)).toEqual([]);
    await expectRestores(r, [
      { backupId: 'live', size: sizes.live },
      { backupId: 'bulk', size: sizes.bulk },
    ]);
  });

  it('a stream alone waits for its end in the same fragment: nothing else writes, nothing to end for', async () => {
    const r = await engineRig({ barcode: 'DCM002L9', mpxFactor: 2, minFragmentMs: 0 });
    r.scripts.set('solo', { chunkBytes: RIG_PAYLOAD, delaysMs: [0], fate: 'complete', endDelayMs: 2000 });
    await r.send(rigAssign('DCM002L9', [rigItem('solo', 4 * RIG_PAYLOAD, { kind: 'stream' })]));
    const fragments = fragmentsOf(await listTape(r.drive));
    expect(fragments.map((f) => f.end?.reason)).toEqual(['image-complete']);
  });
});

describe('WriterEngine packing at MPX factor 1', () => {
  const run = async (packImages: boolean) => {
    const r = await engineRig({ barcode: 'PAK001L9', mpxFactor: 1, minFragmentMs: 200, packImages });
    const sizes = Array.from({ length: 40 }, (_, i) => 1_000 + ((i * 7_919) % (6 * RIG_PAYLOAD)));
    const items = sizes.map((size, i) => rigItem(`p${i}`, size, { decision: i === 25 ? 'sync' : 'defer' }));
    const started = r.clock.now();
    await r.send(rigAssign('PAK001L9', items));
    const elapsed = r.clock.now() - started;
    await r.send(rigSyncNow());
    return { r, sizes, elapsed };
  };

  it('joins small deferred images into the open fragment: about one immediate filemark per minimum fragment time', async () => {
    const { r, sizes, elapsed } = await run(true);
    const listing = await listTape(r.drive);
    const fragments = fragmentsOf(listing);
    const marks = fragmentFilemarks(r.drive);
    console.info(
      `packing: ${sizes.length} images in ${fragments.length} fragments over ${elapsed.toFixed(0)} model ms ` +
        `(${marks.filter((m) => m === 'immediate').length} immediate, ${marks.filter((m) => m === 'synchronous').length} synchronous filemarks)`,
    );
    expect(marks).toHaveLength(fragments.length);
    // Far fewer fragments than images, bounded by the model time spent over the minimum fragment time.
    expect(fragments.length).toBeLessThan(sizes.length / 3);
    expect(fragments.length).toBeLessThanOrEqual(Math.ceil(elapsed / 200) + 2);
    expect(fragments.some((f) => f.images.filter((i) => i.joined).length >= 2)).toBe(true);
    fragments.forEach((f, i) => {
      const decisions = f.images.map((im) => (im.entry.backupId === 'p25' ? 'sync' : 'defer'));
      expect(f.end?.reason).toBe('image-complete');
      // The sync decision always ends its fragment, synchronously; the others end immediately.
      expect(marks[i]).toBe(decisions.includes('sync') ? 'synchronous' : 'immediate');
      if (decisions.includes('sync')) expect(f.images.at(-1)?.entry.backupId).toBe('p25');
    });
    // Every copy is catalogued at the start of its fragment (restore finds it by tag).
    const committed = r.of('batch-synced').flatMap((s) => s.committed);
    expect(committed).toHaveLength(sizes.length);
    for (const c of committed) {
      const f = fragments.find((x) => x.images.some((i) => `c-${i.entry.backupId}` === c.copyId))!;
      expect([c.fileNumber, c.blockAddress]).toEqual([f.tapeFile, f.blockNumber]);
    }
    expect(r.engine.stats().joins).toBe(sizes.length - fragments.length);
    await expectRestores(
      r,
      sizes.map((size, i) => ({ backupId: `p${i}`, size })),
    );
  });

  it('without packing every image is its own fragment', async () => {
    const { r, sizes } = await run(false);
    const fragments = fragmentsOf(await listTape(r.drive));
    expect(fragments).toHaveLength(sizes.length);
    expect(fragmentFilemarks(r.drive).filter((m) => m === 'immediate')).toHaveLength(sizes.length - 1);
  });

  it('rejects a packImages option that is not a boolean, naming it', async () => {
    await expect(engineRig({ packImages: 'yes' as unknown as boolean })).rejects.toThrow(/"packImages"/);
  });
});
