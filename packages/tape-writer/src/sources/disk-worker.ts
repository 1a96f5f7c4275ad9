/**
 * Piscina worker: reads one `disk` image from its file and frames it (CRC32C per block, SHA-256 of
 * the image) off the main thread. The worker holds at most `readAhead` chunks the main thread has
 * not consumed (credit based), so the drive's pace bounds the memory.
 *
 * Chunks travel through a ring of `readAhead` slots in a SharedArrayBuffer the main thread gave
 * the task: the worker copies a chunk's framed blocks into the slot of its sequence number and
 * names the slot; a credit (the main thread asked for the next chunk, so the drive took every block
 * of the previous one) frees the oldest slot. A buffer transferred per block instead cost the main
 * thread a garbage collection every few megabytes (each arrives as new external memory there).
 * The image's last blocks, which come without a credit, are transferred.
 *
 * Protocol on the port: worker → main `{ type: 'ring', slot, lengths, payloadBytes }` or
 * `{ type: 'blocks', blocks, payloadBytes }`, then exactly one
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
  /** `readAhead` slots of `slotBytes` (one chunk of framed blocks each); none: blocks are transferred. */
  ring?: SharedArrayBuffer | undefined;
  slotBytes?: number | undefined;
  port: MessagePort;
}

export type WorkerToMain =
  | { type: 'blocks'; blocks: Uint8Array[]; payloadBytes: number }
  /** Blocks back to back from the start of ring slot `slot`. */
  | { type: 'ring'; slot: number; lengths: number[]; payloadBytes: number }
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
  const ring = task.ring === undefined ? undefined : new Uint8Array(task.ring);
  const slotBytes = task.slotBytes ?? 0;
  const slots = ring === undefined || slotBytes === 0 ? 0 : Math.floor(ring.length / slotBytes);
  let sent = 0;
  /** Sends one credited chunk through the ring when it fits a slot; false: transfer it instead. */
  const sendInRing = (blocks: Uint8Array[], payloadBytes: number): boolean => {
    const total = blocks.reduce((n, b) => n + b.length, 0);
    if (ring === undefined || slots === 0 || total > slotBytes) return false;
    const slot = sent % slots;
    let at = slot * slotBytes;
    for (const b of blocks) {
      ring.set(b, at);
      at += b.length;
    }
    sent++;
    port.postMessage({
      type: 'ring',
      slot,
      lengths: blocks.map((b) => b.length),
      payloadBytes,
    } satisfies WorkerToMain);
    return true;
  };
  const send = (blocks: Uint8Array[], credited = false) => {
    if (blocks.length === 0) return;
    const payloadBytes = blocks.reduce((n, b) => n + b.length - DATA_HEADER_LENGTH, 0);
    if (credited && sendInRing(blocks, payloadBytes)) return;
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
      send(framer.push(buffer.subarray(0, bytesRead)), true);
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
