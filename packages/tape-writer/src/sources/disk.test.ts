import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AssignItem } from '@tapedup/protocol';
import { decodeDataBlock, decodeImageTrailer } from '@tapedup/tape-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDsuRoots, SourceError } from '../dsu';
import { DiskSourceOpener } from './disk';
import type { SourceEvent } from './types';

const repo = join(import.meta.dirname, '../../../..');
let base: string;
let opener: DiskSourceOpener;
const PAYLOAD = 4096;

function bytesOf(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed * 13) & 0xff;
  return b;
}
const item = (path: string, sizeBytes: number): AssignItem => ({
  copyId: 'c1',
  requestId: 'r1',
  backupId: 'b1',
  copy: 1,
  sizeBytes,
  source: { kind: 'disk', dsu: 'main', path },
  priority: 1,
  attempt: 1,
  decision: 'defer',
  reason: 'test',
});

beforeAll(() => {
  if (!existsSync(join(repo, 'packages/tape-writer/dist/sources/disk-worker.js'))) {
    execFileSync('node', ['scripts/build.mjs'], { cwd: repo, stdio: 'ignore' });
  }
  base = mkdtempSync(join(tmpdir(), 'disk-src-'));
  mkdirSync(join(base, 'dsu'));
  writeFileSync(join(base, 'dsu', 'big'), bytesOf(40 * PAYLOAD + 123, 1));
  writeFileSync(join(base, 'dsu', 'empty'), Buffer.alloc(0));
  opener = new DiskSourceOpener({
    roots: parseDsuRoots([`main=${join(base, 'dsu')}`]),
    readAhead: 2,
    chunkBlocks: 2,
  });
});
afterAll(async () => {
  await opener.close();
  rmSync(base, { recursive: true, force: true });
});

async function drain(path: string, size: number) {
  const source = await opener.open(item(path, size), { tag: 3, blockPayloadSize: PAYLOAD });
  const events: SourceEvent[] = [];
  for (;;) {
    const e = await source.next();
    // Blocks are valid until the next call only (their ring slot is reused): keep copies.
    events.push(e.kind === 'blocks' ? { ...e, blocks: e.blocks.map((b) => b.slice()) } : e);
    if (e.kind === 'end') break;
  }
  await source.close();
  return { events, maxBuffered: (source as unknown as { maxBuffered: number }).maxBuffered };
}

describe('DiskSourceOpener', () => {
  it('frames a file in a worker: payloads in sequence equal the file, the trailer carries its SHA-256', async () => {
    const expected = bytesOf(40 * PAYLOAD + 123, 1);
    const { events, maxBuffered } = await drain('big', expected.length);
    const blocks = events.flatMap((e) => (e.kind === 'blocks' ? e.blocks : []));
    const decoded = blocks.map((b) => decodeDataBlock(b));
    expect(decoded.map((d) => d.sequence)).toEqual([...Array(41).keys()]);
    expect(decoded.every((d) => d.tag === 3)).toBe(true);
    expect(Buffer.concat(decoded.map((d) => d.payload)).equals(expected)).toBe(true);
    const end = events.at(-1);
    expect(end?.kind).toBe('end');
    if (end?.kind !== 'end') return;
    const sha = createHash('sha256').update(expected).digest('hex');
    expect([end.status, end.bytes, end.blocks, end.sha256]).toEqual(['complete', expected.length, 41, sha]);
    const trailer = decodeImageTrailer(end.trailer);
    expect(Buffer.from(trailer.sha256).toString('hex')).toBe(sha);
    // Bounded read-ahead: never more than 2 unconsumed chunks waited on the main thread.
    expect(maxBuffered).toBeLessThanOrEqual(2);
    expect(maxBuffered).toBeGreaterThan(0);
  });

  it('an empty file is a complete image of zero bytes', async () => {
    const { events } = await drain('empty', 0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'end', status: 'complete', bytes: 0, blocks: 0 });
  });

  it('refuses sources outside the root or of the wrong size before reading', async () => {
    await expect(opener.open(item('../x', 1), { tag: 0, blockPayloadSize: PAYLOAD })).rejects.toMatchObject({
      code: 'PATH_TRAVERSAL',
    });
    const wrong = opener.open(item('big', 5), { tag: 0, blockPayloadSize: PAYLOAD });
    await expect(wrong).rejects.toBeInstanceOf(SourceError);
    await expect(wrong).rejects.toMatchObject({ code: 'SIZE_MISMATCH', retryable: false });
  });

  it('a file that shrinks under the reader ends the image aborted (SHORT_READ) after the bytes it had', async () => {
    const size = 40 * PAYLOAD + 123;
    writeFileSync(join(base, 'dsu', 'shrinks'), bytesOf(size, 2));
    const source = await opener.open(item('shrinks', size), { tag: 1, blockPayloadSize: PAYLOAD });
    // Without credits the worker reads at most 2 chunks of 2 blocks: the cut lands past them.
    truncateSync(join(base, 'dsu', 'shrinks'), 10 * PAYLOAD + 5);
    const blocks: Uint8Array[] = [];
    let end: SourceEvent | undefined;
    while (end === undefined) {
      const e = await source.next();
      if (e.kind === 'blocks') blocks.push(...e.blocks.map((b) => b.slice()));
      else end = e;
    }
    await source.close();
    const decoded = blocks.map((b) => decodeDataBlock(b));
    expect(decoded.map((d) => d.payloadLength)).toEqual([...Array(10).fill(PAYLOAD), 5]);
    expect(
      Buffer.concat(decoded.map((d) => d.payload)).equals(bytesOf(size, 2).subarray(0, 10 * PAYLOAD + 5)),
    ).toBe(true);
    expect(end).toMatchObject({ kind: 'end', status: 'aborted', bytes: 10 * PAYLOAD + 5, blocks: 11 });
    expect(end.kind === 'end' && end.error?.code).toBe('SHORT_READ');
    expect(end.kind === 'end' && decodeImageTrailer(end.trailer)).toMatchObject({
      status: 'aborted',
      totalBytes: 10 * PAYLOAD + 5,
      blockCount: 11,
    });
  });

  it('abort ends the image early with an aborted trailer covering exactly the blocks delivered', async () => {
    const size = 40 * PAYLOAD + 123;
    const source = await opener.open(item('big', size), { tag: 0, blockPayloadSize: PAYLOAD });
    const first = await source.next();
    source.abort();
    const events: SourceEvent[] = [first];
    for (;;) {
      const e = await source.next();
      events.push(e);
      if (e.kind === 'end') break;
    }
    await source.close();
    const payload = events.reduce((n, e) => n + (e.kind === 'blocks' ? e.payloadBytes : 0), 0);
    const end = events.at(-1);
    expect(end?.kind === 'end' && end.status).toBe('aborted');
    expect(end?.kind === 'end' && end.bytes).toBe(payload);
    expect(payload).toBeLessThan(size);
  });
});

describe('DiskSourceOpener, small images read inline', () => {
  let inline: DiskSourceOpener;
  let workers: DiskSourceOpener;
  const size = 2 * PAYLOAD + 77;
  beforeAll(() => {
    writeFileSync(join(base, 'dsu', 'small'), bytesOf(size, 3));
    const roots = parseDsuRoots([`main=${join(base, 'dsu')}`]);
    inline = new DiskSourceOpener({ roots, inlineMaxBlocks: 3 });
    workers = new DiskSourceOpener({ roots, inlineMaxBlocks: 0 });
  });
  afterAll(async () => {
    await inline.close();
    await workers.close();
  });

  async function events(o: DiskSourceOpener, abortAfterFirst = false): Promise<SourceEvent[]> {
    const source = await o.open(item('small', size), { tag: 5, blockPayloadSize: PAYLOAD });
    const out: SourceEvent[] = [];
    for (;;) {
      const e = await source.next();
      if (abortAfterFirst) source.abort();
      out.push(e.kind === 'blocks' ? { ...e, blocks: e.blocks.map((b) => b.slice()) } : e);
      if (e.kind === 'end') break;
    }
    await source.close();
    return out;
  }
  const hexes = (es: SourceEvent[]) =>
    es.flatMap((e) => (e.kind === 'blocks' ? e.blocks : e.kind === 'end' ? [e.trailer] : []));

  it('gives the very blocks and trailer the worker gives', async () => {
    const mine = await events(inline);
    const theirs = await events(workers);
    expect(hexes(mine).map((b) => Buffer.from(b).toString('hex'))).toEqual(
      hexes(theirs).map((b) => Buffer.from(b).toString('hex')),
    );
    expect(mine.at(-1)).toMatchObject({ kind: 'end', status: 'complete', bytes: size, blocks: 3 });
    expect(mine.at(-1)).toEqual(theirs.at(-1));
  });

  it('refuses a bad source at open, like the worker', async () => {
    await expect(inline.open(item('../x', 1), { tag: 0, blockPayloadSize: PAYLOAD })).rejects.toMatchObject({
      code: 'PATH_TRAVERSAL',
    });
    await expect(inline.open(item('small', 5), { tag: 0, blockPayloadSize: PAYLOAD })).rejects.toMatchObject({
      code: 'SIZE_MISMATCH',
      retryable: false,
    });
  });

  it('after abort the trailer is aborted and covers every block delivered', async () => {
    const es = await events(inline, true);
    const end = es.at(-1);
    expect(end).toMatchObject({ kind: 'end', status: 'aborted', bytes: size, blocks: 3 });
    expect(end?.kind === 'end' && decodeImageTrailer(end.trailer)).toMatchObject({
      status: 'aborted',
      totalBytes: size,
      blockCount: 3,
    });
  });

  it('validates inlineMaxBlocks, naming it', () => {
    const roots = parseDsuRoots([`main=${join(base, 'dsu')}`]);
    expect(() => new DiskSourceOpener({ roots, inlineMaxBlocks: -1 })).toThrow(/"inlineMaxBlocks"/);
  });
});
