/**
 * The MessagePack layer: plain maps, arrays, strings, numbers, booleans and bin only, so that
 * any MessagePack library can read and write the frames. No records, no extensions.
 */
import { Packr } from 'msgpackr';

const packr = new Packr({
  // Records and bundled strings are msgpackr-only extensions; a foreign client could not read them.
  useRecords: false,
  bundleStrings: false,
  moreTypes: false,
  // Smallest map header (fixmap / map16) instead of msgpackr's fixed map16: canonical and compact.
  variableMapSize: true,
  mapsAsObjects: true,
  // 64-bit integers come back as numbers up to 2^53, as bigint beyond (the schemas refuse both
  // 2^53 and bigints). msgpackr supports 'auto' but its typings do not list it.
  int64AsType: 'auto' as 'number',
});

const INT32_MIN = -(2 ** 31);
const UINT32_END = 2 ** 32;

/**
 * Prepares a validated value for packing. msgpackr writes integers outside the 32-bit range as
 * float64; as bigint they are written as int64, a real integer every library reads as one.
 */
function toWire(value: unknown): unknown {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && (value < INT32_MIN || value >= UINT32_END) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = toWire(item);
    return out;
  }
  return value;
}

/** Packs a value that already passed its schema. Returns a fresh Uint8Array (not a pooled Buffer). */
export function pack(value: unknown): Uint8Array {
  return new Uint8Array(packr.pack(toWire(value)));
}

/** Unpacks exactly one MessagePack value; throws (any error) on anything else, including trailing bytes. */
export function unpack(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/**
 * Copies a plain value without its `undefined` properties, so that an optional field set to
 * `undefined` in TypeScript is simply absent on the wire. Depth is bounded: messages are shallow,
 * and anything deeper is left alone for the schema to refuse.
 */
export function withoutUndefined(value: unknown, depth = 0): unknown {
  if (depth > 16 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((item) => withoutUndefined(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) out[key] = withoutUndefined(item, depth + 1);
  }
  return out;
}
