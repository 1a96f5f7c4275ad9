/**
 * Randomized MPX runs on the virtual clock: bursts of images of random sizes (0-byte and tiny ones
 * included), sources that deliver late, stall, abort or break, sync-now commands interleaved,
 * minimum fragment time on and off, small maximum fragment sizes. After each run the tape is read
 * back with the tape-format reader and checked against the writer rules.
 *
 * `ENGINE_RANDOM_SEEDS` (e.g. 300) runs more seeds than the CI-sized default.
 */
import { createHash } from 'node:crypto';
import type { AssignItem } from '@tapedup/protocol';
import { type FragmentEndReason, listTape, restoreImage } from '@tapedup/tape-format';
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
import type { SourceScript } from './testing/scripted-source';

const SEEDS = Number(process.env.ENGINE_RANDOM_SEEDS ?? 24);
const BARCODE = 'RND001L9';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The writer-rules table (DESIGN.md), written out here rather than taken from the engine. */
function wantedFilemark(reason: FragmentEndReason, completedDecisions: ('defer' | 'sync')[]) {
  switch (reason) {
    case 'data-complete-metadata-follows':
    case 'max-fragment-size':
    case 'next-image-start':
    case 'image-failure':
      return 'immediate';
    case 'image-complete':
      return completedDecisions.includes('sync') ? 'synchronous' : 'immediate';
    case 'checkpoint':
      // Only a sync-now cuts a checkpoint in these runs: an explicit sync.
      return 'synchronous';
    default:
      return 'synchronous';
  }
}

interface Planned {
  item: AssignItem;
  script: SourceScript;
}

function plan(rnd: () => number, name: string): Planned {
  const r = rnd();
  const size =
    r < 0.1
      ? 0
      : r < 0.25
        ? 1 + Math.floor(rnd() * 100)
        : r < 0.45
          ? RIG_PAYLOAD * (1 + Math.floor(rnd() * 4))
          : 100 + Math.floor(rnd() * 12 * RIG_PAYLOAD);
  const stream = rnd() < 0.4;
  const f = rnd();
  const fate: SourceScript['fate'] = f < 0.1 ? 'abort' : f < 0.15 ? 'break' : 'complete';
  const delaysMs = stream
    ? [
        rnd() < 0.5 ? Math.floor(rnd() * 3000) : 0,
        ...Array.from({ length: 4 }, () => (rnd() < 0.2 ? Math.floor(rnd() * 2500) : 0)),
      ]
    : [0];
  const script: SourceScript = {
    chunkBytes: stream ? 500 + Math.floor(rnd() * 9000) : 2 * RIG_PAYLOAD,
    delaysMs,
    fate,
    cutAt: Math.floor(rnd() * (size + 1)),
    endDelayMs: stream && rnd() < 0.3 ? Math.floor(rnd() * 2000) : 0,
    flushAtSize: stream && rnd() < 0.5,
  };
  const item = rigItem(name, size, {
    kind: stream ? 'stream' : 'disk',
    decision: rnd() < 0.3 ? 'sync' : 'defer',
    ...(rnd() < 0.2 ? { group: rnd() < 0.5 ? 'gA' : 'gB' } : {}),
  });
  return { item, script };
}

async function runSeed(seed: number) {
  const rnd = prng(seed);
  const mpxFactor = 2 + Math.floor(rnd() * 3);
  const minFragmentMs = rnd() < 0.5 ? 0 : [20, 300, 4000][Math.floor(rnd() * 3)]!;
  const maxFragmentBytes = rnd() < 0.5 ? undefined : [1, 2, 5, 16][Math.floor(rnd() * 4)]! * RIG_PAYLOAD;
  const maxFragmentImages = mpxFactor + Math.floor(rnd() * 3);
  const config = { seed, mpxFactor, minFragmentMs, maxFragmentBytes, maxFragmentImages };
  const r = await engineRig({
    barcode: BARCODE,
    mpxFactor,
    minFragmentMs,
    maxFragmentImages,
    ...(maxFragmentBytes === undefined ? {} : { maxFragmentBytes }),
  });
  const planned = new Map<string, Planned>();
  const bursts = 2 + Math.floor(rnd() * 4);
  let n = 0;
  for (let b = 0; b < bursts; b++) {
    const items: AssignItem[] = [];
    const count = 1 + Math.floor(rnd() * 8);
    for (let k = 0; k < count; k++) {
      const p = plan(rnd, `s${seed}-i${n++}`);
      planned.set(p.item.backupId, p);
      r.scripts.set(p.item.backupId, p.script);
      items.push(p.item);
    }
    r.engine.handle(rigAssign(BARCODE, items));
    // Sync-now commands while the group runs, and pauses of random length between bursts.
    const syncs = Math.floor(rnd() * 3);
    for (let s = 0; s < syncs; s++) {
      await r.clock.sleep(Math.floor(rnd() * 1500));
      r.engine.handle(rigSyncNow());
    }
    if (rnd() < 0.5) await r.engine.whenIdle();
    else await r.clock.sleep(Math.floor(rnd() * 3000));
  }
  await r.engine.whenIdle();
  await r.send(rigSyncNow());

  const context = JSON.stringify(config);
  expect(r.of('sync-failed'), context).toEqual([]);
  const committed = r.of('batch-synced').flatMap((s) => s.committed);
  const failed = r.of('copy-failed').map((f) => f.copyId);
  const good = [...planned.values()].filter((p) => p.script.fate === 'complete').map((p) => p.item.copyId);
  expect(committed.map((c) => c.copyId).sort(), context).toEqual([...good].sort());
  expect(failed.sort(), context).toEqual(
    [...planned.values()]
      .filter((p) => p.script.fate !== 'complete')
      .map((p) => p.item.copyId)
      .sort(),
  );

  const listing = await listTape(r.drive);
  expect(
    listing.problems.map((p) => p.message),
    context,
  ).toEqual([]);
  const empty = emptyFragments(listing);
  expect(
    empty.map((f) => ({
      tapeFile: f.tapeFile,
      reason: f.end?.reason,
      images: f.images.map((i) => i.entry.backupId),
    })),
    context,
  ).toEqual([]);

  // Every fragment end against the table; the drive's command log holds one filemark per fragment.
  const fragments = fragmentsOf(listing);
  const marks = fragmentFilemarks(r.drive);
  expect(marks.length, context).toBe(fragments.length);
  const reasons: Record<string, number> = {};
  fragments.forEach((f, i) => {
    const reason = f.end?.reason ?? 'unspecified';
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    const completed = f.images
      .filter((im) => im.trailer?.status === 'complete')
      .map((im) => planned.get(im.entry.backupId)!.item.decision);
    expect([f.tapeFile, reason, marks[i]], context).toEqual([
      f.tapeFile,
      reason,
      wantedFilemark(reason, completed),
    ]);
  });

  for (const c of committed) {
    const p = [...planned.values()].find((x) => x.item.copyId === c.copyId)!;
    const sink = new CollectingSink();
    const restored = await restoreImage(r.drive, { backupId: p.item.backupId, copy: 1 }, sink, {
      startAt: { tapeFile: c.fileNumber, blockNumber: c.blockAddress },
    });
    expect(sha(sink.bytes()), `${context} ${p.item.backupId}`).toBe(
      sha(syntheticBytes(p.item.backupId, 0, p.item.sizeBytes)),
    );
    expect(restored.sha256).toBe(c.sha256);
  }
  return reasons;
}

describe('WriterEngine randomized MPX runs', () => {
  it(`${SEEDS} seeds: no empty fragment, every good image restores, every filemark matches its reason`, async () => {
    const total: Record<string, number> = {};
    for (let seed = 1; seed <= SEEDS; seed++) {
      const reasons = await runSeed(seed);
      for (const [k, v] of Object.entries(reasons)) total[k] = (total[k] ?? 0) + v;
    }
    console.info(`fragment ends over ${SEEDS} seeds: ${JSON.stringify(total)}`);
    // The runs reach the rules under test.
    for (const reason of ['image-complete', 'next-image-start', 'image-failure', 'max-fragment-size']) {
      expect(total[reason], reason).toBeGreaterThan(0);
    }
  }, 600_000);
});
