import { describe, expect, it } from 'vitest';
import { BlockSlabs } from './block-slabs';

const block = (length: number, fill: number) => new Uint8Array(length).fill(fill);

describe('BlockSlabs', () => {
  it('copies: later changes to the caller buffer do not reach the copy', () => {
    const slabs = new BlockSlabs(1024);
    const source = block(100, 7);
    const copy = slabs.copy(source);
    source.fill(9);
    expect(copy.data).toEqual(block(100, 7));
    expect(copy.slab).toBeDefined();
  });

  it('reuses a slab once every copy in it was released', () => {
    const slabs = new BlockSlabs(1024);
    const a = slabs.copy(block(200, 1));
    const b = slabs.copy(block(200, 2));
    expect(b.data.buffer).toBe(a.data.buffer);
    slabs.release(a.slab);
    // One copy is still live: the next one goes after it, not over it.
    const c = slabs.copy(block(200, 3));
    expect(c.data.byteOffset).toBe(400);
    expect(b.data).toEqual(block(200, 2));
    slabs.release(b.slab);
    slabs.release(c.slab);
    const d = slabs.copy(block(200, 4));
    expect(d.data.buffer).toBe(a.data.buffer);
    expect(d.data.byteOffset).toBe(0);
  });

  it('never overwrites a live copy when the slab fills up: a new slab is taken', () => {
    const slabs = new BlockSlabs(1000);
    const kept = slabs.copy(block(250, 5));
    const copies = Array.from({ length: 20 }, (_, i) => slabs.copy(block(250, i + 10)));
    for (const c of copies) slabs.release(c.slab);
    expect(kept.data).toEqual(block(250, 5));
    expect(copies.at(-1)!.data.buffer).not.toBe(kept.data.buffer);
  });

  it('keeps at most keepFree empty slabs', () => {
    const slabs = new BlockSlabs(1000, 2);
    const copies = Array.from({ length: 16 }, (_, i) => slabs.copy(block(250, i)));
    for (const c of copies) slabs.release(c.slab);
    expect(slabs.freeSlabs).toBe(2);
  });

  it('gives a block larger than a quarter slab a buffer of its own', () => {
    const slabs = new BlockSlabs(1000);
    const big = slabs.copy(block(300, 1));
    expect(big.slab).toBeUndefined();
    expect(big.data).toEqual(block(300, 1));
  });

  it('names the option it refuses', () => {
    expect(() => new BlockSlabs(0)).toThrow(/slabBytes/);
    expect(() => new BlockSlabs(1024, -1)).toThrow(/keepFree/);
  });
});
