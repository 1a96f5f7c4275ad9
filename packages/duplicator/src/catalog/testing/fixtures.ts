import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../catalog';
import type { CatalogOptions } from '../options';
import type { CommittedCopy, ImageInput } from '../types';

/** A catalog on a real SQLite file in a fresh temporary directory, with a hand-driven clock. */
export interface CatalogFixture {
  readonly dir: string;
  readonly path: string;
  readonly catalog: Catalog;
  /** Current virtual time, epoch ms; advance it with `tick`. */
  now(): number;
  tick(ms: number): void;
  /** Opens another connection on the same file, as a restarted process would. */
  reopen(options?: Partial<CatalogOptions>): Catalog;
  cleanup(): void;
}

export function catalogFixture(options: Partial<CatalogOptions> = {}): CatalogFixture {
  const dir = mkdtempSync(join(tmpdir(), 'tapedup-catalog-'));
  const path = join(dir, 'catalog.sqlite');
  let time = 1_700_000_000_000;
  const clock = () => time;
  const opened: Catalog[] = [];
  const open = (extra: Partial<CatalogOptions>) => {
    const c = new Catalog({ clock, ...options, ...extra, path });
    opened.push(c);
    return c;
  };
  const catalog = open({});
  return {
    dir,
    path,
    catalog,
    now: () => time,
    tick: (ms) => {
      time += ms;
    },
    reopen: (extra = {}) => open(extra),
    cleanup: () => {
      for (const c of opened) c.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `count` disk images named `<prefix>-<n>` of `size` bytes each. */
export function images(count: number, size = 1000, prefix = 'img'): ImageInput[] {
  return Array.from({ length: count }, (_, n) => ({
    backupId: `${prefix}-${n}`,
    size,
    source: { path: `${prefix}/${n}` },
  }));
}

export function sha(n: number): string {
  return n.toString(16).padStart(64, '0');
}

/**
 * Writes `copyIds` one after another on `drive` into `batchId`, each as one tape file of `blocksEach` blocks
 * starting at `start`, and returns the commit entries and the position after a sync.
 */
export function writeCopies(
  catalog: Catalog,
  batchId: number,
  drive: string,
  medium: string,
  copyIds: readonly number[],
  start: { fileNumber: number; blockAddress: number },
  blocksEach = 4,
): { committed: CommittedCopy[]; after: { fileNumber: number; blockAddress: number } } {
  const committed: CommittedCopy[] = [];
  let { fileNumber, blockAddress } = start;
  for (const copyId of copyIds) {
    catalog.startWriting(copyId, drive, medium);
    const copy = catalog.getCopy(copyId);
    catalog.markWritten(copyId, batchId, { fileNumber, blockAddress, bytes: copy.size, sha256: sha(copyId) });
    committed.push({ copyId, medium, fileNumber, blockAddress, sha256: sha(copyId) });
    fileNumber += 1;
    // data blocks plus the filemark, which also takes a logical object position
    blockAddress += blocksEach + 1;
  }
  return { committed, after: { fileNumber, blockAddress } };
}
