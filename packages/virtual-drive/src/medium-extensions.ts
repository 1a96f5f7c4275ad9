import type { MediumStore } from './medium';

/**
 * Optional abilities a `MediumStore` may have beyond the interface. The drive uses them when present
 * and falls back to the plain interface otherwise.
 */
export interface RunAppendingMedium {
  /** Appends `count` equal objects in one call (a synthetic run), without one object per block. */
  appendRun(kind: 'data' | 'filemark', length: number, count: number): Promise<void>;
}

export interface FileNumberingMedium {
  /** Filemarks among objects [0, index): the file number READ POSITION long form reports. */
  filemarksBefore(index: number): number;
}

export interface PowerFailingMedium {
  /**
   * Reverts to the state of the last `sync()`, as a host power failure loses what was appended but
   * not made durable (the page cache of a file).
   */
  loseUnsynced(): void;
}

export function canAppendRuns(store: MediumStore): store is MediumStore & RunAppendingMedium {
  return typeof (store as Partial<RunAppendingMedium>).appendRun === 'function';
}

export function canNumberFiles(store: MediumStore): store is MediumStore & FileNumberingMedium {
  return typeof (store as Partial<FileNumberingMedium>).filemarksBefore === 'function';
}

/** A validated `MediumInfo`-style option set shared by the in-memory media. */
export interface InMemoryMediumOptions {
  barcode: string;
  /** User-data capacity in bytes. */
  capacityBytes: number;
  writeProtected?: boolean;
}

export function validateInMemoryOptions(kind: string, options: InMemoryMediumOptions): void {
  if (typeof options.barcode !== 'string' || options.barcode.length === 0) {
    throw new TypeError(`${kind} option "barcode" must be a non-empty string`);
  }
  if (!Number.isSafeInteger(options.capacityBytes) || options.capacityBytes <= 0) {
    throw new RangeError(
      `${kind} option "capacityBytes" must be a positive safe integer, got ${String(options.capacityBytes)}`,
    );
  }
}
