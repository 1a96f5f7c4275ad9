import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { decodeDataBlock, encodeDataBlock } from './data-block';
import { decodeBlock } from './decode-block';
import { decodeEmptyHeader, encodeEmptyHeader } from './empty-header';
import { TapeFormatError } from './errors';
import { decodeFragmentEnd, encodeFragmentEnd } from './fragment-end';
import {
  decodeFragmentHeader,
  decodeImageStart,
  encodeFragmentHeader,
  encodeImageStart,
  type FragmentHeader,
} from './fragment-header';
import type { ImageEntry } from './image-entry';
import { decodeImageTrailer, encodeImageTrailer } from './image-trailer';
import { decodeVolumeLabel, encodeVolumeLabel, type VolumeLabel } from './volume-label';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function formatError(fn: () => unknown): TapeFormatError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TapeFormatError) return error;
    throw error;
  }
  throw new Error('expected a TapeFormatError');
}

const label: VolumeLabel = {
  labelId: '00112233-4455-6677-8899-aabbccddeeff',
  barcode: 'ABC123L9',
  pool: 'p1',
  createdAt: 1_700_000_000_000,
};

const entry = (over: Partial<ImageEntry> = {}): ImageEntry => ({
  tag: 0,
  backupId: 'client1_1700000000',
  copy: 1,
  kind: 'disk',
  fragmentIndex: 0,
  offset: 0,
  totalSize: 123_456,
  firstSequence: 0,
  fromOtherMedium: false,
  ...over,
});

describe('volume label', () => {
  // Written out by hand from docs/tape-format.md; the CRC was computed with an independent CRC32C.
  const fixture = hex(`
    5444564c 0001 0000 00000026
    00112233445566778899aabbccddeeff
    0000018bcfe56800
    0008 4142433132334c39
    0002 7031
    a8b61990`);

  it('encodes to the documented bytes', () => {
    expect(toHex(encodeVolumeLabel(label))).toBe(toHex(fixture));
  });

  it('decodes the documented bytes', () => {
    expect(decodeVolumeLabel(fixture)).toEqual(label);
    expect(decodeBlock(fixture)).toEqual({ type: 'volume-label', label });
  });

  it('rejects a flipped bit in the body with BAD_CRC', () => {
    const flipped = fixture.slice();
    flipped[30]! ^= 0x01;
    expect(formatError(() => decodeVolumeLabel(flipped)).code).toBe('BAD_CRC');
  });

  it('validates options and names the field', () => {
    const e = formatError(() => encodeVolumeLabel({ ...label, barcode: '' }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.field).toBe('barcode');
    expect(formatError(() => encodeVolumeLabel({ ...label, labelId: 'nope' })).field).toBe('labelId');
    expect(formatError(() => encodeVolumeLabel({ ...label, pool: 'x'.repeat(256) })).field).toBe('pool');
    expect(formatError(() => encodeVolumeLabel({ ...label, createdAt: -1 })).field).toBe('createdAt');
  });
});

describe('data block', () => {
  const fixture = hex(`
    54444442 0001 0020 0002 0000 00000005
    0000000000000005
    9a71bb4c
    4ddcb239
    68656c6c6f`);

  it('encodes to the documented bytes', () => {
    expect(toHex(encodeDataBlock(2, 5, new TextEncoder().encode('hello')))).toBe(toHex(fixture));
  });

  it('decodes tag, sequence and payload', () => {
    const block = decodeDataBlock(fixture);
    expect(block.tag).toBe(2);
    expect(block.sequence).toBe(5);
    expect(new TextDecoder().decode(block.payload)).toBe('hello');
  });

  it('reports a payload bit flip as BAD_CRC on the payload, naming tag and sequence', () => {
    const bad = fixture.slice();
    bad[33]! ^= 0x10;
    const e = formatError(() => decodeDataBlock(bad));
    expect(e).toMatchObject({ code: 'BAD_CRC', field: 'payload', tag: 2, sequence: 5 });
  });

  it('reports a header bit flip as BAD_CRC on the header', () => {
    const bad = fixture.slice();
    bad[17]! ^= 0x01;
    expect(formatError(() => decodeDataBlock(bad))).toMatchObject({ code: 'BAD_CRC', field: 'header' });
  });

  it('reports truncation and trailing bytes', () => {
    expect(formatError(() => decodeDataBlock(fixture.subarray(0, 35)))).toMatchObject({
      code: 'TRUNCATED',
      field: 'payload',
    });
    expect(formatError(() => decodeDataBlock(fixture.subarray(0, 20))).code).toBe('TRUNCATED');
    const longer = new Uint8Array(fixture.length + 1);
    longer.set(fixture);
    expect(formatError(() => decodeDataBlock(longer)).code).toBe('TRAILING_BYTES');
  });

  it('reports a wrong magic', () => {
    const bad = fixture.slice();
    bad[0] = 0x58;
    expect(formatError(() => decodeDataBlock(bad))).toMatchObject({ code: 'BAD_MAGIC', offset: 0 });
    expect(formatError(() => decodeBlock(bad)).code).toBe('BAD_MAGIC');
    expect(formatError(() => decodeBlock(new Uint8Array(0))).code).toBe('BAD_MAGIC');
  });

  it('rejects an empty payload and out-of-range arguments', () => {
    expect(formatError(() => encodeDataBlock(0, 0, new Uint8Array(0))).field).toBe('payload.length');
    expect(formatError(() => encodeDataBlock(70_000, 0, new Uint8Array(1))).field).toBe('tag');
    expect(formatError(() => encodeDataBlock(1, -1, new Uint8Array(1))).field).toBe('sequence');
  });
});

describe('image trailer', () => {
  const sha256 = Uint8Array.from({ length: 32 }, (_, i) => i);
  const fixture = hex(`
    54444954 0001 0000 00000034
    0003 00 00 00000000000003e8 0000000000000004
    000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
    ce908ce2`);

  it('matches the documented bytes both ways', () => {
    const trailer = { tag: 3, status: 'complete' as const, totalBytes: 1000, blockCount: 4, sha256 };
    expect(toHex(encodeImageTrailer(trailer))).toBe(toHex(fixture));
    expect(decodeImageTrailer(fixture)).toEqual(trailer);
  });

  it('round-trips an aborted trailer and rejects a short digest', () => {
    const aborted = { tag: 9, status: 'aborted' as const, totalBytes: 7, blockCount: 1, sha256 };
    expect(decodeImageTrailer(encodeImageTrailer(aborted))).toEqual(aborted);
    expect(formatError(() => encodeImageTrailer({ ...aborted, sha256: new Uint8Array(31) })).field).toBe(
      'sha256',
    );
  });

  it('rejects an unknown status code even with a valid CRC', () => {
    const block = encodeImageTrailer({ tag: 3, status: 'complete', totalBytes: 1, blockCount: 1, sha256 });
    block[14] = 7; // status byte: 12 (envelope) + 2 (tag)
    expect(formatError(() => decodeImageTrailer(resealed(block))).field).toBe('status');
  });
});

/** Recomputes the envelope CRC after a deliberate field change, to test field checks behind the CRC. */
function resealed(block: Uint8Array): Uint8Array {
  const out = block.slice();
  const view = new DataView(out.buffer);
  view.setUint32(out.length - 4, crc32c(out.subarray(0, out.length - 4)));
  return out;
}

describe('fragment header and image start', () => {
  const header: FragmentHeader = {
    labelId: label.labelId,
    tapeFile: 3,
    blockPayloadSize: 262_144,
    createdAt: 1_700_000_000_500,
    images: [
      entry(),
      entry({ tag: 1, backupId: 'db_full', copy: 2, kind: 'stream', totalSize: undefined }),
      entry({ tag: 7, fragmentIndex: 2, offset: 1 << 20, firstSequence: 4, fromOtherMedium: true }),
    ],
  };

  it('round-trips, keeping unknown sizes unknown', () => {
    const decoded = decodeFragmentHeader(encodeFragmentHeader(header));
    expect(decoded).toEqual(header);
    expect(decoded.images[1]!.totalSize).toBeUndefined();
  });

  it('lays out the first entry as documented', () => {
    const block = encodeFragmentHeader({ ...header, images: [entry({ tag: 5, copy: 2, backupId: 'ab' })] });
    // envelope 12 + labelId 16 + tapeFile 4 + payload size 4 + createdAt 8 + count 2 = entry at 46
    expect(toHex(block.subarray(12 + 16, 46))).toBe('00000003' + '00040000' + '0000018bcfe569f4' + '0001');
    expect(toHex(block.subarray(46, 46 + 40))).toBe(
      '0005' +
        '0004' +
        '0002' +
        '00' +
        '00' +
        '00000000' +
        '0000000000000000' +
        '000000000001e240' +
        '0000000000000000' +
        '0002' +
        '6162',
    );
  });

  it('validates entries and names the offending option', () => {
    const dup = { ...header, images: [entry(), entry()] };
    expect(formatError(() => encodeFragmentHeader(dup)).field).toBe('images[1].tag');
    expect(formatError(() => encodeFragmentHeader({ ...header, images: [] })).field).toBe('images.length');
    expect(formatError(() => encodeFragmentHeader({ ...header, blockPayloadSize: 3000 })).field).toBe(
      'blockPayloadSize',
    );
    expect(formatError(() => encodeFragmentHeader({ ...header, tapeFile: 0 })).field).toBe('tapeFile');
    expect(formatError(() => encodeFragmentHeader({ ...header, images: [entry({ offset: 5 })] })).field).toBe(
      'images[0].fragmentIndex',
    );
    expect(
      formatError(() => encodeFragmentHeader({ ...header, images: [entry({ fromOtherMedium: true })] }))
        .field,
    ).toBe('images[0].fromOtherMedium');
    expect(formatError(() => encodeFragmentHeader({ ...header, images: [entry({ copy: 0 })] })).field).toBe(
      'images[0].copy',
    );
    expect(
      formatError(() => encodeFragmentHeader({ ...header, images: [entry({ kind: 'tape' as 'disk' })] }))
        .field,
    ).toBe('images[0].kind');
  });

  it('rejects inconsistent entry flags behind a valid CRC', () => {
    const block = encodeFragmentHeader({ ...header, images: [entry()] });
    block[46 + 3] = 0x02; // fromOtherMedium without continuation
    expect(formatError(() => decodeFragmentHeader(resealed(block)))).toMatchObject({
      code: 'BAD_FIELD',
      field: 'flags',
    });
  });

  it('round-trips image start records', () => {
    const start = { images: [entry({ tag: 4, backupId: 'late' })] };
    expect(decodeImageStart(encodeImageStart(start))).toEqual(start);
    expect(decodeBlock(encodeImageStart(start))).toEqual({ type: 'image-start', start });
  });

  it('reports a truncated header naming the envelope length', () => {
    const block = encodeFragmentHeader(header);
    expect(formatError(() => decodeFragmentHeader(block.subarray(0, block.length - 3)))).toMatchObject({
      code: 'TRUNCATED',
      field: 'bodyLength',
    });
    expect(formatError(() => decodeFragmentHeader(block.subarray(0, 10))).code).toBe('TRUNCATED');
  });

  it('reports a future format version as BAD_VERSION', () => {
    const block = encodeFragmentHeader(header);
    block[5] = 2;
    expect(formatError(() => decodeFragmentHeader(resealed(block)))).toMatchObject({
      code: 'BAD_VERSION',
      offset: 4,
    });
  });

  it('reports a record of another type as BAD_MAGIC', () => {
    expect(formatError(() => decodeFragmentHeader(encodeVolumeLabel(label)))).toMatchObject({
      code: 'BAD_MAGIC',
    });
  });
});

describe('fragment end and empty header', () => {
  it('round-trip', () => {
    const end = {
      tapeFile: 4,
      reason: 'end-of-medium' as const,
      images: [
        { tag: 0, continues: true, continuesOnOtherMedium: true, blocks: 3, bytes: 3000 },
        { tag: 1, continues: false, continuesOnOtherMedium: false, blocks: 1, bytes: 10 },
      ],
    };
    expect(decodeFragmentEnd(encodeFragmentEnd(end))).toEqual(end);
    expect(decodeBlock(encodeFragmentEnd(end))).toEqual({ type: 'fragment-end', end });
    const eh = { labelId: label.labelId, tapeFile: 9, createdAt: 5 };
    expect(decodeEmptyHeader(encodeEmptyHeader(eh))).toEqual(eh);
    expect(decodeBlock(encodeEmptyHeader(eh))).toEqual({ type: 'empty-header', emptyHeader: eh });
  });

  it('refuses continuesOnOtherMedium without continues', () => {
    const bad = {
      tapeFile: 4,
      reason: 'checkpoint' as const,
      images: [{ tag: 0, continues: false, continuesOnOtherMedium: true, blocks: 0, bytes: 0 }],
    };
    expect(formatError(() => encodeFragmentEnd(bad)).field).toBe('images[0].continuesOnOtherMedium');
  });
});

describe('decodeBlock on damaged input', () => {
  it('throws only TapeFormatError, whatever the bytes (random or a valid block with a flipped bit)', async () => {
    const fc = (await import('fast-check')).default;
    const valid = [
      encodeVolumeLabel(label),
      encodeDataBlock(1, 2, new Uint8Array(40).fill(7)),
      encodeFragmentHeader({
        labelId: label.labelId,
        tapeFile: 1,
        blockPayloadSize: 1024,
        createdAt: 0,
        images: [entry()],
      }),
      encodeEmptyHeader({ labelId: label.labelId, tapeFile: 2, createdAt: 0 }),
    ];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc
            .tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 7 }))
            .map(([block, at, bit]) => {
              const copy = block.slice();
              copy[at % copy.length]! ^= 1 << bit;
              return copy;
            }),
        ),
        (bytes) => {
          try {
            decodeBlock(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(TapeFormatError);
            return;
          }
          // A single flipped bit in a valid block must never decode silently.
          expect(valid.some((v) => v.length === bytes.length)).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
