/**
 * Sans-I/O codec for control messages: bytes in, typed message out, and back. No sockets here;
 * the processes call these at their socket boundaries.
 */
import { randomUUID } from 'node:crypto';
import { isMessageType, type Message, type MessageOf, type MessageType, messageSchemas } from './catalogue';
import { ProtocolError } from './errors';
import { MAX_TEXT, PROTOCOL_VERSION } from './fields';
import { describeVersion, invalidField, isPlainObject, readableId } from './validation';
import { pack, unpack, withoutUndefined } from './wire';

/** Default largest control frame: 1 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

export interface CodecOptions {
  /** Largest frame accepted (decode) or produced (encode), in bytes. Default 1 MiB. */
  maxFrameBytes?: number;
}

export interface ParseOptions<T extends MessageType = MessageType> {
  /**
   * Message types accepted where the frame arrived (e.g. `SCHEDULER_REQUEST_TYPES` on the
   * scheduler-facing ROUTER). Any other catalogued type is refused with `UNKNOWN_TYPE`.
   */
  accept?: readonly T[];
}

export type DecodeOptions<T extends MessageType = MessageType> = CodecOptions & ParseOptions<T>;

function maxFrameBytesOf(options: CodecOptions | undefined): number {
  const max = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`maxFrameBytes must be a positive integer, got ${String(max)}`);
  }
  return max;
}

/**
 * Checks a decoded value and returns it as a typed message, or throws a `ProtocolError`:
 * `NOT_A_MESSAGE` (not a map with a string `type` and a `v`), `BAD_VERSION`, `UNKNOWN_TYPE`,
 * `INVALID_FIELD`. The returned object is a fresh copy.
 */
export function parseMessage<T extends MessageType = MessageType>(
  value: unknown,
  options: ParseOptions<T> = {},
): MessageOf<T> {
  if (!isPlainObject(value)) {
    throw new ProtocolError('NOT_A_MESSAGE', 'a message is a msgpack map');
  }
  const messageId = readableId(value);
  const type = value.type;
  if (typeof type !== 'string') {
    throw new ProtocolError('NOT_A_MESSAGE', 'a message has a string "type"', { messageId });
  }
  if (!Object.hasOwn(value, 'v')) {
    throw new ProtocolError('NOT_A_MESSAGE', 'a message has a protocol version "v"', {
      messageId,
      messageType: type,
    });
  }
  if (value.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      'BAD_VERSION',
      `protocol version ${describeVersion(value.v)} is not ${PROTOCOL_VERSION}`,
      {
        field: 'v',
        messageId,
        messageType: type,
      },
    );
  }
  const accept: readonly string[] | undefined = options.accept;
  if (!isMessageType(type) || (accept !== undefined && !accept.includes(type))) {
    throw new ProtocolError('UNKNOWN_TYPE', `unknown message type ${JSON.stringify(type.slice(0, 64))}`, {
      field: 'type',
      messageId,
      messageType: type,
    });
  }
  const result = messageSchemas[type].safeParse(value);
  if (!result.success) throw invalidField(result.error, { messageId, messageType: type });
  return result.data as MessageOf<T>;
}

/**
 * Decodes one control frame. Returns a valid, fully typed message or throws a `ProtocolError`
 * (`FRAME_TOO_LARGE`, `NOT_MSGPACK`, then the codes of {@link parseMessage}); never anything else
 * for any input bytes. Throws `RangeError` only for a bad `maxFrameBytes` option.
 */
export function decode<T extends MessageType = MessageType>(
  bytes: Uint8Array,
  options: DecodeOptions<T> = {},
): MessageOf<T> {
  const max = maxFrameBytesOf(options);
  if (!(bytes instanceof Uint8Array)) {
    throw new ProtocolError('NOT_MSGPACK', 'a frame is a byte array');
  }
  if (bytes.length > max) {
    throw new ProtocolError('FRAME_TOO_LARGE', `frame of ${bytes.length} bytes exceeds ${max}`);
  }
  let value: unknown;
  try {
    value = unpack(bytes);
  } catch (cause) {
    throw new ProtocolError('NOT_MSGPACK', 'frame is not exactly one msgpack value', { cause });
  }
  return parseMessage(value, options);
}

/**
 * Validates and encodes a message. Optional fields set to `undefined` are omitted. Throws a
 * `ProtocolError` (`INVALID_FIELD` for a bad field) instead of sending a message the peer would
 * refuse, and `FRAME_TOO_LARGE` when the frame would exceed `maxFrameBytes`.
 */
export function encode(message: Message, options: CodecOptions = {}): Uint8Array {
  const max = maxFrameBytesOf(options);
  const valid = parseMessage(withoutUndefined(message));
  const bytes = pack(valid);
  if (bytes.length > max) {
    throw new ProtocolError(
      'FRAME_TOO_LARGE',
      `${valid.type} frame of ${bytes.length} bytes exceeds ${max}`,
      {
        messageId: valid.id,
        messageType: valid.type,
      },
    );
  }
  return bytes;
}

/** Builds a message of `type` with the protocol version filled in. */
export function makeMessage<T extends MessageType>(
  type: T,
  fields: Omit<MessageOf<T>, 'v' | 'type'>,
): MessageOf<T> {
  return { v: PROTOCOL_VERSION, type, ...fields } as unknown as MessageOf<T>;
}

/**
 * The typed `error` reply for a refused frame, so a socket can always answer. `re` defaults to
 * the id read from the refused frame (absent when it had none); `id` defaults to a random UUID.
 * The result always encodes.
 */
export function errorReplyFor(
  err: ProtocolError,
  re?: string,
  id: string = randomUUID(),
): MessageOf<'error'> {
  const answer = re ?? err.messageId;
  const reply: MessageOf<'error'> = {
    v: PROTOCOL_VERSION,
    type: 'error',
    id,
    code: err.code,
    message: err.message.slice(0, MAX_TEXT),
  };
  if (answer !== undefined && /^[\x21-\x7e]{1,128}$/.test(answer)) reply.re = answer;
  if (err.field) reply.field = err.field.slice(0, 256);
  return reply;
}
