/**
 * Builders of what the coordinator sends: message ids, replies to the scheduler, events and errors
 * to writers, and the clamps the wire schema needs (codes, priorities).
 */
import type { DuplicatorEvent } from '@tapedup/protocol';
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import type { Output } from './outputs';

/** Ids of the messages the coordinator originates: `d<prefix><n>`, one sequence for all prefixes. */
export class MessageIds {
  #seq = 0;

  next(prefix: string): string {
    this.#seq += 1;
    return `d${prefix}${this.#seq}`;
  }
}

export function eventOutput(message: DuplicatorEvent): Output {
  return { kind: 'event', message };
}

/** A `rejected` or `error` reply to a scheduler message; text and field are cut to what the protocol allows. */
function schedulerReply(
  type: 'rejected' | 'error',
  ids: MessageIds,
  re: string,
  code: string,
  message: string,
  field?: string,
): Output {
  return {
    kind: 'reply',
    message: {
      v: PROTOCOL_VERSION,
      type,
      id: ids.next('r'),
      re,
      code: toCode(code),
      message: message.slice(0, 1024),
      ...(field === undefined ? {} : { field: field.slice(0, 256) }),
    },
  };
}

/** A `rejected` reply to a scheduler request. */
export function rejectedReply(
  ids: MessageIds,
  re: string,
  code: string,
  message: string,
  field?: string,
): Output {
  return schedulerReply('rejected', ids, re, code, message, field);
}

/** An `error` reply to a scheduler message. */
export function errorReply(
  ids: MessageIds,
  re: string,
  code: string,
  message: string,
  field?: string,
): Output {
  return schedulerReply('error', ids, re, code, message, field);
}

/** An `error` sent to a writer about one of its messages. */
export function writerErrorOutput(
  ids: MessageIds,
  driveId: string,
  re: string,
  code: string,
  message: string,
): Output {
  return {
    kind: 'writer',
    driveId,
    message: { v: PROTOCOL_VERSION, type: 'error', id: ids.next('r'), re, code: toCode(code), message },
  };
}

export function clampPriority(p: number): number {
  return Math.max(0, Math.min(100, Math.round(p)));
}

/** A wire `Code` from any failure code. */
export function toCode(code: string): string {
  const c = code.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return /^[A-Z]/.test(c) ? c.slice(0, 64) : `E_${c}`.slice(0, 64);
}
