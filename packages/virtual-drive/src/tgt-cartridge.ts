/**
 * A virtual cartridge stored as a tgt SSC backing-store file (see `tgt-format.ts` for the layout),
 * so `tgtimg --op show` can list it and tgtd can serve it as an iSCSI tape.
 */

import { randomBytes } from 'node:crypto';
import { link, open as openFile, unlink } from 'node:fs/promises';
import type { AppendObject, MediumInfo, MediumObject, MediumStore } from './medium';
import type { FileNumberingMedium, PowerFailingMedium } from './medium-extensions';
import {
  CartridgeArgumentError,
  CartridgeClosedError,
  CartridgeCorruptError,
  CartridgeOptionError,
  CartridgeWriteProtectedError,
} from './tgt-errors';
import {
  BLOCK_HEADER_SIZE,
  BlockType,
  barcodeProblem,
  decodeBlockHeader,
  decodeMam,
  encodeBlankCartridge,
  encodeBlockHeader,
  eodHeader,
  FIRST_BLOCK_OFFSET,
  type MamFields,
  MediumType,
  objectHeader,
  TAPE_FORMAT_VERSION,
} from './tgt-format';
import { ObjectIndex } from './tgt-index';
import { type CartridgeIo, FileCartridgeIo } from './tgt-io';

const MIB = 1024 * 1024;
const MAX_BLOCK_LENGTH = 0xffff_ffff;
const MAX_CAPACITY_BYTES = Math.min(Number.MAX_SAFE_INTEGER, MAX_BLOCK_LENGTH * MIB);
// Chain walk read sizes: a large window when blocks are small (many headers per read), a page when
// blocks are large (one header per read, without reading the data between them).
const WALK_WINDOW = 256 * 1024;
const WALK_PAGE = 4096;

export interface CreateCartridgeOptions {
  /** 1-31 printable ASCII characters without spaces (the MAM barcode field). */
  barcode: string;
  /** Capacity in bytes of user data (the MAM max_capacity; the BOT header holds it in MiB, rounded up). */
  capacityBytes: number;
  /** Open the new cartridge write protected (not stored in the file: tgt has no such flag). */
  writeProtected?: boolean;
  /** Written to the MAM media_pool field for information. */
  mediaPool?: string;
  /** Wall clock in ms for the serial number's creation time; defaults to `Date.now`. */
  now?: () => number;
}

export interface OpenCartridgeOptions {
  /**
   * Refuse writes. tgt keeps write protection outside the cartridge (a LUN attribute), so it is an
   * option of this handle; a file that cannot be opened for writing, or a cleaning cartridge, is
   * write protected regardless.
   */
  writeProtected?: boolean;
}

/**
 * `MediumStore` over a tgt SSC backing-store file.
 *
 * Durability and crash consistency. The file on disk always holds a valid chain: the header where
 * the committed EOD sits is rewritten only at `sync()`, and only after the bytes it will point to are
 * durable. An `append` writes everything *after* the committed EOD header (the first new block's data,
 * the following blocks' headers and data, a new EOD header) and keeps the first new block's header in
 * memory; `sync()` then runs fdatasync, overwrites the old EOD header with that block header (the
 * single 48-byte write that links the new blocks in), and runs fdatasync again. So a power loss or a
 * process death at any point leaves the cartridge exactly as of the last completed `sync()` (plus
 * unreachable bytes past its EOD, which the next append overwrites). tgt itself rewrites the old EOD
 * header first and writes the new EOD and the data afterwards, which leaves a broken chain if
 * interrupted; the resulting file layout is the same.
 *
 * `truncate` commits immediately (it is one header write, made durable before the file is shortened).
 * Only one handle may write a cartridge at a time; the virtual library enforces that by mounting a
 * cartridge in at most one drive. Operations on one handle are serialised.
 */
export class TgtCartridgeFile implements MediumStore, FileNumberingMedium, PowerFailingMedium {
  private closed = false;
  private committed: number;
  /** The header that will replace the committed EOD header at the next sync, with its offset. */
  private pending: { offset: number; bytes: Uint8Array } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Bumped by `loseUnsynced`, so an append still in flight then does not resurrect its objects. */
  private generation = 0;
  private zeros = new Uint8Array(0);

  private constructor(
    private readonly io: CartridgeIo,
    /** File path, for messages; `undefined` for a cartridge opened over an injected `CartridgeIo`. */
    readonly path: string | undefined,
    /** The MAM as read at open. */
    readonly mam: Readonly<MamFields>,
    private readonly index: ObjectIndex,
    private readonly writeProtected: boolean,
  ) {
    this.committed = index.count;
  }

  /**
   * Writes a blank cartridge at `path` (failing with the fs error `EEXIST` if one is there) exactly
   * as `tgtimg --op new --device-type tape --type=data` would, and opens it. The file appears
   * atomically (written to a temporary name, made durable, then linked into place).
   */
  static async create(path: string, options: CreateCartridgeOptions): Promise<TgtCartridgeFile> {
    validateCreateOptions(options);
    const now = options.now ?? Date.now;
    const bytes = encodeBlankCartridge({
      barcode: options.barcode,
      capacityBytes: options.capacityBytes,
      createdAtSeconds: Math.floor(now() / 1000),
      ...(options.mediaPool === undefined ? {} : { mediaPool: options.mediaPool }),
    });
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await openFile(temporary, 'wx', 0o660);
    try {
      try {
        await handle.write(bytes, 0, bytes.length, 0);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await link(temporary, path);
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
    return TgtCartridgeFile.open(path, { writeProtected: options.writeProtected ?? false });
  }

  /**
   * Opens a cartridge made by `tgtimg --op new` or by `create`, walking and validating the whole
   * block chain. Throws `CartridgeCorruptError` (with the offset) for a damaged file and the fs error
   * for a missing or unreadable one.
   */
  static async open(path: string, options: OpenCartridgeOptions = {}): Promise<TgtCartridgeFile> {
    const requested = validateOpenOptions(options);
    let readOnly = requested;
    let io: CartridgeIo;
    try {
      io = await FileCartridgeIo.open(path, readOnly);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (readOnly || (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM')) throw error;
      readOnly = true;
      io = await FileCartridgeIo.open(path, true);
    }
    try {
      return await TgtCartridgeFile.openIo(io, { writeProtected: readOnly }, path);
    } catch (error) {
      await io.close().catch(() => undefined);
      throw error;
    }
  }

  /** Opens a cartridge over any `CartridgeIo` (tests use an in-memory one to simulate power loss). */
  static async openIo(
    io: CartridgeIo,
    options: OpenCartridgeOptions = {},
    path?: string,
  ): Promise<TgtCartridgeFile> {
    const requested = validateOpenOptions(options);
    const { mam, index } = await walkChain(io, path);
    const protectedByType = mam.mediumType === MediumType.CLEAN;
    return new TgtCartridgeFile(io, path, mam, index, requested || protectedByType);
  }

  info(): MediumInfo {
    return {
      barcode: this.mam.barcode,
      capacityBytes: this.mam.maxCapacity,
      writeProtected: this.writeProtected,
      storesData: true,
    };
  }

  objectCount(): number {
    return this.index.count;
  }

  /** Objects linked into the on-disk chain: what a reader opening the file now would list. */
  committedCount(): number {
    return this.committed;
  }

  filemarksBefore(index: number): number {
    checkIndex(index, Number.POSITIVE_INFINITY);
    return this.index.filemarksBefore(Math.min(index, this.index.count));
  }

  /**
   * A host power failure: forgets every object appended since the last sync, as the page cache
   * would. The file needs no change: its chain already ends at the committed EOD, and the bytes
   * written past it are unreachable until the next append overwrites them.
   */
  loseUnsynced(): void {
    this.generation += 1;
    this.pending = undefined;
    this.index.truncate(this.committed);
  }

  objectAt(index: number): MediumObject | undefined {
    checkIndex(index, Number.POSITIVE_INFINITY);
    if (index >= this.index.count) return undefined;
    return this.index.isFilemark(index)
      ? { kind: 'filemark' }
      : { kind: 'data', length: this.index.lengthOf(index) };
  }

  bytesBefore(index: number): number {
    checkIndex(index, Number.POSITIVE_INFINITY);
    return this.index.bytesBefore(Math.min(index, this.index.count));
  }

  readData(index: number): Promise<Uint8Array> {
    return this.serialise(async () => {
      this.assertOpen();
      checkIndex(index, this.index.count - 1);
      if (this.index.isFilemark(index)) {
        throw new CartridgeArgumentError(`object ${index} is a filemark, not a data block`, 'index');
      }
      const length = this.index.lengthOf(index);
      const offset = this.index.offsetOf(index) + BLOCK_HEADER_SIZE;
      const data = await this.io.read(offset, length);
      if (data.length !== length) {
        throw new CartridgeCorruptError(
          `data block ${index} is cut short: ${data.length} of ${length} bytes`,
          offset,
          'short-read',
          this.path,
        );
      }
      return data;
    });
  }

  append(objects: ReadonlyArray<AppendObject>): Promise<void> {
    return this.serialise(async () => {
      this.assertWritable();
      validateAppend(objects);
      if (objects.length === 0) return;
      const first = this.index.count;
      let position = this.index.eodOffset;
      let prev = first > 0 ? this.index.offsetOf(first - 1) : 0;
      const buffers: Uint8Array[] = [];
      let newPending: Uint8Array | undefined;
      objects.forEach((object, k) => {
        const length = object.kind === 'data' ? object.length : 0;
        const header = encodeBlockHeader(
          objectHeader(first + k, prev, position, length, object.kind === 'filemark'),
        );
        // The first block's header would overwrite the committed EOD header: hold it until sync.
        if (k === 0 && this.pending === undefined) newPending = header;
        else buffers.push(header);
        if (object.kind === 'data') buffers.push(object.data ?? this.zeroBlock(length));
        prev = position;
        position += BLOCK_HEADER_SIZE + length;
      });
      buffers.push(encodeBlockHeader(eodHeader(first + objects.length, prev, position)));
      const start = this.index.eodOffset + (newPending === undefined ? 0 : BLOCK_HEADER_SIZE);
      const generation = this.generation;
      await this.io.write(buffers, start);
      if (generation !== this.generation) return;
      if (newPending !== undefined) this.pending = { offset: this.index.eodOffset, bytes: newPending };
      for (const object of objects) {
        this.index.push(object.kind === 'filemark', object.kind === 'data' ? object.length : 0);
      }
    });
  }

  truncate(index: number): Promise<void> {
    return this.serialise(async () => {
      this.assertWritable();
      checkIndex(index, this.index.count);
      if (index === this.index.count) return;
      const offset = this.index.offsetOf(index);
      const prev = index > 0 ? this.index.offsetOf(index - 1) : 0;
      if (index >= this.committed) {
        // Only unsynced objects go. At `committed` the committed EOD header was never overwritten.
        if (index > this.committed)
          await this.io.write([encodeBlockHeader(eodHeader(index, prev, offset))], offset);
        else this.pending = undefined;
        this.index.truncate(index);
        await this.io.truncate(offset + BLOCK_HEADER_SIZE);
        return;
      }
      // The new EOD header must be durable before the file shrinks: a shortened file whose old
      // header still points past its end would be a broken chain.
      await this.io.write([encodeBlockHeader(eodHeader(index, prev, offset))], offset);
      await this.io.datasync();
      this.pending = undefined;
      this.index.truncate(index);
      this.committed = index;
      await this.io.truncate(offset + BLOCK_HEADER_SIZE);
      await this.io.datasync();
    });
  }

  sync(): Promise<void> {
    return this.serialise(() => {
      this.assertOpen();
      return this.commit();
    });
  }

  /** Commits (like `sync`) and closes the file. Idempotent. */
  close(): Promise<void> {
    return this.serialise(async () => {
      if (this.closed) return;
      try {
        await this.commit();
      } finally {
        this.closed = true;
        await this.io.close();
      }
    });
  }

  private async commit(): Promise<void> {
    if (this.writeProtected) return;
    await this.io.datasync();
    if (this.pending !== undefined) {
      await this.io.write([this.pending.bytes], this.pending.offset);
      await this.io.datasync();
      this.pending = undefined;
    }
    this.committed = this.index.count;
  }

  private serialise<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private assertOpen(): void {
    if (this.closed) throw new CartridgeClosedError(this.mam.barcode);
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.writeProtected) throw new CartridgeWriteProtectedError(this.mam.barcode);
  }

  /** Zero bytes for a synthetic-payload block, from one shared buffer grown to the largest length seen. */
  private zeroBlock(length: number): Uint8Array {
    if (this.zeros.length < length) this.zeros = new Uint8Array(length);
    return this.zeros.subarray(0, length);
  }
}

function checkIndex(index: number, max: number): void {
  if (!Number.isInteger(index) || index < 0 || index > max) {
    throw new CartridgeArgumentError(`index must be an integer in [0, ${max}], got ${index}`, 'index');
  }
}

function validateAppend(objects: ReadonlyArray<AppendObject>): void {
  objects.forEach((object, k) => {
    if (object.kind === 'filemark') return;
    if (object.kind !== 'data') {
      throw new CartridgeArgumentError(
        `objects[${k}].kind must be 'data' or 'filemark'`,
        `objects[${k}].kind`,
      );
    }
    const { length, data } = object;
    if (!Number.isInteger(length) || length < 1 || length > MAX_BLOCK_LENGTH) {
      throw new CartridgeArgumentError(
        `objects[${k}].length must be an integer in [1, ${MAX_BLOCK_LENGTH}], got ${length}`,
        `objects[${k}].length`,
      );
    }
    if (data !== undefined && data.length !== length) {
      throw new CartridgeArgumentError(
        `objects[${k}].data holds ${data.length} bytes but length is ${length}`,
        `objects[${k}].data`,
      );
    }
  });
}

function validateOpenOptions(options: OpenCartridgeOptions): boolean {
  if (options.writeProtected !== undefined && typeof options.writeProtected !== 'boolean') {
    throw new CartridgeOptionError('writeProtected', 'must be a boolean');
  }
  return options.writeProtected ?? false;
}

function validateCreateOptions(options: CreateCartridgeOptions): void {
  const barcode = barcodeProblem(options.barcode);
  if (barcode !== undefined) throw new CartridgeOptionError('barcode', barcode);
  const capacity = options.capacityBytes;
  if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY_BYTES) {
    throw new CartridgeOptionError(
      'capacityBytes',
      `must be an integer in [1, ${MAX_CAPACITY_BYTES}], got ${capacity}`,
    );
  }
  validateOpenOptions(options);
  if (
    options.mediaPool !== undefined &&
    (typeof options.mediaPool !== 'string' || options.mediaPool.length > 159)
  ) {
    throw new CartridgeOptionError('mediaPool', 'must be a string of at most 159 characters');
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new CartridgeOptionError('now', 'must be a function returning milliseconds');
  }
}

/** Reads BOT + MAM and walks the chain to EOD, validating every header. */
async function walkChain(
  io: CartridgeIo,
  path: string | undefined,
): Promise<{ mam: MamFields; index: ObjectIndex }> {
  const corrupt = (
    message: string,
    offset: number,
    reason: ConstructorParameters<typeof CartridgeCorruptError>[2],
  ) => new CartridgeCorruptError(message, offset, reason, path);
  const size = await io.size();
  if (size < FIRST_BLOCK_OFFSET + BLOCK_HEADER_SIZE) {
    throw corrupt(`file of ${size} bytes is too small for a tape cartridge`, 0, 'short-file');
  }
  const head = await io.read(0, FIRST_BLOCK_OFFSET);
  const bot = decodeBlockHeader(head, 0);
  if (!bot.checksumValid) throw corrupt('BOT header checksum mismatch', 0, 'header-checksum');
  if (bot.type !== BlockType.BOT || bot.curr !== 0 || bot.next !== FIRST_BLOCK_OFFSET) {
    throw corrupt(`not a BOT header (type ${bot.type}, next ${bot.next})`, 0, 'bad-bot');
  }
  const mam = decodeMam(head, BLOCK_HEADER_SIZE);
  if (mam.formatVersion !== TAPE_FORMAT_VERSION) {
    throw corrupt(`unknown tape format version ${mam.formatVersion}`, BLOCK_HEADER_SIZE, 'bad-version');
  }

  const index = new ObjectIndex(FIRST_BLOCK_OFFSET);
  let window: Uint8Array = new Uint8Array(0);
  let windowStart = 0;
  let position = FIRST_BLOCK_OFFSET;
  let prev = 0;
  let lastGap = 0;
  for (;;) {
    if (position + BLOCK_HEADER_SIZE > size) {
      throw corrupt(
        `block ${index.count} header lies past the end of the file (${size} bytes)`,
        position,
        'short-file',
      );
    }
    if (position < windowStart || position + BLOCK_HEADER_SIZE > windowStart + window.length) {
      window = await io.read(
        position,
        Math.min(lastGap < WALK_PAGE ? WALK_WINDOW : WALK_PAGE, size - position),
      );
      windowStart = position;
      if (window.length < BLOCK_HEADER_SIZE)
        throw corrupt('short read of a block header', position, 'short-read');
    }
    const header = decodeBlockHeader(window, position - windowStart);
    const n = index.count;
    if (!header.checksumValid)
      throw corrupt(`block ${n} header checksum mismatch`, position, 'header-checksum');
    if (header.curr !== position || header.prev !== prev) {
      throw corrupt(
        `block ${n} header links curr ${header.curr} prev ${header.prev}, expected ${position} and ${prev}`,
        position,
        'bad-link',
      );
    }
    if (header.blockNumber !== n + 1) {
      throw corrupt(`block number ${header.blockNumber}, expected ${n + 1}`, position, 'bad-block-number');
    }
    if (header.type === BlockType.EOD) {
      if (header.next !== position)
        throw corrupt('EOD header does not point at itself', position, 'bad-link');
      return { mam, index };
    }
    if (header.type === BlockType.FILEMARK) {
      if (header.diskSize !== 0)
        throw corrupt(`filemark with ${header.diskSize} data bytes`, position, 'bad-size');
    } else if (header.type === BlockType.UNCOMPRESSED_DATA) {
      if (header.diskSize !== header.blockSize) {
        throw corrupt(
          `data block stores ${header.diskSize} of ${header.blockSize} bytes`,
          position,
          'bad-size',
        );
      }
    } else if (
      header.type === BlockType.COMPRESSED_DATA ||
      header.type === BlockType.ENCRYPTED_DATA ||
      header.type === BlockType.SETMARK
    ) {
      throw corrupt(`unsupported block type ${header.type}`, position, 'unsupported-block-type');
    } else {
      throw corrupt(`invalid block type ${header.type}`, position, 'bad-block-type');
    }
    const next = position + BLOCK_HEADER_SIZE + header.diskSize;
    if (header.next !== next) {
      throw corrupt(`block ${n} next ${header.next}, expected ${next}`, position, 'bad-link');
    }
    index.push(header.type === BlockType.FILEMARK, header.diskSize);
    prev = position;
    lastGap = next - position;
    position = next;
  }
}
