/**
 * The positional file operations a cartridge needs. The cartridge logic talks only to this
 * interface, so tests can record every write and replay any prefix of them (a power loss).
 */

import { writevSync } from 'node:fs';
import { constants, type FileHandle, open } from 'node:fs/promises';

export interface CartridgeIo {
  /** Reads up to `length` bytes at `position`; returns the bytes actually read (short at end of file). */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Writes all `buffers` back to back starting at `position` (retrying short writes). */
  write(buffers: ReadonlyArray<Uint8Array>, position: number): Promise<void>;
  truncate(length: number): Promise<void>;
  /** fdatasync: everything written before this call is durable when it resolves. */
  datasync(): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

// Stay well below IOV_MAX (1024 on Linux) per writev call.
const MAX_IOVECS = 512;

/**
 * Writes up to this many bytes are made with a blocking call on the caller's thread. A write of a
 * few kilobytes into the page cache takes microseconds, less than its trip through the libuv pool;
 * and on a busy machine the pool thread it wakes can take the caller's core for the whole write
 * (seen as millisecond stalls of the drive's next command, on the next image's pickup path).
 * Larger writes still go to the pool, where they overlap with the caller's work.
 */
const BLOCKING_WRITE_BYTES = 64 * 1024;

/** `CartridgeIo` over a Node file handle. */
export class FileCartridgeIo implements CartridgeIo {
  private constructor(private readonly handle: FileHandle) {}

  /**
   * Opens `path` read-write, or read-only when `readOnly` is set. Throws the fs error
   * (`ENOENT`, `EACCES`, ...) unchanged so callers can branch on its `code`.
   */
  static async open(path: string, readOnly: boolean): Promise<FileCartridgeIo> {
    const handle = await open(path, readOnly ? constants.O_RDONLY : constants.O_RDWR);
    return new FileCartridgeIo(handle);
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    const buffer = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === length ? buffer : buffer.subarray(0, filled);
  }

  async write(buffers: ReadonlyArray<Uint8Array>, position: number): Promise<void> {
    if (buffers.length <= MAX_IOVECS && totalLength(buffers) <= BLOCKING_WRITE_BYTES) {
      this.#writeBlocking(buffers, position);
      return;
    }
    let pos = position;
    for (let first = 0; first < buffers.length; first += MAX_IOVECS) {
      let pending = buffers.slice(first, first + MAX_IOVECS).filter((b) => b.length > 0);
      while (pending.length > 0) {
        const expected = pending.reduce((sum, b) => sum + b.length, 0);
        const { bytesWritten } = await this.handle.writev(pending, pos);
        pos += bytesWritten;
        if (bytesWritten === expected) break;
        pending = dropPrefix(pending, bytesWritten);
      }
    }
  }

  #writeBlocking(buffers: ReadonlyArray<Uint8Array>, position: number): void {
    let pending = buffers.filter((b) => b.length > 0);
    let pos = position;
    while (pending.length > 0) {
      const written = writevSync(this.handle.fd, pending, pos);
      pos += written;
      pending = dropPrefix(pending, written);
    }
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

function totalLength(buffers: ReadonlyArray<Uint8Array>): number {
  let n = 0;
  for (const b of buffers) n += b.length;
  return n;
}

/** The buffers left after the first `count` bytes of `buffers` were written. */
function dropPrefix(buffers: Uint8Array[], count: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = count;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    rest.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return rest;
}
