import { describe, expect, it } from 'vitest';
import {
  type DataHeader,
  DEFAULT_MAX_CHUNK_BYTES,
  decodeDataFrame,
  decodeDataHeader,
  encodeDataFrame,
  encodeDataHeader,
} from './data-frame';
import { expectProtocolError } from './testing/expect-error';
import { map, raw, str, uint } from './testing/msgpack-builder';

const chunk: DataHeader = { v: 1, type: 'data', backupId: 'live:42', copy: 1, seq: 0, offset: 0 };
const end: DataHeader = { v: 1, type: 'end', backupId: 'live:42', copy: 1, seq: 3, offset: 300 };
const abort: DataHeader = {
  v: 1,
  type: 'abort',
  backupId: 'live:42',
  seq: 2,
  offset: 200,
  reason: 'client gone',
};

describe('data headers', () => {
  it.each([chunk, end, abort])('round trip %#', (header) => {
    expect(decodeDataHeader(encodeDataHeader(header))).toEqual(header);
  });

  it('large offsets are int64 on the wire and read back exactly', () => {
    const header: DataHeader = { ...chunk, offset: 2 ** 50 - 1 };
    expect(decodeDataHeader(encodeDataHeader(header))).toEqual(header);
  });

  it('refuses each kind of bad frame with the codec error codes', () => {
    expectProtocolError(() => decodeDataHeader(raw(0x92, 0x01)), 'NOT_MSGPACK');
    expectProtocolError(() => decodeDataHeader(raw(0x90)), 'NOT_A_MESSAGE');
    expectProtocolError(() => decodeDataHeader(map([['type', str('data')]])), 'NOT_A_MESSAGE');
    expectProtocolError(
      () =>
        decodeDataHeader(
          map([
            ['v', uint(2)],
            ['type', str('data')],
          ]),
        ),
      'BAD_VERSION',
      'v',
    );
    expectProtocolError(
      () =>
        decodeDataHeader(
          map([
            ['v', uint(1)],
            ['type', str('submit')],
          ]),
        ),
      'UNKNOWN_TYPE',
      'type',
    );
    expectProtocolError(() => decodeDataHeader(encodeDataHeader(chunk).subarray(0, 12)), 'NOT_MSGPACK');
    expectProtocolError(() => decodeDataHeader(42 as unknown as Uint8Array), 'NOT_MSGPACK');
  });

  it('names invalid fields', () => {
    expectProtocolError(() => encodeDataHeader({ ...chunk, copy: 9 }), 'INVALID_FIELD', 'copy');
    expectProtocolError(() => encodeDataHeader({ ...chunk, offset: -1 }), 'INVALID_FIELD', 'offset');
    expectProtocolError(() => encodeDataHeader({ ...end, sha256: 'abc' }), 'INVALID_FIELD', 'sha256');
    expectProtocolError(
      () => encodeDataHeader({ ...chunk, reason: 'x' } as unknown as DataHeader),
      'INVALID_FIELD',
      'reason',
    );
    const bytes = map([
      ['v', uint(1)],
      ['type', str('data')],
      ['backupId', str('a b')],
      ['seq', uint(0)],
      ['offset', uint(0)],
    ]);
    expectProtocolError(() => decodeDataHeader(bytes), 'INVALID_FIELD', 'backupId');
  });

  it('refuses oversized headers', () => {
    expectProtocolError(() => decodeDataHeader(new Uint8Array(1025)), 'FRAME_TOO_LARGE');
    expectProtocolError(() => encodeDataHeader(chunk, { maxFrameBytes: 8 }), 'FRAME_TOO_LARGE');
    expect(() => decodeDataHeader(raw(0x80), { maxFrameBytes: -1 })).toThrow(/maxFrameBytes/);
  });
});

describe('multipart data messages', () => {
  const payload = new Uint8Array([1, 2, 3]);

  it('data is [header, payload]; end and abort are [header]', () => {
    const frames = encodeDataFrame(chunk, payload);
    expect(frames).toHaveLength(2);
    expect(frames[1]).toBe(payload);
    expect(decodeDataFrame(frames)).toEqual({ header: chunk, payload });
    expect(encodeDataFrame(end)).toHaveLength(1);
    expect(decodeDataFrame(encodeDataFrame(abort))).toEqual({ header: abort });
  });

  it('refuses a data header without a payload, an empty payload, or extra frames', () => {
    const head = encodeDataHeader(chunk);
    expectProtocolError(() => decodeDataFrame([head]), 'NOT_A_MESSAGE');
    expectProtocolError(() => decodeDataFrame([head, new Uint8Array(0)]), 'NOT_A_MESSAGE');
    expectProtocolError(() => decodeDataFrame([head, payload, payload]), 'NOT_A_MESSAGE');
    expectProtocolError(() => decodeDataFrame([]), 'NOT_A_MESSAGE');
    expectProtocolError(() => decodeDataFrame([encodeDataHeader(end), payload]), 'NOT_A_MESSAGE');
    expectProtocolError(() => encodeDataFrame(chunk), 'NOT_A_MESSAGE');
    expectProtocolError(() => encodeDataFrame(end, payload), 'NOT_A_MESSAGE');
  });

  it('refuses payloads above maxChunkBytes', () => {
    const head = encodeDataHeader(chunk);
    const big = new Uint8Array(DEFAULT_MAX_CHUNK_BYTES + 1);
    expectProtocolError(() => decodeDataFrame([head, big]), 'FRAME_TOO_LARGE');
    expectProtocolError(
      () => encodeDataFrame(chunk, new Uint8Array(5), { maxChunkBytes: 4 }),
      'FRAME_TOO_LARGE',
    );
    expect(decodeDataFrame([head, new Uint8Array(4)], { maxChunkBytes: 4 }).payload).toHaveLength(4);
    expect(() => decodeDataFrame([head, payload], { maxChunkBytes: 0 })).toThrow(/maxChunkBytes/);
  });

  it('applies maxHeaderBytes to the header frame', () => {
    expectProtocolError(
      () => decodeDataFrame([encodeDataHeader(chunk), payload], { maxHeaderBytes: 4 }),
      'FRAME_TOO_LARGE',
    );
  });
});
