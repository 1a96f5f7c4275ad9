/**
 * A scheduler's connection to the duplicator: a DEALER to its ROUTER for requests and replies, and a
 * SUB to its PUB for events. Frames are checked with the protocol codec both ways; a reply that does
 * not decode is reported, never trusted.
 */
import { randomUUID } from 'node:crypto';
import {
  DUPLICATOR_EVENT_TYPES,
  DUPLICATOR_REPLY_TYPES,
  type DuplicatorEvent,
  type DuplicatorReply,
  decode,
  encode,
  isProtocolError,
  type SchedulerRequest,
} from '@tapedup/protocol';
import * as zmq from 'zeromq';
import { CliError } from '../errors';

export interface ClientOptions {
  scheduler: string;
  /** The PUB endpoint; events are received only when given. */
  events?: string | undefined;
  /** How long a request waits for its reply (ms); default 30 s. */
  timeoutMs?: number | undefined;
}

type Pending = {
  resolve: (reply: DuplicatorReply) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
};

export class SchedulerClient {
  readonly #dealer = new zmq.Dealer({ linger: 0 });
  readonly #sub: zmq.Subscriber | undefined;
  readonly #pending = new Map<string, Pending>();
  readonly #listeners = new Set<(event: DuplicatorEvent) => void>();
  readonly #timeoutMs: number;
  readonly #connected: Promise<void>;
  #closed = false;
  #seq = 0;
  readonly #prefix = randomUUID().slice(0, 8);

  constructor(readonly options: ClientOptions) {
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    const handshakes: Promise<void>[] = [handshake(this.#dealer)];
    this.#dealer.connect(options.scheduler);
    if (options.events !== undefined) {
      const sub = new zmq.Subscriber({ linger: 0 });
      handshakes.push(handshake(sub));
      sub.subscribe();
      sub.connect(options.events);
      this.#sub = sub;
      void this.#eventLoop(sub);
    }
    this.#connected = Promise.all(handshakes).then(() => undefined);
    void this.#replyLoop();
  }

  /**
   * Resolves once both sockets completed their ZMTP handshake with the duplicator, so a request sent
   * now reaches it and the event subscription is in place before the request's events are published.
   */
  async ready(timeoutMs = this.#timeoutMs): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CliError(
              'TIMEOUT',
              `no duplicator answered on ${this.options.scheduler} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.#connected, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A fresh message id for this client. */
  nextId(): string {
    this.#seq += 1;
    return `cli-${this.#prefix}-${this.#seq}`;
  }

  /** Sends a request and resolves with the reply whose `re` is its id. */
  async request(message: SchedulerRequest): Promise<DuplicatorReply> {
    const frame = encode(message);
    const reply = new Promise<DuplicatorReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(message.id);
        reject(new CliError('TIMEOUT', `no reply to ${message.type} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(message.id, { resolve, reject, timer });
    });
    await this.#dealer.send(frame);
    return reply;
  }

  /** Calls `listener` with every event received; returns a function that stops it. */
  onEvent(listener: (event: DuplicatorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new CliError('TIMEOUT', 'connection closed before the reply arrived'));
    }
    this.#pending.clear();
    this.#dealer.close();
    this.#sub?.close();
  }

  async #replyLoop(): Promise<void> {
    try {
      for await (const frames of this.#dealer) {
        const frame = frames.at(-1);
        if (frame === undefined) continue;
        let reply: DuplicatorReply;
        try {
          reply = decode(frame, { accept: DUPLICATOR_REPLY_TYPES });
        } catch (error) {
          if (!isProtocolError(error)) throw error;
          process.emitWarning(
            `ignored a malformed reply from the duplicator: ${error.code} ${error.message}`,
          );
          continue;
        }
        const re = 're' in reply ? reply.re : undefined;
        const pending = re === undefined ? undefined : this.#pending.get(re);
        if (pending === undefined || re === undefined) continue;
        this.#pending.delete(re);
        clearTimeout(pending.timer);
        pending.resolve(reply);
      }
    } catch (error) {
      if (!this.#closed) throw error;
    }
  }

  async #eventLoop(sub: zmq.Subscriber): Promise<void> {
    try {
      for await (const frames of sub) {
        const frame = frames.at(-1);
        if (frame === undefined) continue;
        let event: DuplicatorEvent;
        try {
          event = decode(frame, { accept: DUPLICATOR_EVENT_TYPES });
        } catch (error) {
          if (!isProtocolError(error)) throw error;
          continue;
        }
        for (const listener of this.#listeners) listener(event);
      }
    } catch (error) {
      if (!this.#closed) throw error;
    }
  }
}

function handshake(socket: zmq.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.events.off('handshake', done);
      resolve();
    };
    socket.events.on('handshake', done);
  });
}

/** Turns a refusal (`rejected` or `error`) into a CliError with the duplicator's code and field. */
export function refusalError(reply: DuplicatorReply): CliError | undefined {
  if (reply.type !== 'rejected' && reply.type !== 'error') return undefined;
  const field = reply.field === undefined ? '' : ` (field ${reply.field})`;
  return new CliError(
    'REFUSED',
    `duplicator ${reply.type === 'rejected' ? 'rejected' : 'refused'} the request: ${reply.code}${field}: ${reply.message}`,
    {
      field: reply.field,
      remoteCode: reply.code,
    },
  );
}
