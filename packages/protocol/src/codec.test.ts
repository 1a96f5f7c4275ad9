import { describe, expect, it } from 'vitest';
import { MESSAGE_TYPES, type MessageOf, SCHEDULER_REQUEST_TYPES } from './catalogue';
import { DEFAULT_MAX_FRAME_BYTES, decode, encode, errorReplyFor, makeMessage, parseMessage } from './codec';
import { ProtocolError } from './errors';
import { expectProtocolError } from './testing/expect-error';
import {
  arr,
  bool,
  concat,
  fromHex,
  hex,
  int64,
  map,
  nil,
  raw,
  str,
  uint,
  uint64,
} from './testing/msgpack-builder';
import { SAMPLES } from './testing/samples';
import { pack } from './wire';

/** Encodes a plain value with the codec's msgpack settings but without validation. */
const frame = (value: unknown) => pack(value);
const submit = SAMPLES.submit;
const withImages = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    backupId: `b${i}`,
    sizeBytes: 1000 + i,
    source: { kind: 'disk' as const, dsu: 'dsu1', path: `p/${i}` },
  }));

describe('round trip', () => {
  it.each(MESSAGE_TYPES)('%s: decode(encode(m)) equals m', (type) => {
    const message = SAMPLES[type];
    expect(decode(encode(message))).toEqual(message);
  });

  it('returns a plain Uint8Array, not a pooled Buffer', () => {
    const bytes = encode(SAMPLES.status);
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
  });

  it('omits optional fields that are set to undefined', () => {
    const bytes = encode({ ...SAMPLES.status, requestId: undefined });
    expect(bytes).toEqual(encode(SAMPLES.status));
    expect(Object.keys(decode(bytes))).toEqual(['v', 'type', 'id']);
  });

  it('decoded bytes never alias the frame buffer', () => {
    const bytes = encode(SAMPLES['sync-failed']);
    const message = decode(bytes, { accept: ['sync-failed'] });
    const before = Array.from(message.sense.raw ?? []);
    bytes.fill(0);
    expect(Array.from(message.sense.raw ?? [])).toEqual(before);
  });

  it('makeMessage fills in v and type', () => {
    const m = makeMessage('mount', { id: 'x1', barcode: 'B1' });
    expect(m).toEqual({ v: 1, type: 'mount', id: 'x1', barcode: 'B1' });
    expect(decode(encode(m))).toEqual(m);
  });

  it('keeps working after a refused frame', () => {
    expectProtocolError(() => decode(raw(0xdc, 0xff)), 'NOT_MSGPACK');
    expect(decode(encode(SAMPLES.mount))).toEqual(SAMPLES.mount);
  });
});

describe('FRAME_TOO_LARGE', () => {
  it('refuses a frame above the default 1 MiB before parsing it', () => {
    const bytes = new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1).fill(0xc1);
    expectProtocolError(() => decode(bytes), 'FRAME_TOO_LARGE');
  });

  it('honours maxFrameBytes on decode and encode', () => {
    const bytes = encode(SAMPLES.status);
    expect(decode(bytes, { maxFrameBytes: bytes.length })).toEqual(SAMPLES.status);
    expectProtocolError(() => decode(bytes, { maxFrameBytes: bytes.length - 1 }), 'FRAME_TOO_LARGE');
    const err = expectProtocolError(() => encode(SAMPLES.status, { maxFrameBytes: 10 }), 'FRAME_TOO_LARGE');
    expect(err.messageId).toBe('req-4');
  });

  it('a bad maxFrameBytes option is a RangeError naming it', () => {
    expect(() => decode(encode(SAMPLES.status), { maxFrameBytes: 0 })).toThrow(/maxFrameBytes/);
    expect(() => encode(SAMPLES.status, { maxFrameBytes: 1.5 })).toThrow(RangeError);
  });
});

describe('NOT_MSGPACK', () => {
  it.each([
    ['an empty frame', raw()],
    ['a truncated frame', encode(SAMPLES.submit).subarray(0, 40)],
    ['trailing bytes after one value', concat([encode(SAMPLES.status), raw(0x00)])],
    ['an unknown extension type', raw(0xc7, 0x01, 0x12, 0x01)],
    ['a string length past the end', raw(0xdb, 0xff, 0xff, 0xff, 0xff, 0x61)],
    ['an array32 length past the end', raw(0xdd, 0x7f, 0xff, 0xff, 0xff)],
  ])('%s', (_name, bytes) => {
    const err = expectProtocolError(() => decode(bytes), 'NOT_MSGPACK');
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('a value that is not a byte array', () => {
    expectProtocolError(() => decode('hello' as unknown as Uint8Array), 'NOT_MSGPACK');
  });

  it('deep nesting is refused, not a crash', () => {
    const bytes = new Uint8Array(DEFAULT_MAX_FRAME_BYTES).fill(0x91);
    const err = decodeError(bytes);
    expect(['NOT_MSGPACK', 'NOT_A_MESSAGE']).toContain(err.code);
  });
});

function decodeError(bytes: Uint8Array): ProtocolError {
  try {
    decode(bytes);
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('decode accepted the frame');
}

describe('NOT_A_MESSAGE', () => {
  it.each([
    ['an array', arr([str('submit')])],
    ['a string', str('submit')],
    ['nil', nil()],
    ['a bin', raw(0xc4, 0x01, 0x00)],
    ['a timestamp extension', raw(0xd6, 0xff, 0, 0, 0, 1)],
    ['the reserved byte c1', raw(0xc1)],
    ['a map without type', map([['v', uint(1)]])],
    [
      'a map whose type is not a string',
      map([
        ['v', uint(1)],
        ['type', uint(5)],
      ]),
    ],
    [
      'a map without v',
      map([
        ['type', str('status')],
        ['id', str('a')],
      ]),
    ],
  ])('%s', (_name, bytes) => {
    expectProtocolError(() => decode(bytes), 'NOT_A_MESSAGE');
  });

  it('keeps the id when it can be read', () => {
    const err = expectProtocolError(
      () =>
        decode(
          map([
            ['type', str('status')],
            ['id', str('q-7')],
          ]),
        ),
      'NOT_A_MESSAGE',
    );
    expect(err.messageId).toBe('q-7');
    expect(err.messageType).toBe('status');
  });
});

describe('BAD_VERSION', () => {
  it.each([
    ['v = 2', uint(2)],
    ['v = 0', uint(0)],
    ['v = "1"', str('1')],
    ['v = nil', nil()],
    ['v = true', bool(true)],
  ])('%s', (_name, v) => {
    const bytes = map([
      ['v', v],
      ['type', str('status')],
      ['id', str('q-1')],
    ]);
    const err = expectProtocolError(() => decode(bytes), 'BAD_VERSION', 'v');
    expect(err.messageId).toBe('q-1');
  });

  it('is checked before the type, so a newer peer learns the version is the problem', () => {
    const bytes = map([
      ['v', uint(2)],
      ['type', str('a-type-from-the-future')],
      ['id', str('q-1')],
    ]);
    expectProtocolError(() => decode(bytes), 'BAD_VERSION', 'v');
  });
});

describe('UNKNOWN_TYPE', () => {
  it('a type outside the catalogue', () => {
    const bytes = map([
      ['v', uint(1)],
      ['type', str('frobnicate')],
      ['id', str('q-2')],
    ]);
    const err = expectProtocolError(() => decode(bytes), 'UNKNOWN_TYPE', 'type');
    expect(err.messageType).toBe('frobnicate');
  });

  it('inherited property names are not types', () => {
    for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const bytes = map([
        ['v', uint(1)],
        ['type', str(type)],
        ['id', str('q-2')],
      ]);
      expectProtocolError(() => decode(bytes), 'UNKNOWN_TYPE', 'type');
    }
  });

  it('a catalogued type that the receiving socket does not accept', () => {
    const bytes = encode(SAMPLES.assign);
    expectProtocolError(() => decode(bytes, { accept: SCHEDULER_REQUEST_TYPES }), 'UNKNOWN_TYPE', 'type');
    const ok = decode(encode(SAMPLES.cancel), { accept: SCHEDULER_REQUEST_TYPES });
    expect(ok.type).toBe('cancel');
  });
});

describe('INVALID_FIELD names the field path', () => {
  const cases: [string, unknown, string][] = [
    [
      'size above 2^50',
      { ...submit, images: [...withImages(3), { ...withImages(4)[3]!, sizeBytes: 2 ** 50 + 1 }] },
      'images.3.sizeBytes',
    ],
    ['negative size', { ...submit, images: [{ ...withImages(1)[0]!, sizeBytes: -1 }] }, 'images.0.sizeBytes'],
    [
      'fractional size',
      { ...submit, images: [{ ...withImages(1)[0]!, sizeBytes: 1.5 }] },
      'images.0.sizeBytes',
    ],
    [
      'unknown source kind',
      { ...submit, images: [{ ...withImages(1)[0]!, source: { kind: 'nfs' } }] },
      'images.0.source.kind',
    ],
    [
      'path escaping the DSU',
      {
        ...submit,
        images: [{ ...withImages(1)[0]!, source: { kind: 'disk', dsu: 'd', path: 'a/../../etc/passwd' } }],
      },
      'images.0.source.path',
    ],
    [
      'absolute path',
      {
        ...submit,
        images: [{ ...withImages(1)[0]!, source: { kind: 'disk', dsu: 'd', path: '/etc/passwd' } }],
      },
      'images.0.source.path',
    ],
    [
      'backupId with a slash',
      { ...submit, images: [{ ...withImages(1)[0]!, backupId: 'a/b' }] },
      'images.0.backupId',
    ],
    ['duplicate backupId', { ...submit, images: [...withImages(2), withImages(1)[0]!] }, 'images.2.backupId'],
    ['no images', { ...submit, images: [] }, 'images'],
    ['too many copies', { ...submit, copies: 9 }, 'copies'],
    ['copies as a string', { ...submit, copies: '2' }, 'copies'],
    ['priority above 100', { ...submit, priority: 101 }, 'priority'],
    ['missing pool', (({ pool: _p, ...rest }) => rest)(submit), 'pool'],
    ['unknown top-level key', { ...submit, bogus: 1 }, 'bogus'],
    ['unknown nested key', { ...submit, images: [{ ...withImages(1)[0]!, kind: 'disk' }] }, 'images.0.kind'],
    ['unknown policy', { ...submit, policy: { policy: 'yolo' } }, 'policy.policy'],
    [
      'zero maxSecondsWithoutSync',
      { ...submit, policy: { maxSecondsWithoutSync: 0 } },
      'policy.maxSecondsWithoutSync',
    ],
    ['nil for an optional field', { ...submit, deadline: null }, 'deadline'],
    ['empty id', { ...submit, id: '' }, 'id'],
    ['id of 129 characters', { ...submit, id: 'x'.repeat(129) }, 'id'],
    ['id with a space', { ...submit, id: 'a b' }, 'id'],
    ['uppercase sha256', { ...SAMPLES['image-committed'], sha256: 'E'.repeat(64) }, 'sha256'],
    ['copy 0', { ...SAMPLES['image-written'], copy: 0 }, 'copy'],
    [
      'raw sense over 252 bytes',
      { ...SAMPLES['sync-failed'], sense: { ...SAMPLES['sync-failed'].sense, raw: new Uint8Array(253) } },
      'sense.raw',
    ],
    [
      'sense key 16',
      { ...SAMPLES['drive-error'], sense: { ...SAMPLES['drive-error'].sense, senseKey: 16 } },
      'sense.senseKey',
    ],
    [
      'a deferred stream image',
      {
        ...SAMPLES.assign,
        items: [SAMPLES.assign.items[0], { ...SAMPLES.assign.items[1], decision: 'defer' }],
      },
      'items.1.decision',
    ],
    [
      'a deferred retry',
      { ...SAMPLES.assign, items: [{ ...SAMPLES.assign.items[0], attempt: 2 }] },
      'items.0.decision',
    ],
    [
      'duplicate copyId',
      {
        ...SAMPLES.assign,
        items: [
          SAMPLES.assign.items[0],
          { ...SAMPLES.assign.items[1], copyId: SAMPLES.assign.items[0]!.copyId },
        ],
      },
      'items.1.copyId',
    ],
    [
      'bad endpoint',
      { ...SAMPLES.accepted, streams: [{ backupId: 'b', copy: 1, endpoint: 'http://x' }] },
      'streams.0.endpoint',
    ],
    ['bad error code', { ...SAMPLES.error, code: 'lower' }, 'code'],
    ['unknown writer state', { ...SAMPLES.heartbeat, state: 'dancing' }, 'state'],
    ['pid 0', { ...SAMPLES.hello, pid: 0 }, 'pid'],
    [
      'unknown capability',
      { ...SAMPLES.hello, capabilities: { ...SAMPLES.hello.capabilities, teleport: true } },
      'capabilities.teleport',
    ],
  ];

  it.each(cases)('%s → %s', (_name, value, field) => {
    expectProtocolError(() => decode(frame(value)), 'INVALID_FIELD', field);
    expectProtocolError(() => encode(value as MessageOf<'submit'>), 'INVALID_FIELD', field);
  });

  it('msgpackr undefined extension for an optional field', () => {
    // d4 00 00 is msgpackr's "undefined"; it is not a value a foreign client can send, so it is refused.
    const bytes = map([
      ['v', uint(1)],
      ['type', str('status')],
      ['id', str('q')],
      ['requestId', raw(0xd4, 0x00, 0x00)],
    ]);
    expectProtocolError(() => decode(bytes), 'INVALID_FIELD', 'requestId');
  });

  it('a 64-bit integer beyond 2^53', () => {
    const base = [
      ['v', uint(1)],
      ['type', str('cancelled')],
      ['id', str('d')],
      ['re', str('q')],
      ['requestId', str('R1')],
      ['alreadyCommitted', uint(0)],
    ] as const;
    expectProtocolError(
      () => decode(map([...base, ['cancelled', uint64(2n ** 53n + 1n)]])),
      'INVALID_FIELD',
      'cancelled',
    );
    expectProtocolError(() => decode(map([...base, ['cancelled', int64(-1)]])), 'INVALID_FIELD', 'cancelled');
    expect(decode(map([...base, ['cancelled', uint64(2n ** 53n - 1n)]]))).toMatchObject({
      cancelled: 2 ** 53 - 1,
    });
  });

  it('the message names the field and the error keeps the zod cause', () => {
    const err = expectProtocolError(() => decode(frame({ ...submit, copies: 0 })), 'INVALID_FIELD', 'copies');
    expect(err.message).toMatch(/^copies: /);
    expect(err.cause).toBeDefined();
    expect(err.messageId).toBe('req-1');
    expect(err.messageType).toBe('submit');
  });
});

describe('parseMessage', () => {
  it('validates an in-memory value and returns a copy', () => {
    const value = structuredClone(SAMPLES.mount);
    const parsed = parseMessage(value);
    expect(parsed).toEqual(SAMPLES.mount);
    expect(parsed).not.toBe(value);
  });

  it('refuses class instances as maps', () => {
    expectProtocolError(() => parseMessage(new Date()), 'NOT_A_MESSAGE');
  });
});

describe('errorReplyFor', () => {
  it('answers the id read from the refused frame with the error code and field', () => {
    const err = expectProtocolError(() => decode(frame({ ...submit, copies: 0 })), 'INVALID_FIELD', 'copies');
    const reply = errorReplyFor(err, undefined, 'd-100');
    expect(reply).toEqual({
      v: 1,
      type: 'error',
      id: 'd-100',
      re: 'req-1',
      code: 'INVALID_FIELD',
      message: err.message,
      field: 'copies',
    });
    expect(decode(encode(reply))).toEqual(reply);
  });

  it('uses an explicit re, and a random id by default', () => {
    const err = new ProtocolError('NOT_MSGPACK', 'garbage');
    const a = errorReplyFor(err, 'client-7');
    const b = errorReplyFor(err, 'client-7');
    expect(a.re).toBe('client-7');
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.field).toBeUndefined();
  });

  it('leaves re out when there is no usable id, and still encodes for huge fields and messages', () => {
    const err = new ProtocolError('INVALID_FIELD', 'x'.repeat(5000), { field: 'k'.repeat(1000) });
    const reply = errorReplyFor(err, 'bad id with spaces', 'd-1');
    expect('re' in reply).toBe(false);
    expect(reply.field).toHaveLength(256);
    expect(reply.message).toHaveLength(1024);
    expect(decode(encode(reply))).toEqual(reply);
  });

  it('covers an unknown key with a very long name', () => {
    const bytes = frame({ ...SAMPLES.status, ['z'.repeat(300)]: 1 });
    const err = expectProtocolError(() => decode(bytes), 'INVALID_FIELD', 'z'.repeat(256));
    expect(hex(encode(errorReplyFor(err, undefined, 'e')))).toMatch(/^8[0-9a-f]/);
  });
});

// Keep the fixture helpers honest: `frame` must not validate.
describe('test helper', () => {
  it('frame() packs invalid values unvalidated', () => {
    expect(hex(frame({ v: 9 }))).toBe('81a17609');
    expect(fromHex('81a17609')).toEqual(frame({ v: 9 }));
  });
});

describe('error messages never stringify containers', () => {
  it('a nested array as v is described, not joined', () => {
    const err = expectProtocolError(
      () =>
        decode(
          map([
            ['type', str('status')],
            ['v', arr([arr([uint(1)])])],
          ]),
        ),
      'BAD_VERSION',
      'v',
    );
    expect(err.message).toBe('protocol version an array is not 1');
    const asString = expectProtocolError(
      () =>
        decode(
          map([
            ['type', str('status')],
            ['v', str('1')],
          ]),
        ),
      'BAD_VERSION',
      'v',
    );
    expect(asString.message).toBe('protocol version "1" is not 1');
    const asNil = expectProtocolError(
      () =>
        decode(
          map([
            ['type', str('status')],
            ['v', nil()],
          ]),
        ),
      'BAD_VERSION',
      'v',
    );
    expect(asNil.message).toBe('protocol version nil is not 1');
    const asMap = expectProtocolError(
      () =>
        decode(
          map([
            ['type', str('status')],
            ['v', map([])],
          ]),
        ),
      'BAD_VERSION',
      'v',
    );
    expect(asMap.message).toBe('protocol version a map is not 1');
  });
});
