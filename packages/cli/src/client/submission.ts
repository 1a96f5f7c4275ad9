/**
 * Submitting a request and following it to the end, as an upstream scheduler does: send `submit`,
 * take the `accepted` reply's request id, fold the events of that request into a ProgressTracker
 * until `request-done`. Events that arrive before the reply are kept and applied once the id is known.
 */
import type { DuplicatorEvent, MessageOf, RequestOutcome } from '@tapedup/protocol';
import { CliError } from '../errors';
import { ProgressTracker } from './progress';
import { refusalError, type SchedulerClient } from './scheduler-client';

export type SubmitMessage = MessageOf<'submit'>;

export interface FollowOptions {
  /** Called whenever the progress changed. */
  onProgress?: ((tracker: ProgressTracker) => void) | undefined;
  /**
   * Interval of a `status` request that also ends the wait when the request reached a final state,
   * in case `request-done` was published before the subscription took effect. Default 5000 ms.
   */
  statusPollMs?: number | undefined;
}

export interface FollowResult {
  requestId: string;
  outcome: RequestOutcome;
  tracker: ProgressTracker;
  /** From `request-done` when it arrived, else from the final status. */
  committed: number;
  failed: number;
  cancelled: number;
  bytesCommitted: number;
}

/** Sends `submit`; resolves with the request id or throws the refusal as a CliError (code, field). */
export async function submitRequest(client: SchedulerClient, message: SubmitMessage): Promise<string> {
  const reply = await client.request(message);
  const refusal = refusalError(reply);
  if (refusal !== undefined) throw refusal;
  if (reply.type !== 'accepted') throw new CliError('REFUSED', `unexpected ${reply.type} reply to submit`);
  return reply.requestId;
}

/** Submits and follows the request to its end. The client must have been created with `events`. */
export async function submitAndFollow(
  client: SchedulerClient,
  message: SubmitMessage,
  options: FollowOptions = {},
): Promise<FollowResult> {
  const early: DuplicatorEvent[] = [];
  let tracker: ProgressTracker | undefined;
  let finish: (() => void) | undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const stop = client.onEvent((event) => {
    if (tracker === undefined) {
      early.push(event);
      return;
    }
    if (tracker.apply(event)) {
      options.onProgress?.(tracker);
      if (tracker.done !== undefined) finish?.();
    }
  });
  let poll: NodeJS.Timeout | undefined;
  let finalStatus:
    | {
        committed: number;
        failed: number;
        cancelled: number;
        bytesCommitted: number;
        outcome: RequestOutcome;
      }
    | undefined;
  try {
    const requestId = await submitRequest(client, message);
    const bytesTotal = message.images.reduce((sum, image) => sum + image.sizeBytes, 0);
    const t = new ProgressTracker(requestId, message.images.length * message.copies, bytesTotal);
    tracker = t;
    for (const event of early.splice(0)) t.apply(event);
    options.onProgress?.(t);
    if (t.done === undefined) {
      const pollMs = options.statusPollMs ?? 5000;
      let polling = false;
      poll = setInterval(() => {
        if (polling) return;
        polling = true;
        client
          .request({ v: 1, type: 'status', id: client.nextId(), requestId })
          .then((reply) => {
            if (reply.type !== 'status-reply') return;
            const status = reply.requests.find((r) => r.requestId === requestId);
            if (status === undefined || status.state === 'queued' || status.state === 'running') return;
            finalStatus = {
              outcome: status.state,
              committed: status.copies.committed,
              failed: status.copies.failed,
              cancelled: status.copies.cancelled,
              bytesCommitted: status.bytesCommitted,
            };
            finish?.();
          })
          .catch(() => undefined)
          .finally(() => {
            polling = false;
          });
      }, pollMs);
      await finished;
    }
    const done = t.done;
    const source = done ?? finalStatus!;
    return {
      requestId,
      outcome: source.outcome,
      tracker: t,
      committed: source.committed,
      failed: source.failed,
      cancelled: source.cancelled,
      bytesCommitted: source.bytesCommitted,
    };
  } finally {
    if (poll !== undefined) clearInterval(poll);
    stop();
  }
}
