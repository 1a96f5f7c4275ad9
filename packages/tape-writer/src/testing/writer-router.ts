/**
 * Test helper: the duplicator's side of the writer protocol, a ROUTER bound on an endpoint that
 * decodes everything writers send and lets a test await the next message of a type. Tests only.
 */
import { decode, encode, type Message, type MessageOf, type WriterToDuplicator } from '@tapedup/protocol';
import * as zmq from 'zeromq';

interface Waiter {
  match: (m: WriterToDuplicator) => boolean;
  resolve: (m: WriterToDuplicator) => void;
}

export class WriterRouter {
  /** Every message received, in arrival order. */
  readonly inbox: WriterToDuplicator[] = [];
  readonly #socket: zmq.Router;
  readonly #waiters: Waiter[] = [];
  /** Messages before this index were consumed by {@link next} (ordered consumption). */
  #seen = 0;

  private constructor(socket: zmq.Router) {
    this.#socket = socket;
  }

  static async bind(endpoint: string): Promise<WriterRouter> {
    const socket = new zmq.Router({ linger: 0 });
    await socket.bind(endpoint);
    const router = new WriterRouter(socket);
    void router.#receive().catch(() => undefined);
    return router;
  }

  async #receive(): Promise<void> {
    for await (const [, frame] of this.#socket) {
      const message = decode(frame!) as WriterToDuplicator;
      this.inbox.push(message);
      const i = this.#waiters.findIndex((w) => w.match(message));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(message);
    }
  }

  /** The next message of `type` (matching `match`) after the last one returned. */
  next<T extends WriterToDuplicator['type']>(
    type: T,
    match: (m: MessageOf<T>) => boolean = () => true,
  ): Promise<MessageOf<T>> {
    const test = (m: WriterToDuplicator): boolean => m.type === type && match(m as MessageOf<T>);
    const found = this.inbox.slice(this.#seen).findIndex(test);
    if (found >= 0) {
      const m = this.inbox[this.#seen + found]!;
      this.#seen += found + 1;
      return Promise.resolve(m as MessageOf<T>);
    }
    return new Promise((resolve) =>
      this.#waiters.push({
        match: test,
        resolve: (m) => {
          this.#seen = this.inbox.indexOf(m) + 1;
          resolve(m as MessageOf<T>);
        },
      }),
    );
  }

  /** Any message of `type` matching `match`, received before or after the call (unordered). */
  find<T extends WriterToDuplicator['type']>(
    type: T,
    match: (m: MessageOf<T>) => boolean = () => true,
  ): Promise<MessageOf<T>> {
    const test = (m: WriterToDuplicator): boolean => m.type === type && match(m as MessageOf<T>);
    const found = this.inbox.find(test);
    if (found !== undefined) return Promise.resolve(found as MessageOf<T>);
    return new Promise((resolve) =>
      this.#waiters.push({ match: test, resolve: (m) => resolve(m as MessageOf<T>) }),
    );
  }

  send(driveId: string, message: Message): Promise<void> {
    return this.#socket.send([driveId, encode(message)]);
  }

  /** Sends raw bytes as the message frame (malformed input). */
  sendRaw(driveId: string, frame: Uint8Array): Promise<void> {
    return this.#socket.send([driveId, frame]);
  }

  close(): void {
    this.#socket.close();
  }
}
