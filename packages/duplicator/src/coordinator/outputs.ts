/**
 * What the coordinator core asks its edge to do. The core never touches a socket: every handler
 * returns a list of these, and the server sends them in order.
 */
import type { DuplicatorEvent, DuplicatorReply, DuplicatorToWriter } from '@tapedup/protocol';

export type Output =
  /** A reply to the scheduler message being handled (the edge knows whom to answer). */
  | { readonly kind: 'reply'; readonly message: DuplicatorReply }
  /** An event for the PUB socket (topic = its type). */
  | { readonly kind: 'event'; readonly message: DuplicatorEvent }
  /** A message to one writer (routing id = drive id). */
  | { readonly kind: 'writer'; readonly driveId: string; readonly message: DuplicatorToWriter }
  /** A medium changed state in the catalog; the edge mirrors it into the media manager (library). */
  | {
      readonly kind: 'medium-state';
      readonly barcode: string;
      readonly state: 'full' | 'frozen';
      readonly reason: string;
    };

export type WriterOutput = Extract<Output, { kind: 'writer' }>;
export type EventOutput = Extract<Output, { kind: 'event' }>;
