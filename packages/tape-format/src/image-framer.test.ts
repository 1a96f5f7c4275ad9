import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DATA_HEADER_LENGTH } from './constants';
import { decodeDataBlock } from './data-block';
import { TapeFormatError } from './errors';
import { ImageFramer } from './image-framer';
import { decodeImageTrailer } from './image-trailer';

const PAYLOAD = 512;

/** Frames `data` fed as the given chunks; returns every block, the trailer last. */
function frame(data: Uint8Array, cuts: number[], payload = PAYLOAD): Uint8Array[] {
  const framer = new ImageFramer({ tag: 3, blockPayloadSize: payload });
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(...framer.push(data.subarray(at, cut)));
    at = cut;
  }
  out.push(...framer.push(data.subarray(at)));
  const end = framer.finish();
  return [...out, ...end.blocks, end.trailer];
}

describe('ImageFramer', () => {
  it('yields identical blocks for any chunking of the same bytes', () => {
    fc.assert(
      fc.property(
        fc
          .uint8Array({ minLength: 0, maxLength: 3000 })
          .chain((data) =>
            fc.tuple(fc.constant(data), fc.array(fc.nat({ max: data.length }), { maxLength: 20 })),
          ),
        ([data, cuts]) => {
          const whole = frame(data, []);
          const chunked = frame(data, cuts);
          expect(chunked.map((b) => Buffer.from(b).toString('hex'))).toEqual(
            whole.map((b) => Buffer.from(b).toString('hex')),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('cuts full payloads, numbers them from 0, and reassembles to the input with a matching trailer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4000 }), (data) => {
        const blocks = frame(data, [7, 1000]);
        const trailer = decodeImageTrailer(blocks.pop()!);
        const decoded = blocks.map(decodeDataBlock);
        expect(decoded.map((b) => b.sequence)).toEqual(decoded.map((_, i) => i));
        expect(decoded.every((b) => b.tag === 3)).toBe(true);
        expect(decoded.slice(0, -1).every((b) => b.payloadLength === PAYLOAD)).toBe(true);
        expect(Buffer.concat(decoded.map((b) => b.payload))).toEqual(Buffer.from(data));
        expect(trailer).toMatchObject({
          tag: 3,
          status: 'complete',
          totalBytes: data.length,
          blockCount: decoded.length,
        });
        expect(Buffer.from(trailer.sha256).toString('hex')).toBe(
          createHash('sha256').update(data).digest('hex'),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('an empty image has no data block and the SHA-256 of nothing', () => {
    const [trailerBlock, ...rest] = frame(new Uint8Array(0), []);
    expect(rest).toHaveLength(0);
    const trailer = decodeImageTrailer(trailerBlock!);
    expect(trailer.blockCount).toBe(0);
    expect(Buffer.from(trailer.sha256).toString('hex')).toBe(createHash('sha256').digest('hex'));
  });

  it('flush emits a short block mid-image; retag changes the tag of later blocks but not the sequence', () => {
    const framer = new ImageFramer({ tag: 1, blockPayloadSize: PAYLOAD });
    expect(framer.push(new Uint8Array(700))).toHaveLength(1);
    expect(framer.state).toEqual({ bytes: 700, blocks: 1, pending: 188 });
    const [short] = framer.flush();
    expect(short!.length).toBe(DATA_HEADER_LENGTH + 188);
    expect(framer.flush()).toHaveLength(0);
    framer.retag(9);
    const [next] = framer.push(new Uint8Array(PAYLOAD));
    expect(decodeDataBlock(next!)).toMatchObject({ tag: 9, sequence: 2 });
    const end = framer.finish('aborted');
    expect(end.info).toMatchObject({ tag: 9, status: 'aborted', totalBytes: 700 + PAYLOAD, blockCount: 3 });
  });

  it('hands out blocks it never touches again', () => {
    const framer = new ImageFramer({ tag: 0, blockPayloadSize: PAYLOAD });
    const [first] = framer.push(new Uint8Array(PAYLOAD).fill(1));
    const copy = first!.slice();
    framer.push(new Uint8Array(PAYLOAD).fill(2));
    expect(first).toEqual(copy);
  });

  it('validates its options, naming them, and refuses use after finish', () => {
    const fail = (fn: () => unknown): TapeFormatError => {
      try {
        fn();
      } catch (error) {
        if (error instanceof TapeFormatError) return error;
      }
      throw new Error('expected TapeFormatError');
    };
    expect(fail(() => new ImageFramer({ tag: 0, blockPayloadSize: 1000 })).field).toBe('blockPayloadSize');
    expect(fail(() => new ImageFramer({ tag: 0, blockPayloadSize: 1 << 30 })).field).toBe('blockPayloadSize');
    expect(fail(() => new ImageFramer({ tag: -1 })).field).toBe('tag');
    expect(fail(() => new ImageFramer({ tag: 0, maxBlockSize: 65_536 })).field).toBe('blockPayloadSize + 32');
    expect(new ImageFramer({ tag: 0, maxBlockSize: 262_144 + 32 }).blockPayloadSize).toBe(262_144);
    const framer = new ImageFramer({ tag: 0, blockPayloadSize: PAYLOAD });
    framer.finish();
    expect(fail(() => framer.push(new Uint8Array(1))).code).toBe('INVALID_STATE');
  });
});
