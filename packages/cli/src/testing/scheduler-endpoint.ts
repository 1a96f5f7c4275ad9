/**
 * For process tests: the scheduler-facing side of a duplicator, scripted by the test — a ROUTER for
 * requests and a PUB for events on the given endpoints, both speaking the protocol codec. It lets a
 * test drive the built command's socket handling without the coordinator behind it.
 */
import {
  decode,
  encode,
  type Message,
  SCHEDULER_REQUEST_TYPES,
  type SchedulerRequest,
} from '@tapedup/protocol';
import * as zmq from 'zeromq';

export class SchedulerEndpoint {
  readonly #router = new zmq.Router({ linger: 0 });
  readonly #pub = new zmq.Publisher({ linger: 0 });

  static async bind(scheduler: string, events: string): Promise<SchedulerEndpoint> {
    const endpoint = new SchedulerEndpoint();
    await endpoint.#router.bind(scheduler);
    await endpoint.#pub.bind(events);
    return endpoint;
  }

  /** The next request, decoded and checked, with the routing id of the client that sent it. */
  async receive(): Promise<{ from: Buffer; message: SchedulerRequest }> {
    const [from, frame] = await this.#router.receive();
    return { from: from!, message: decode(frame!, { accept: SCHEDULER_REQUEST_TYPES }) };
  }

  /** Sends a reply to the client `to`. */
  async reply(to: Buffer, message: Message): Promise<void> {
    await this.#router.send([to, encode(message)]);
  }

  /** Publishes an event. */
  async publish(message: Message): Promise<void> {
    await this.#pub.send(encode(message));
  }

  close(): void {
    this.#router.close();
    this.#pub.close();
  }
}
