/**
 * The one error type the codec throws. Callers branch on `code` (and `field`),
 * never on the message text.
 */

/**
 * Why a frame or a message was refused.
 * - `NOT_MSGPACK`: the bytes are not exactly one well-formed MessagePack value.
 * - `NOT_A_MESSAGE`: well-formed MessagePack, but not a map with a string `type` and a `v` key
 *   (or, for data frames, the wrong number of ZeroMQ frames).
 * - `BAD_VERSION`: `v` is not a protocol version this codec speaks.
 * - `UNKNOWN_TYPE`: `type` names no message (or one not accepted where it arrived).
 * - `INVALID_FIELD`: a field is missing, of the wrong type, out of range, or not allowed; `field` names it.
 * - `FRAME_TOO_LARGE`: the frame is longer than the configured maximum; nothing was parsed.
 */
export type ProtocolErrorCode =
  | 'NOT_MSGPACK'
  | 'NOT_A_MESSAGE'
  | 'BAD_VERSION'
  | 'UNKNOWN_TYPE'
  | 'INVALID_FIELD'
  | 'FRAME_TOO_LARGE';

/** Every code a {@link ProtocolError} can carry. */
export const PROTOCOL_ERROR_CODES: readonly ProtocolErrorCode[] = [
  'NOT_MSGPACK',
  'NOT_A_MESSAGE',
  'BAD_VERSION',
  'UNKNOWN_TYPE',
  'INVALID_FIELD',
  'FRAME_TOO_LARGE',
];

export interface ProtocolErrorDetails {
  /** Dotted path of the offending field, e.g. `images.3.sizeBytes` (array indexes are numbers). */
  field?: string | undefined;
  /**
   * The `id` of the refused message when it could still be read (a valid id string), so that a
   * socket can answer with an `error` whose `re` correlates with the request.
   */
  messageId?: string | undefined;
  /** The `type` of the refused message when it was a string. */
  messageType?: string | undefined;
  cause?: unknown;
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  readonly field: string | undefined;
  readonly messageId: string | undefined;
  readonly messageType: string | undefined;

  constructor(code: ProtocolErrorCode, message: string, details: ProtocolErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.field = details.field;
    this.messageId = details.messageId;
    this.messageType = details.messageType;
  }
}

/** Type guard that also narrows on the code when one is given. */
export function isProtocolError(err: unknown, code?: ProtocolErrorCode): err is ProtocolError {
  return err instanceof ProtocolError && (code === undefined || err.code === code);
}
