/**
 * Piscina worker: reads one `disk` image from its file and frames it (CRC32C per block, SHA-256 of
 * the image) off the main thread. The worker holds at most `readAhead` chunks the main thread has
 * not consumed (credit based), so the drive's pace bounds the memory.
 *
 * Chunks travel through a ring of slots in a SharedArrayBuffer the main thread gave the task. Each
 * block's payload is read from the file straight to its final place in the slot (behind the room
 * for its header) and framed there: the bytes are copied once, by the kernel, and the block is hashed
 * and checksummed while it is still in this core's cache. The worker then names the slot; a credit
 * (the main thread asked for the next chunk, so the drive took every block of the previous one)
 * frees the oldest slot. Nothing is allocated per block: a buffer transferred per block cost the
 * main thread a garbage collection every few megabytes (each arrives as new external memory there).
 *
 * Protocol on the port: worker → main `{ type: 'opened' }` once the source passed its checks (or
 * `{ type: 'refused', code, message }` and nothing else), `{ type: 'ring', slot, lengths,
 * payloadBytes }` per chunk, then exactly one `{ type: 'end', status, trailer, bytes, blocks, sha256, error? }`;
 * main → worker `{ type: 'credit' }` (one chunk slot freed) and `{ type: 'abort' }`.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import { DATA_HEADER_LENGTH, ImageFramer, type TrailerStatus } from '@tapedup/tape-format';
import { type DsuRoots, resolveSourceSync, SourceError, type SourceErrorCode } from '../dsu';

export interface DiskReadTask {
  /** The image's storage unit (only its own root is passed), its path there and announced size. */
  roots: DsuRoots;
  dsu: string;
  path: string;
  sizeBytes: number;
  tag: number;
  blockPayloadSize: number;
  /** Chunks the worker may send ahead of the main thread. */
  readAhead: number;
  /** Ring slots of `slotBytes` each (at least one); a slot holds one chunk of framed blocks. */
  ring: SharedArrayBuffer;
  /** Bytes per slot: a whole number of framed full blocks. */
  slotBytes: number;
  port: MessagePort;
}

export type WorkerToMain =
  /** The source passed its checks: chunks follow. Always the first message, or `refused` instead. */
  | { type: 'opened' }
  /** The source failed its checks (outside the root, missing, not a file, another size); nothing follows. */
  | { type: 'refused'; code: SourceErrorCode; message: string }
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

type ReadError = { code: 'READ_FAILED' | 'SHORT_READ'; message: string };

/** Reads up to `length` bytes at `position` into `target[at..]`, retrying short reads; returns the count. */
function readFully(fd: number, target: Uint8Array, at: number, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    // A blocking read: this thread exists to read, and a read on the libuv pool would add a
    // round trip through a pool the main thread's cartridge writes also use.
    const n = readSync(fd, target, at + got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

export default async function readImage(task: DiskReadTask): Promise<{ bytes: number }> {
  const { port } = task;
  let absolutePath: string;
  try {
    absolutePath = resolveSourceSync(task.roots, task.dsu, task.path, task.sizeBytes).absolutePath;
  } catch (error) {
    if (!(error instanceof SourceError)) throw error;
    port.postMessage({ type: 'refused', code: error.code, message: error.message } satisfies WorkerToMain);
    port.close();
    return { bytes: 0 };
  }
  port.postMessage({ type: 'opened' } satisfies WorkerToMain);
  let credits = task.readAhead;
  let aborted = false;
  let wake: (() => void) | undefined;
  port.on('message', (m: MainToWorker) => {
    if (m.type === 'credit') credits++;
    else aborted = true;
    wake?.();
  });
  const payload = task.blockPayloadSize;
  const framer = new ImageFramer({ tag: task.tag, blockPayloadSize: payload });
  const ring = new Uint8Array(task.ring);
  const blockBytes = DATA_HEADER_LENGTH + payload;
  const slotBlocks = Math.floor(task.slotBytes / blockBytes);
  const slots = Math.floor(ring.length / task.slotBytes);
  if (slotBlocks < 1 || slots < 1) {
    throw new RangeError(
      `disk worker: a ring of ${ring.length} bytes with ${task.slotBytes}-byte slots holds no ${blockBytes}-byte block`,
    );
  }
  let offset = 0;
  let sent = 0;
  let error: ReadError | undefined;
  let fd: number | undefined;
  try {
    fd = openSync(absolutePath, 'r');
    while (offset < task.sizeBytes && !aborted && error === undefined) {
      // The worker yields to its event loop (where credits and aborts arrive) only when it must wait.
      while (credits === 0 && !aborted) await new Promise<void>((resolve) => (wake = resolve));
      if (aborted) break;
      const slot = sent % slots;
      let at = slot * task.slotBytes;
      const lengths: number[] = [];
      let payloadBytes = 0;
      try {
        for (let b = 0; b < slotBlocks && offset < task.sizeBytes; b++) {
          const want = Math.min(payload, task.sizeBytes - offset);
          const got = readFully(fd, ring, at + DATA_HEADER_LENGTH, want, offset);
          if (got > 0) {
            framer.frameInPlace(ring.subarray(at, at + DATA_HEADER_LENGTH + got));
            lengths.push(DATA_HEADER_LENGTH + got);
            payloadBytes += got;
            offset += got;
            at += DATA_HEADER_LENGTH + got;
          }
          if (got < want) {
            error = { code: 'SHORT_READ', message: `file ended at byte ${offset} of ${task.sizeBytes}` };
            break;
          }
        }
      } catch (cause) {
        error = { code: 'READ_FAILED', message: cause instanceof Error ? cause.message : String(cause) };
      }
      // The blocks framed before a failure still go out: the aborted trailer covers exactly them.
      if (lengths.length > 0) {
        credits--;
        sent++;
        port.postMessage({ type: 'ring', slot, lengths, payloadBytes } satisfies WorkerToMain);
      }
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
  // Every block was framed in place: nothing is pending, so finish() adds no block.
  const { trailer, info } = framer.finish(status);
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
