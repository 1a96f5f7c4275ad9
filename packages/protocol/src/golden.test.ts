/**
 * Golden bytes: every expected frame is built by the independent writer in testing/msgpack-builder
 * (or written out in hex), never by `encode`. `encode` must produce exactly these bytes and
 * `decode` must return exactly the message.
 */
import { describe, expect, it } from 'vitest';
import type { Message } from './catalogue';
import { decode, encode } from './codec';
import { type DataHeader, decodeDataHeader, encodeDataHeader } from './data-frame';
import { arr, bin, bool, float64, fromHex, hex, int64, map, str, uint } from './testing/msgpack-builder';
import { SAMPLES, sampleSense } from './testing/samples';

function expectGolden(message: Message, expected: Uint8Array): void {
  expect(hex(encode(message))).toBe(hex(expected));
  expect(decode(expected)).toEqual(message);
}

const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('golden frames built by the independent writer', () => {
  it('submit: nested maps, arrays, int64 sizes, float64, optional fields in schema order', () => {
    const expected = map([
      ['v', uint(1)],
      ['type', str('submit')],
      ['id', str('req-1')],
      [
        'images',
        arr([
          map([
            ['backupId', str('client1_1700000000')],
            ['sizeBytes', int64(5 * 2 ** 30)],
            [
              'source',
              map([
                ['kind', str('disk')],
                ['dsu', str('dsu1')],
                ['path', str('c1/img.0')],
              ]),
            ],
          ]),
          map([
            ['backupId', str('live:42')],
            ['sizeBytes', uint(0)],
            ['source', map([['kind', str('stream')]])],
            ['priority', uint(90)],
          ]),
        ]),
      ],
      ['copies', uint(2)],
      ['pool', str('offsite')],
      ['priority', uint(40)],
      ['deadline', int64(1_700_000_360_000)],
      [
        'policy',
        map([
          ['policy', str('adaptive')],
          ['maxDeferredImages', uint(8)],
          ['maxSecondsWithoutSync', float64(2.5)],
          ['mpxFactor', uint(4)],
        ]),
      ],
    ]);
    expectGolden(SAMPLES.submit, expected);
  });

  it('sync-failed: a bin field (raw sense) and a string array', () => {
    const expected = map([
      ['v', uint(1)],
      ['type', str('sync-failed')],
      ['id', str('w1-4')],
      ['re', str('d-7')],
      ['batchId', str('b7')],
      ['failed', arr([str('R000017.client1_1700000000.2.a1')])],
      [
        'sense',
        map([
          ['senseKey', uint(3)],
          ['asc', uint(0x0c)],
          ['ascq', uint(0)],
          ['deferred', bool(true)],
          ['category', str('medium')],
          ['code', str('MEDIUM_ERROR')],
          ['message', str('write error (deferred)')],
          ['raw', bin(sampleSense.raw!)],
        ]),
      ],
    ]);
    expectGolden(SAMPLES['sync-failed'], expected);
  });

  it('heartbeat: uint32, int64, float64 stats and a 16-entry map (map16 boundary below)', () => {
    const expected = map([
      ['v', uint(1)],
      ['type', str('heartbeat')],
      ['id', str('w0-2')],
      ['driveId', str('drive0')],
      ['at', int64(1_700_000_002_000)],
      ['state', str('writing')],
      ['medium', str('A00001L9')],
      [
        'stats',
        map([
          ['bytesWritten', int64(6 * 2 ** 30)],
          ['imagesWritten', uint(4)],
          ['immediateFilemarks', uint(3)],
          ['syncs', uint(1)],
          ['syncFailures', uint(0)],
          ['pendingCopies', uint(3)],
          ['pendingBytes', uint(2 ** 31)],
          ['lastSyncMs', float64(1480.5)],
          ['rateBytesPerSec', float64(398_500_000.25)],
        ]),
      ],
    ]);
    expectGolden(SAMPLES.heartbeat, expected);
  });

  it('image-committed: 13 keys (fixmap), a 64-character string (str8)', () => {
    const expected = map([
      ['v', uint(1)],
      ['type', str('image-committed')],
      ['id', str('e-2')],
      ['at', int64(1_700_000_003_000)],
      ['requestId', str('R000017')],
      ['backupId', str('client1_1700000000')],
      ['copy', uint(1)],
      ['driveId', str('drive0')],
      ['medium', str('A00001L9')],
      ['fileNumber', uint(3)],
      ['blockAddress', uint(81_924)],
      ['bytes', int64(5 * 2 ** 30)],
      ['sha256', str(SHA)],
    ]);
    expect(expected[0]).toBe(0x8d);
    expectGolden(SAMPLES['image-committed'], expected);
  });

  it('assign: items with a nested source and optional mpxGroup', () => {
    const item = (fields: [string, Uint8Array][]) => map(fields);
    const expected = map([
      ['v', uint(1)],
      ['type', str('assign')],
      ['id', str('d-6')],
      ['medium', str('A00001L9')],
      [
        'resumeAt',
        map([
          ['fileNumber', uint(2)],
          ['blockAddress', uint(40_962)],
        ]),
      ],
      [
        'items',
        arr([
          item([
            ['copyId', str('R000017.client1_1700000000.1.a1')],
            ['requestId', str('R000017')],
            ['backupId', str('client1_1700000000')],
            ['copy', uint(1)],
            ['sizeBytes', int64(5 * 2 ** 30)],
            [
              'source',
              map([
                ['kind', str('disk')],
                ['dsu', str('dsu1')],
                ['path', str('c1/img.0')],
              ]),
            ],
            ['priority', uint(40)],
            ['attempt', uint(1)],
            ['decision', str('defer')],
            ['reason', str('batch 1/8, 5 GiB of 40 GiB')],
            ['mpxGroup', str('g1')],
          ]),
          item([
            ['copyId', str('R000017.live:42.1.a1')],
            ['requestId', str('R000017')],
            ['backupId', str('live:42')],
            ['copy', uint(1)],
            ['sizeBytes', uint(0)],
            ['source', map([['kind', str('stream')]])],
            ['priority', uint(90)],
            ['attempt', uint(1)],
            ['decision', str('sync')],
            ['reason', str('stream images are never deferred')],
          ]),
        ]),
      ],
    ]);
    expectGolden(SAMPLES.assign, expected);
  });

  it('the writer itself follows the specification at the format boundaries', () => {
    const entries = Array.from({ length: 16 }, (_, i) => [`k${i}`, uint(i)] as const);
    expect(hex(map(entries).subarray(0, 3))).toBe('de0010');
    expect(hex(str('x'.repeat(32)).subarray(0, 2))).toBe('d920');
    expect(hex(str('x'.repeat(256)).subarray(0, 3))).toBe('da0100');
    expect(hex(arr(Array.from({ length: 16 }, () => uint(0))).subarray(0, 3))).toBe('dc0010');
    expect(hex(uint(0x80))).toBe('cc80');
    expect(hex(uint(0x100))).toBe('cd0100');
    expect(hex(uint(0x10000))).toBe('ce00010000');
    expect(hex(int64(2 ** 40))).toBe('d30000010000000000');
  });
});

describe('hand-written hex fixtures', () => {
  it('status with no requestId', () => {
    const bytes = fromHex(
      `
      83                         # fixmap, 3 entries
      a1 76 01                   # "v": 1
      a4 74797065                # "type":
      a6 737461747573            #   "status"
      a2 6964 a5 7265712d34      # "id": "req-4"
    `.replace(/#[^\n]*/g, ''),
    );
    expect(decode(bytes)).toEqual(SAMPLES.status);
    expect(hex(encode(SAMPLES.status))).toBe(hex(bytes));
  });

  it('sync-now', () => {
    const bytes = fromHex('84 a176 01 a474797065 a873796e632d6e6f77 a26964 a3642d37 a762617463684964 a26237');
    expect(decode(bytes)).toEqual(SAMPLES['sync-now']);
    expect(hex(encode(SAMPLES['sync-now']))).toBe(hex(bytes));
  });

  it('decode accepts any integer width and key order a foreign encoder may choose', () => {
    // "id" first, "v" last and as uint8 (cc 01).
    const bytes = fromHex(
      '84 a26964 a3642d37 a474797065 a873796e632d6e6f77 a762617463684964 a26237 a176 cc01',
    );
    expect(decode(bytes)).toEqual(SAMPLES['sync-now']);
    // The 5 GiB size as uint64 (cf) or as a float64 with an integral value reads the same.
    const committed = hex(encode(SAMPLES['image-committed']));
    expect(committed).toContain('d30000000140000000');
    const asUint64 = fromHex(committed.replace('d30000000140000000', 'cf0000000140000000'));
    expect(decode(asUint64)).toEqual(SAMPLES['image-committed']);
    const asFloat = fromHex(committed.replace('d30000000140000000', hex(float64(5 * 2 ** 30))));
    expect(decode(asFloat)).toEqual(SAMPLES['image-committed']);
  });

  it('data header: data chunk with copy', () => {
    const header: DataHeader = { v: 1, type: 'data', backupId: 'live:42', copy: 2, seq: 7, offset: 65536 };
    const bytes = fromHex(
      '86 a17601 a474797065 a464617461 a8 6261636b75704964 a76c6976653a3432 a4636f707902 a3736571 07 a66f6666736574 ce00010000',
    );
    expect(hex(encodeDataHeader(header))).toBe(hex(bytes));
    expect(decodeDataHeader(bytes)).toEqual(header);
  });

  it('data header: end with sha256, built by the writer', () => {
    const header: DataHeader = {
      v: 1,
      type: 'end',
      backupId: 'live:42',
      seq: 8,
      offset: 65536 + 100,
      sha256: SHA,
    };
    const bytes = map([
      ['v', uint(1)],
      ['type', str('end')],
      ['backupId', str('live:42')],
      ['seq', uint(8)],
      ['offset', uint(65636)],
      ['sha256', str(SHA)],
    ]);
    expect(hex(encodeDataHeader(header))).toBe(hex(bytes));
    expect(decodeDataHeader(bytes)).toEqual(header);
  });
});
