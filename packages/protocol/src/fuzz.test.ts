/**
 * Property tests: 100,000 random or mutated frames in total. Each must decode to a message that
 * re-validates and re-encodes to the same bytes, or be refused with a ProtocolError carrying one
 * of the documented codes — never any other exception.
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MESSAGE_TYPES, type MessageType, messageSchemas } from './catalogue';
import { decode, encode } from './codec';
import { decodeDataHeader, encodeDataHeader } from './data-frame';
import { PROTOCOL_ERROR_CODES, ProtocolError } from './errors';
import { SAMPLES } from './testing/samples';

/** A raw packer that does not validate, to put arbitrary values on the wire. */
const rawPackr = new Packr({ useRecords: false, variableMapSize: true });
const packRaw = (value: unknown): Uint8Array | undefined => {
  try {
    return rawPackr.pack(value);
  } catch {
    return undefined; // values msgpackr itself cannot write are not frames
  }
};

const CODES = new Set<string>(PROTOCOL_ERROR_CODES);
const frames = MESSAGE_TYPES.map((type) => encode(SAMPLES[type]));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const stats = { ok: 0, refused: new Map<string, number>() };

/** The property every frame must satisfy. Returns the ProtocolError when the frame was refused. */
function checkFrame(bytes: Uint8Array): ProtocolError | undefined {
  let message: ReturnType<typeof decode>;
  try {
    message = decode(bytes);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    if (!CODES.has(err.code)) throw new Error(`undocumented code ${err.code}`);
    if (err.code === 'INVALID_FIELD' && typeof err.field !== 'string')
      throw new Error('INVALID_FIELD without field');
    stats.refused.set(err.code, (stats.refused.get(err.code) ?? 0) + 1);
    return err;
  }
  if (!messageSchemas[message.type].safeParse(message).success)
    throw new Error('decoded message does not re-validate');
  const again = encode(message);
  if (hex(encode(decode(again))) !== hex(again)) throw new Error('re-encoding is not stable');
  stats.ok++;
  return undefined;
}

/** Data headers obey the same discipline on the same inputs (no extra runs counted). */
function checkHeader(bytes: Uint8Array): void {
  try {
    const header = decodeDataHeader(bytes);
    encodeDataHeader(header);
  } catch (err) {
    if (!(err instanceof ProtocolError) || !CODES.has(err.code)) throw err;
  }
}

const frameArb = fc.nat({ max: frames.length - 1 }).map((i) => frames[i]!);

const leafValue = fc.oneof(
  fc.constantFrom(
    0,
    -1,
    1,
    8,
    9,
    100,
    101,
    128,
    2 ** 31,
    2 ** 32,
    2 ** 50,
    2 ** 50 + 1,
    2 ** 53,
    -(2 ** 53),
    0.5,
    NaN,
  ),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    '',
    'disk',
    'stream',
    'defer',
    'sync',
    'x'.repeat(129),
    'a/../b',
    'E'.repeat(64),
    'medium',
    'A',
  ),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 8 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

type Path = (string | number)[];

function nodePaths(value: unknown, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) nodePaths(v, [...path, i], out);
  } else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const [k, v] of Object.entries(value)) nodePaths(v, [...path, k], out);
  }
  return out;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return (
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

function at(root: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root);
}

type Mutation = { kind: 'replace' | 'delete'; value: unknown } | { kind: 'add'; key: string; value: unknown };

/** Applies one mutation to a deep copy of a sample. Returns the value and the path it touched. */
function mutate(type: MessageType, pick: number, mutation: Mutation) {
  const root = structuredClone(SAMPLES[type]) as unknown;
  const paths = nodePaths(root);
  if (mutation.kind === 'add') {
    const maps = paths.filter((p) => isMap(at(root, p)));
    const path = maps[pick % maps.length]!;
    (at(root, path) as Record<string, unknown>)[mutation.key] = mutation.value;
    return { root, path };
  }
  const inner = paths.slice(1);
  const path = inner[pick % inner.length]!;
  const parent = at(root, path.slice(0, -1)) as Record<string | number, unknown> | unknown[];
  const key = path[path.length - 1]!;
  if (mutation.kind === 'replace') (parent as Record<string | number, unknown>)[key] = mutation.value;
  else if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete (parent as Record<string | number, unknown>)[key];
  return { root, path };
}

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), value: leafValue }),
  fc.record({ kind: fc.constant('delete' as const), value: fc.constant(undefined) }),
  fc.record({
    kind: fc.constant('add' as const),
    key: fc.stringMatching(/^x_[a-z]{1,6}$/),
    value: leafValue,
  }),
);

const RUNS = {
  randomBytes: 20_000,
  truncated: 10_000,
  bitFlips: 25_000,
  randomValues: 15_000,
  mutations: 30_000,
};

describe('decode never throws anything but ProtocolError (100,000 frames)', () => {
  it('adds up to 100,000 runs', () => {
    expect(Object.values(RUNS).reduce((a, b) => a + b, 0)).toBe(100_000);
  });

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        checkFrame(bytes);
        checkHeader(bytes);
      }),
      { numRuns: RUNS.randomBytes },
    );
  });

  it('truncated valid frames', () => {
    fc.assert(
      fc.property(frameArb, fc.double({ min: 0, max: 1, noNaN: true }), (frame, cut) => {
        const n = Math.min(frame.length - 1, Math.floor(cut * frame.length));
        const err = checkFrame(frame.subarray(0, n));
        // A strict prefix of one msgpack value is never a complete value.
        if (err?.code !== 'NOT_MSGPACK') throw new Error(`truncated frame gave ${err?.code ?? 'a message'}`);
      }),
      { numRuns: RUNS.truncated },
    );
  });

  it('bit-flipped valid frames', () => {
    fc.assert(
      fc.property(
        frameArb,
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 4 }),
        (frame, flips) => {
          const bytes = frame.slice();
          for (const [pos, bit] of flips) bytes[pos % bytes.length]! ^= 1 << bit;
          checkFrame(bytes);
          checkHeader(bytes);
        },
      ),
      { numRuns: RUNS.bitFlips },
    );
  });

  it('random msgpack values, some shaped like messages', () => {
    const envelope = fc.record(
      {
        v: fc.oneof(fc.constant(1), fc.integer(), fc.string({ maxLength: 2 })),
        type: fc.oneof(fc.constantFrom(...MESSAGE_TYPES, 'data', 'end'), fc.string({ maxLength: 8 })),
        id: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
        backupId: fc.string({ maxLength: 6 }),
        seq: fc.integer(),
        offset: fc.integer(),
      },
      { requiredKeys: ['type'] },
    );
    const value = fc.oneof(
      fc.anything({ maxDepth: 3, withNullPrototype: true, withTypedArray: true }),
      envelope,
    );
    fc.assert(
      fc.property(value, (v) => {
        const bytes = packRaw(v);
        if (bytes === undefined) return;
        checkFrame(bytes);
        checkHeader(bytes);
      }),
      { numRuns: RUNS.randomValues },
    );
  });

  it('valid messages with one field replaced, deleted or added', () => {
    fc.assert(
      fc.property(fc.constantFrom(...MESSAGE_TYPES), fc.nat(), mutationArb, (type, pick, mutation) => {
        const { root, path } = mutate(type, pick, mutation);
        const bytes = packRaw(root);
        if (bytes === undefined) return;
        const err = checkFrame(bytes);
        if (mutation.kind === 'add') {
          // Maps are strict: an unknown key is always refused, and named.
          const field = [...path, mutation.key].join('.');
          if (err?.code !== 'INVALID_FIELD' || err.field !== field) {
            throw new Error(`added ${field}: got ${err?.code ?? 'a message'} ${err?.field ?? ''}`);
          }
        }
      }),
      { numRuns: RUNS.mutations },
    );
    // The runs exercised both outcomes and every refusal reachable from a map.
    expect(stats.ok).toBeGreaterThan(0);
    for (const code of ['NOT_MSGPACK', 'NOT_A_MESSAGE', 'BAD_VERSION', 'UNKNOWN_TYPE', 'INVALID_FIELD']) {
      expect(stats.refused.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  });
});
