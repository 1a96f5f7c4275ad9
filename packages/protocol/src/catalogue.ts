/**
 * The message catalogue: every control message by `type`, the discriminated union over them,
 * and the groups a socket accepts in each direction.
 */
import { z } from 'zod';
import {
  accepted,
  cancel,
  cancelled,
  errorReply,
  imageCommitted,
  imageFailed,
  imageRetrying,
  imageWritten,
  rejected,
  requestDone,
  status,
  statusReply,
  submit,
} from './scheduler-messages';
import {
  assign,
  batchSynced,
  copyFailed,
  copyWritten,
  driveError,
  heartbeat,
  hello,
  mediumFull,
  mount,
  mounted,
  shutdown,
  shutdownAck,
  syncFailed,
  syncNow,
} from './writer-messages';

/** Schema of each message, keyed by its `type`. */
export const messageSchemas = {
  submit,
  accepted,
  rejected,
  cancel,
  cancelled,
  status,
  'status-reply': statusReply,
  'image-written': imageWritten,
  'image-committed': imageCommitted,
  'image-failed': imageFailed,
  'image-retrying': imageRetrying,
  'request-done': requestDone,
  error: errorReply,
  hello,
  heartbeat,
  assign,
  'sync-now': syncNow,
  'copy-written': copyWritten,
  'batch-synced': batchSynced,
  'sync-failed': syncFailed,
  'copy-failed': copyFailed,
  'medium-full': mediumFull,
  mount,
  mounted,
  'drive-error': driveError,
  shutdown,
  'shutdown-ack': shutdownAck,
} as const;

export type MessageType = keyof typeof messageSchemas;

/** Every message type, in catalogue order. */
export const MESSAGE_TYPES = Object.keys(messageSchemas) as MessageType[];

/** The discriminated union of every message: one schema for the type and the runtime check. */
export const messageSchema = z.discriminatedUnion('type', [
  submit,
  accepted,
  rejected,
  cancel,
  cancelled,
  status,
  statusReply,
  imageWritten,
  imageCommitted,
  imageFailed,
  imageRetrying,
  requestDone,
  errorReply,
  hello,
  heartbeat,
  assign,
  syncNow,
  copyWritten,
  batchSynced,
  syncFailed,
  copyFailed,
  mediumFull,
  mount,
  mounted,
  driveError,
  shutdown,
  shutdownAck,
]);

export type Message = z.infer<typeof messageSchema>;

/** The message whose `type` is `T`, e.g. `MessageOf<'submit'>`. */
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** Scheduler → duplicator (DEALER → ROUTER). */
export const SCHEDULER_REQUEST_TYPES = [
  'submit',
  'cancel',
  'status',
] as const satisfies readonly MessageType[];
/** Duplicator → scheduler replies (ROUTER → DEALER). */
export const DUPLICATOR_REPLY_TYPES = [
  'accepted',
  'rejected',
  'cancelled',
  'status-reply',
  'error',
] as const satisfies readonly MessageType[];
/** Duplicator events (PUB → SUB). */
export const DUPLICATOR_EVENT_TYPES = [
  'image-written',
  'image-committed',
  'image-failed',
  'image-retrying',
  'request-done',
] as const satisfies readonly MessageType[];
/** Tape writer → duplicator (DEALER → ROUTER). */
export const WRITER_TO_DUPLICATOR_TYPES = [
  'hello',
  'heartbeat',
  'copy-written',
  'batch-synced',
  'sync-failed',
  'copy-failed',
  'medium-full',
  'mounted',
  'drive-error',
  'shutdown-ack',
  'error',
] as const satisfies readonly MessageType[];
/** Duplicator → tape writer (ROUTER → DEALER). */
export const DUPLICATOR_TO_WRITER_TYPES = [
  'assign',
  'sync-now',
  'mount',
  'shutdown',
  'error',
] as const satisfies readonly MessageType[];

export type SchedulerRequest = MessageOf<(typeof SCHEDULER_REQUEST_TYPES)[number]>;
export type DuplicatorReply = MessageOf<(typeof DUPLICATOR_REPLY_TYPES)[number]>;
export type DuplicatorEvent = MessageOf<(typeof DUPLICATOR_EVENT_TYPES)[number]>;
export type WriterToDuplicator = MessageOf<(typeof WRITER_TO_DUPLICATOR_TYPES)[number]>;
export type DuplicatorToWriter = MessageOf<(typeof DUPLICATOR_TO_WRITER_TYPES)[number]>;

/** Whether `type` names a message in the catalogue. */
export function isMessageType(type: string): type is MessageType {
  return Object.hasOwn(messageSchemas, type);
}
