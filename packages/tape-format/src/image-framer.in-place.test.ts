import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DATA_HEADER_LENGTH } from './constants';
import { TapeFormatError } from './errors';
import { ImageFramer } from './image-framer';

const PAYLOAD = 512;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Frames `data` with push(): every block, the trailer last. */
function pushed(data: Uint8Array, tag = 3): string[] {
  const framer = new ImageFramer({ tag, blockPayloadSize: PAYLOAD });
  const out = framer.push(data);
  const end = framer.finish();
  return [...out, ...end.blocks, end.trailer].map(hex);
}

/** Frames `data` in place, each block in one shared buffer the way a reader fills a ring slot. */
function inPlace(data: Uint8Array, tag = 3): string[] {
  const framer = new ImageFramer({ tag, blockPayloadSize: PAYLOAD });
  const slot = new Uint8Array(DATA_HEADER_LENGTH + PAYLOAD + 64).fill(0xee);
  const out: string[] = [];
  for (let at = 0; at < data.length; at += PAYLOAD) {
    const payload = data.subarray(at, Math.min(data.length, at + PAYLOAD));
    // The block sits at an offset inside a larger buffer, after stale bytes from an earlier use.
    const block = slot.subarray(16, 16 + DATA_HEADER_LENGTH + payload.length);
    block.set(payload, DATA_HEADER_LENGTH);
    framer.frameInPlace(block);
    out.push(hex(block));
  }
  const end = framer.finish();
  expect(end.blocks).toHaveLength(0);
  return [...out, hex(end.trailer)];
}

describe('ImageFramer.frameInPlace', () => {
  it('makes byte-identical blocks and trailer to push() for any image', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 5000 }), fc.nat({ max: 0xffff }), (data, tag) => {
        expect(inPlace(data, tag)).toEqual(pushed(data, tag));
      }),
      { numRuns: 150 },
    );
  });

  it('tracks the state push() would (bytes, blocks, nothing pending)', () => {
    const framer = new ImageFramer({ tag: 1, blockPayloadSize: PAYLOAD });
    const block = new Uint8Array(DATA_HEADER_LENGTH + PAYLOAD);
    framer.frameInPlace(block);
    framer.frameInPlace(block.subarray(0, DATA_HEADER_LENGTH + 10));
    expect(framer.state).toEqual({ bytes: PAYLOAD + 10, blocks: 2, pending: 0 });
  });

  it('refuses bytes pending from push(), empty or oversized payloads, and use after finish', () => {
    const framer = new ImageFramer({ tag: 1, blockPayloadSize: PAYLOAD });
    framer.push(new Uint8Array(3));
    const block = new Uint8Array(DATA_HEADER_LENGTH + 8);
    expect(() => framer.frameInPlace(block)).toThrow(TapeFormatError);
    expect(() => framer.frameInPlace(block)).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
    framer.flush();
    expect(() => framer.frameInPlace(new Uint8Array(DATA_HEADER_LENGTH))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'block.length - 32' }),
    );
    expect(() => framer.frameInPlace(new Uint8Array(DATA_HEADER_LENGTH + PAYLOAD + 1))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    framer.finish();
    expect(() => framer.frameInPlace(block)).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });
});
