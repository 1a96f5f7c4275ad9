/**
 * Piscina worker: reads one `disk` image from its file and frames it (CRC32C per block, SHA-256 of
 * the image) off the main thread. Blocks go back over the task's MessagePort as transferred buffers;
 * the worker holds at most `readAhead` chunks the main thread has not consumed (credit based), so
 * the drive's pace bounds the memory.
 *
 * Protocol on the port: worker → main `{ type: 'blocks', blocks, payloadBytes }` then exactly one
 * `{ type: 'end', status, trailer, bytes, blocks, sha256, error? }`; main → worker `{ type: 'credit' }`
 * (one chunk slot freed) and `{ type: 'abort' }`.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { DATA_HEADER_LENGTH, ImageFramer, type TrailerStatus } from '@tapedup/tape-format';

export interface DiskReadTask {
  path: string;
  sizeBytes: number;
  tag: number;
  blockPayloadSize: number;
  /** Bytes per chunk (a multiple of the payload size). */
  chunkBytes: number;
  /** Chunks the worker may send ahead of the main thread. */
  readAhead: number;
  port: MessagePort;
}

export type WorkerToMain =
  | { type: 'blocks'; blocks: Uint8Array[]; payloadBytes: number }
  | {
      type: 'end';
      status: TrailerStatus;
      trailer: Uint8Array;
      bytes: number;
      blocks: number;
      sha256: string;
      error?: { code: 'READ_FAILED' | 'SHORT_READ'; message: string } | undefined;
    };

export type MainToWorker = { type: 'credit' } | { type: 'abort' };

export default async function readImage(task: DiskReadTask): Promise<{ bytes: number }> {
  const { port } = task;
  let credits = task.readAhead;
  let aborted = false;
  let wake: (() => void) | undefined;
  port.on('message', (m: MainToWorker) => {
    if (m.type === 'credit') credits++;
    else aborted = true;
    wake?.();
  });
  const framer = new ImageFramer({ tag: task.tag, blockPayloadSize: task.blockPayloadSize });
  const send = (blocks: Uint8Array[]) => {
    if (blocks.length === 0) return;
    const payloadBytes = blocks.reduce((n, b) => n + b.length - DATA_HEADER_LENGTH, 0);
    port.postMessage(
      { type: 'blocks', blocks, payloadBytes } satisfies WorkerToMain,
      blocks.map((b) => b.buffer as ArrayBuffer),
    );
  };
  let offset = 0;
  let error: { code: 'READ_FAILED' | 'SHORT_READ'; message: string } | undefined;
  let fd: number | undefined;
  try {
    fd = openSync(task.path, 'r');
    const buffer = Buffer.allocUnsafeSlow(task.chunkBytes);
    while (offset < task.sizeBytes && !aborted) {
      // The worker yields to its event loop (where credits and aborts arrive) only when it must wait.
      while (credits === 0 && !aborted) await new Promise<void>((resolve) => (wake = resolve));
      if (aborted) break;
      const want = Math.min(task.chunkBytes, task.sizeBytes - offset);
      // A blocking read: this thread exists to read, and a read on the libuv pool would add a
      // round trip through a pool the main thread's cartridge writes also use.
      const bytesRead = readSync(fd, buffer, 0, want, offset);
      if (bytesRead === 0) {
        error = { code: 'SHORT_READ', message: `file ended at byte ${offset} of ${task.sizeBytes}` };
        break;
      }
      offset += bytesRead;
      credits--;
      send(framer.push(buffer.subarray(0, bytesRead)));
    }
  } catch (cause) {
    error = { code: 'READ_FAILED', message: cause instanceof Error ? cause.message : String(cause) };
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Closing a read-only descriptor cannot lose data; the read outcome is what matters.
      }
    }
  }
  const status: TrailerStatus = error !== undefined || aborted ? 'aborted' : 'complete';
  const { blocks, trailer, info } = framer.finish(status);
  send(blocks);
  const end: WorkerToMain = {
    type: 'end',
    status,
    trailer,
    bytes: info.totalBytes,
    blocks: info.blockCount,
    sha256: Buffer.from(info.sha256).toString('hex'),
    error,
  };
  port.postMessage(end, [trailer.buffer as ArrayBuffer]);
  port.close();
  return { bytes: offset };
}
