/**
 * Test helper: the sending side of a `stream` image, a PUSH socket that sends an image as data
 * frames (docs/protocol.md, "Stream data frames") and counts the frames ZeroMQ accepted. Tests only.
 *
 * The socket stays open until {@link StreamSender.close}: closing a PUSH socket drops the frames
 * still queued in it, so a real sender keeps it until the writer has reported the copy.
 */
import { createHash } from 'node:crypto';
import { encodeDataFrame } from '@tapedup/protocol';
import * as zmq from 'zeromq';

export interface StreamSenderOptions {
  /** Bytes per data frame (default 10 000). */
  chunkBytes?: number;
  /** PUSH send high-water mark in messages (default 2). */
  sendHighWaterMark?: number;
  /** Stop sending after this many bytes and go silent (a stream cut mid-image). */
  cutAfter?: number;
}

export class StreamSender {
  /** Frames ZeroMQ has accepted so far (a `send` that resolved). */
  accepted = 0;
  /** Resolves once every frame (the `end` frame included, unless cut) was accepted. */
  readonly done: Promise<void>;
  readonly frames: number;
  readonly #socket: zmq.Push;

  constructor(
    endpoint: string,
    image: { backupId: string; copy: number },
    bytes: Uint8Array,
    options: StreamSenderOptions = {},
  ) {
    const chunk = options.chunkBytes ?? 10_000;
    const limit = options.cutAfter ?? bytes.length;
    this.frames = Math.ceil(limit / chunk) + (options.cutAfter === undefined ? 1 : 0);
    const socket = new zmq.Push({ linger: 0, sendHighWaterMark: options.sendHighWaterMark ?? 2 });
    socket.connect(endpoint);
    this.#socket = socket;
    this.done = (async () => {
      const head = { v: 1 as const, backupId: image.backupId, copy: image.copy };
      let seq = 0;
      let offset = 0;
      while (offset < limit) {
        const n = Math.min(chunk, limit - offset);
        const payload = bytes.subarray(offset, offset + n);
        await socket.send(encodeDataFrame({ ...head, type: 'data', seq: seq++, offset }, payload));
        this.accepted++;
        offset += n;
      }
      if (options.cutAfter === undefined) {
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        await socket.send(encodeDataFrame({ ...head, type: 'end', seq, offset, sha256 }));
        this.accepted++;
      }
    })();
  }

  close(): void {
    this.#socket.close();
  }
}
