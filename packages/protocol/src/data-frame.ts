/**
 * Stream data frames (PUSH → PULL, bulk). A data frame is a ZeroMQ multipart message: a small
 * msgpack header map, then — for `data` only — the raw bytes as a second frame, so payloads are
 * never copied into (or parsed out of) msgpack.
 */
import { z } from 'zod';
import { ProtocolError } from './errors';
import { byteCount, copyNumber, PROTOCOL_VERSION, safeId, sha256Hex, uint } from './fields';
import { describeVersion, invalidField, isPlainObject } from './validation';
import { pack, unpack, withoutUndefined } from './wire';

/** Default largest header frame. Headers are tens of bytes; anything near this is hostile. */
export const DEFAULT_MAX_HEADER_BYTES = 1024;
/** Default largest payload frame: 4 MiB. */
export const DEFAULT_MAX_CHUNK_BYTES = 4 * 1024 * 1024;

const version = z.literal(PROTOCOL_VERSION);
const headerFields = {
  backupId: safeId,
  /** Which copy the frame feeds; absent when the endpoint serves a single copy of the image. */
  copy: copyNumber.exactOptional(),
  /** 0 for the first frame of a stream, +1 per frame (data, end or abort). */
  seq: uint,
  /** Byte offset in the image of this frame's payload; for `end` and `abort` the bytes sent before it. */
  offset: byteCount,
};

/** A chunk of image bytes; the payload is the second ZeroMQ frame (1 byte or more). */
const chunkHeader = z.strictObject({ v: version, type: z.literal('data'), ...headerFields });
/** The image is complete: `offset` is its size; `sha256`, when sent, is checked by the writer. */
const endHeader = z.strictObject({
  v: version,
  type: z.literal('end'),
  ...headerFields,
  sha256: sha256Hex.exactOptional(),
});
/** The sender gives up on the image; the writer fails the copy. */
const abortHeader = z.strictObject({
  v: version,
  type: z.literal('abort'),
  ...headerFields,
  reason: z.string().max(256),
});

/** Data header schemas keyed by `type`. */
export const dataHeaderSchemas = { data: chunkHeader, end: endHeader, abort: abortHeader } as const;
/** The discriminated union of data headers. */
export const dataHeaderSchema = z.discriminatedUnion('type', [chunkHeader, endHeader, abortHeader]);
export type DataHeader = z.infer<typeof dataHeaderSchema>;
export type DataHeaderType = DataHeader['type'];

export interface DataHeaderOptions {
  /** Largest header frame accepted or produced, in bytes. Default 1024. */
  maxFrameBytes?: number;
}

export interface DataFrameOptions {
  /** Largest header frame, in bytes. Default 1024. */
  maxHeaderBytes?: number;
  /** Largest payload frame, in bytes. Default 4 MiB. */
  maxChunkBytes?: number;
}

function positiveOption(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`${name} must be a positive integer, got ${String(n)}`);
  return n;
}

function parseDataHeader(value: unknown): DataHeader {
  if (!isPlainObject(value) || typeof value.type !== 'string' || !Object.hasOwn(value, 'v')) {
    throw new ProtocolError('NOT_A_MESSAGE', 'a data header is a msgpack map with "v" and a string "type"');
  }
  const type = value.type;
  if (value.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      'BAD_VERSION',
      `protocol version ${describeVersion(value.v)} is not ${PROTOCOL_VERSION}`,
      {
        field: 'v',
        messageType: type,
      },
    );
  }
  if (!Object.hasOwn(dataHeaderSchemas, type)) {
    throw new ProtocolError('UNKNOWN_TYPE', `unknown data header type ${JSON.stringify(type.slice(0, 64))}`, {
      field: 'type',
      messageType: type,
    });
  }
  const result = dataHeaderSchemas[type as DataHeaderType].safeParse(value);
  if (!result.success) throw invalidField(result.error, { messageType: type });
  return result.data;
}

/** Validates and encodes a data header frame. Throws `ProtocolError` like `encode`. */
export function encodeDataHeader(header: DataHeader, options: DataHeaderOptions = {}): Uint8Array {
  const max = positiveOption('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_HEADER_BYTES);
  const bytes = pack(parseDataHeader(withoutUndefined(header)));
  if (bytes.length > max) {
    throw new ProtocolError('FRAME_TOO_LARGE', `data header of ${bytes.length} bytes exceeds ${max}`);
  }
  return bytes;
}

/** Decodes a data header frame; returns a valid header or throws `ProtocolError`, never anything else. */
export function decodeDataHeader(bytes: Uint8Array, options: DataHeaderOptions = {}): DataHeader {
  const max = positiveOption('maxFrameBytes', options.maxFrameBytes, DEFAULT_MAX_HEADER_BYTES);
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('NOT_MSGPACK', 'a frame is a byte array');
  if (bytes.length > max) {
    throw new ProtocolError('FRAME_TOO_LARGE', `data header of ${bytes.length} bytes exceeds ${max}`);
  }
  let value: unknown;
  try {
    value = unpack(bytes);
  } catch (cause) {
    throw new ProtocolError('NOT_MSGPACK', 'frame is not exactly one msgpack value', { cause });
  }
  return parseDataHeader(value);
}

/** A decoded multipart data message: the header and, for `data`, the payload (aliasing the frame). */
export type DataFrame =
  | { header: Extract<DataHeader, { type: 'data' }>; payload: Uint8Array }
  | { header: Extract<DataHeader, { type: 'end' | 'abort' }>; payload?: undefined };

/** Encodes a multipart data message: `[header, payload]` for `data`, `[header]` otherwise. */
export function encodeDataFrame(header: DataHeader, payload?: Uint8Array, options: DataFrameOptions = {}) {
  const maxChunk = positiveOption('maxChunkBytes', options.maxChunkBytes, DEFAULT_MAX_CHUNK_BYTES);
  const head = encodeDataHeader(header, {
    maxFrameBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
  });
  if (header.type !== 'data') {
    if (payload !== undefined) {
      throw new ProtocolError('NOT_A_MESSAGE', `a ${header.type} frame carries no payload`);
    }
    return [head];
  }
  checkPayload(payload, maxChunk);
  return [head, payload];
}

function checkPayload(payload: Uint8Array | undefined, maxChunk: number): asserts payload is Uint8Array {
  if (!(payload instanceof Uint8Array) || payload.length === 0) {
    throw new ProtocolError('NOT_A_MESSAGE', 'a data frame carries a non-empty payload frame');
  }
  if (payload.length > maxChunk) {
    throw new ProtocolError('FRAME_TOO_LARGE', `payload of ${payload.length} bytes exceeds ${maxChunk}`);
  }
}

/**
 * Decodes a multipart data message (the frames as received). `data` must have exactly two frames
 * with a non-empty payload; `end` and `abort` exactly one. Throws `ProtocolError` otherwise.
 */
export function decodeDataFrame(frames: readonly Uint8Array[], options: DataFrameOptions = {}): DataFrame {
  const maxChunk = positiveOption('maxChunkBytes', options.maxChunkBytes, DEFAULT_MAX_CHUNK_BYTES);
  const [first, payload] = frames;
  if (first === undefined || frames.length > 2) {
    throw new ProtocolError('NOT_A_MESSAGE', `a data message has 1 or 2 frames, got ${frames.length}`);
  }
  const header = decodeDataHeader(first, {
    maxFrameBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
  });
  if (header.type !== 'data') {
    if (frames.length !== 1)
      throw new ProtocolError('NOT_A_MESSAGE', `a ${header.type} message has one frame`);
    return { header };
  }
  checkPayload(payload, maxChunk);
  return { header, payload };
}
