/**
 * The writer's record of what it has written since the last good sync: the
 * batch. Pure bookkeeping that enforces invariants 1 and 2 of the design:
 *
 * - A copy leaves the batch as committed only through {@link Batch.synced},
 *   called after a synchronous filemark returned GOOD, and only when the drive
 *   position read back equals the position the writer expected. A mismatch
 *   fails the whole batch.
 * - Any error since the last good sync fails every copy in the batch
 *   ({@link Batch.fail}); nothing in it can be committed afterwards, and the
 *   writer must reposition to {@link Batch.lastGood} before writing again.
 */

export interface WrittenCopy {
  copyId: string;
  backupId: string;
  medium: string;
  /** Tape file number of the image's (first) fragment on this medium. */
  fileNumber: number;
  /** Logical block number of that fragment's header block. */
  blockAddress: number;
  bytes: number;
  sha256: string;
  /** Every fragment of the copy, in image order, when there is more than one (MPX split, spanning). */
  fragments?: readonly CopyFragmentRecord[] | undefined;
}

/** Where one fragment of a copy is and which bytes of the image it holds. */
export interface CopyFragmentRecord {
  medium: string;
  fileNumber: number;
  blockAddress: number;
  offset: number;
  length: number;
}

export interface MediumPosition {
  medium: string;
  /** Tape file number of the next tape file to be written. */
  fileNumber: number;
  /** Logical object number just after the last filemark. */
  blockNumber: number;
}

export type SyncOutcome =
  | { ok: true; committed: WrittenCopy[]; position: MediumPosition }
  | { ok: false; failed: WrittenCopy[]; reason: 'position-mismatch'; expected: number; actual: number };

export class BatchStateError extends Error {
  override readonly name = 'BatchStateError';
  readonly code: 'BATCH_FAILED' | 'WRONG_MEDIUM';
  constructor(code: 'BATCH_FAILED' | 'WRONG_MEDIUM', message: string) {
    super(message);
    this.code = code;
  }
}

export class Batch {
  #lastGood: MediumPosition;
  #copies: WrittenCopy[] = [];
  /** Where the writer believes the tape is after the last object it wrote. */
  #expected: MediumPosition;
  #failed = false;
  #seq = 0;
  #id: string;
  readonly #prefix: string;

  /** `start` is the last committed position on the mounted medium (from the catalog). */
  constructor(start: MediumPosition, idPrefix = 'b') {
    this.#lastGood = { ...start };
    this.#expected = { ...start };
    this.#prefix = idPrefix;
    this.#id = this.#nextId();
  }

  #nextId(): string {
    this.#seq += 1;
    return `${this.#prefix}-${this.#seq}`;
  }

  get id(): string {
    return this.#id;
  }
  get lastGood(): MediumPosition {
    return { ...this.#lastGood };
  }
  get expected(): MediumPosition {
    return { ...this.#expected };
  }
  get size(): number {
    return this.#copies.length;
  }
  get bytes(): number {
    return this.#copies.reduce((n, c) => n + c.bytes, 0);
  }
  get copies(): readonly WrittenCopy[] {
    return this.#copies;
  }
  /** True after a failure until the writer repositions with {@link Batch.restart}. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Advances the expected position by objects the writer wrote (blocks and filemarks). */
  advance(objects: number, filemarks: number): void {
    if (this.#failed) throw new BatchStateError('BATCH_FAILED', 'batch failed: reposition before writing');
    this.#expected = {
      medium: this.#expected.medium,
      blockNumber: this.#expected.blockNumber + objects,
      fileNumber: this.#expected.fileNumber + filemarks,
    };
  }

  /** Records a copy whose data and filemark the drive accepted (not yet proven on the medium). */
  written(copy: WrittenCopy): void {
    if (this.#failed) throw new BatchStateError('BATCH_FAILED', 'batch failed: reposition before writing');
    // A copy spanning media starts on an earlier one; its last fragment is on this batch's medium.
    const ends = copy.fragments?.at(-1)?.medium ?? copy.medium;
    if (ends !== this.#lastGood.medium) {
      throw new BatchStateError(
        'WRONG_MEDIUM',
        `copy ${copy.copyId} ends on ${ends}, batch on ${this.#lastGood.medium}`,
      );
    }
    this.#copies.push(copy);
  }

  /**
   * A synchronous filemark or flush returned GOOD and the drive reports `actualBlock`.
   * Commits the batch when it matches; otherwise fails it (the data may not be where the
   * catalog would say it is).
   */
  synced(actualBlock: number): SyncOutcome {
    if (this.#failed) throw new BatchStateError('BATCH_FAILED', 'batch already failed');
    const expected = this.#expected.blockNumber;
    if (actualBlock !== expected) {
      const failed = this.fail();
      return { ok: false, failed, reason: 'position-mismatch', expected, actual: actualBlock };
    }
    const committed = this.#copies;
    this.#copies = [];
    this.#lastGood = { ...this.#expected };
    this.#id = this.#nextId();
    return { ok: true, committed, position: { ...this.#lastGood } };
  }

  /** Any error since the last good sync: every copy of the batch is failed. Idempotent. */
  fail(): WrittenCopy[] {
    const failed = this.#copies;
    this.#copies = [];
    this.#failed = true;
    return failed;
  }

  /** After repositioning to `lastGood` (or to a new medium's start), writing may resume. */
  restart(at: MediumPosition = this.#lastGood): void {
    if (this.#copies.length > 0)
      throw new BatchStateError('BATCH_FAILED', 'restart with copies still pending');
    this.#lastGood = { ...at };
    this.#expected = { ...at };
    this.#failed = false;
    this.#id = this.#nextId();
  }
}
