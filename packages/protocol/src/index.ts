/**
 * @tapedup/protocol — the message catalogue and its sans-I/O codec.
 *
 * - `encode(message)` validates and packs a control message (one msgpack map per ZeroMQ frame).
 * - `decode(bytes, { maxFrameBytes, accept })` returns a valid, typed message or throws a
 *   `ProtocolError` whose `code` is one of `PROTOCOL_ERROR_CODES` (never anything else).
 * - `errorReplyFor(err, re?)` turns a refusal into the typed `error` reply.
 * - `encodeDataFrame` / `decodeDataFrame` (and the header-only pair) for stream data (PUSH → PULL).
 *
 * The wire format is specified in docs/protocol.md.
 */
export {
  DUPLICATOR_EVENT_TYPES,
  DUPLICATOR_REPLY_TYPES,
  DUPLICATOR_TO_WRITER_TYPES,
  type DuplicatorEvent,
  type DuplicatorReply,
  type DuplicatorToWriter,
  isMessageType,
  MESSAGE_TYPES,
  type Message,
  type MessageOf,
  type MessageType,
  messageSchema,
  messageSchemas,
  SCHEDULER_REQUEST_TYPES,
  type SchedulerRequest,
  WRITER_TO_DUPLICATOR_TYPES,
  type WriterToDuplicator,
} from './catalogue';
export {
  type CodecOptions,
  DEFAULT_MAX_FRAME_BYTES,
  type DecodeOptions,
  decode,
  encode,
  errorReplyFor,
  makeMessage,
  type ParseOptions,
  parseMessage,
} from './codec';
export {
  type DataFrame,
  type DataFrameOptions,
  type DataHeader,
  type DataHeaderOptions,
  type DataHeaderType,
  DEFAULT_MAX_CHUNK_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  dataHeaderSchema,
  decodeDataFrame,
  decodeDataHeader,
  encodeDataFrame,
  encodeDataHeader,
} from './data-frame';
export { isProtocolError, PROTOCOL_ERROR_CODES, ProtocolError, type ProtocolErrorCode } from './errors';
export {
  type Capabilities,
  type CopyStateCounts,
  type DriveSpec,
  type ImageSource,
  MAX_BYTES,
  MAX_COPIES,
  type MediumPosition,
  type PolicyOverrides,
  PROTOCOL_VERSION,
  type Sense,
  type SyncPolicyName,
  type TapeLocation,
} from './fields';
export type {
  ImageSpec,
  RequestOutcome,
  RequestState,
  RequestStatus,
  StreamEndpoint,
} from './scheduler-messages';
export {
  type AssignItem,
  type CommittedCopy,
  type CopyFragment,
  MAX_FRAGMENTS_PER_COPY,
  type WriterState,
  type WriterStats,
} from './writer-messages';
