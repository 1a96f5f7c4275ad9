/**
 * Reads the duplicator's SQLite catalog read-only (the duplicator may be running: WAL lets readers
 * and the writer proceed together). Only the reading views and tables of the catalog schema are used.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { CliError } from '../errors';

export interface ImageRow {
  requestId: string;
  backupId: string;
  sizeBytes: number;
  kind: string;
  dsu: string | null;
  path: string | null;
  priority: number;
  copies: number;
  committed: number;
}

export interface CopyRow {
  requestId: string;
  backupId: string;
  copy: number;
  state: string;
  attempts: number;
  sizeBytes: number;
  drive: string | null;
  medium: string | null;
  fileNumber: number | null;
  blockAddress: number | null;
  sha256: string | null;
  committedAt: number | null;
  lastError: string | null;
}

export interface MediumRow {
  barcode: string;
  pool: string;
  state: string;
  fileNumber: number;
  blockAddress: number;
  committedBytes: number;
  bytesWritten: number;
  errors: number;
}

export interface FragmentRow {
  requestId: string;
  backupId: string;
  copy: number;
  sequence: number;
  medium: string;
  fileNumber: number;
  blockAddress: number;
  offset: number;
  length: number;
}

export interface BatchTotals {
  synced: number;
  failed: number;
  open: number;
  /** Image copies in synced batches. */
  syncedImages: number;
  syncedBytes: number;
  /** Sum of the sync durations the writers measured (model ms). */
  syncMs: number;
}

/** Per drive: committed copies and bytes, and the batches it synced or failed. */
export interface DriveActivity {
  drive: string;
  committed: number;
  bytes: number;
  syncedBatches: number;
  failedBatches: number;
  /** Copies in this drive's synced batches. */
  syncedImages: number;
}

export interface DriveRow {
  id: string;
  syncCount: number;
  syncCostS: number | null;
  bytesWritten: number;
  errorCount: number;
}

function parseSource(source: string | null): { dsu: string | null; path: string | null } {
  if (source === null) return { dsu: null, path: null };
  try {
    const s = JSON.parse(source) as { dsu?: unknown; path?: unknown };
    return {
      dsu: typeof s.dsu === 'string' ? s.dsu : null,
      path: typeof s.path === 'string' ? s.path : null,
    };
  } catch {
    return { dsu: null, path: null };
  }
}

export class CatalogReader {
  readonly #db: Database.Database;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Opens `path` read-only. Throws `CATALOG_UNAVAILABLE` when there is no catalog there. */
  static open(path: string): CatalogReader {
    if (!existsSync(path)) {
      throw new CliError('CATALOG_UNAVAILABLE', `no catalog at ${path} (has the duplicator run?)`, {
        field: 'catalog',
      });
    }
    try {
      const db = new Database(path, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      return new CatalogReader(db);
    } catch (cause) {
      throw new CliError(
        'CATALOG_UNAVAILABLE',
        `cannot open the catalog ${path}: ${(cause as Error).message}`,
        {
          field: 'catalog',
          cause,
        },
      );
    }
  }

  close(): void {
    this.#db.close();
  }

  images(filter: { requestId?: string | undefined } = {}): ImageRow[] {
    const rows = this.#db
      .prepare(
        `SELECT i.request AS requestId, i.backup_id AS backupId, i.size AS sizeBytes, i.kind, i.source, i.priority,
                (SELECT count(*) FROM copies c WHERE c.image = i.id) AS copies,
                (SELECT count(*) FROM copies c WHERE c.image = i.id AND c.state = 'committed') AS committed
         FROM images_v i WHERE (@requestId IS NULL OR i.request = @requestId) ORDER BY i.id`,
      )
      .all({ requestId: filter.requestId ?? null }) as (Omit<ImageRow, 'dsu' | 'path'> & {
      source: string | null;
    })[];
    return rows.map(({ source, ...row }) => ({ ...row, ...parseSource(source) }));
  }

  copies(
    filter: { requestId?: string | undefined; medium?: string | undefined; state?: string | undefined } = {},
  ): CopyRow[] {
    return this.#db
      .prepare(
        `SELECT c.request AS requestId, i.backup_id AS backupId, c.copy_number AS copy, c.state, c.attempts,
                c.size AS sizeBytes, c.drive, c.medium, c.file_number AS fileNumber, c.block_address AS blockAddress,
                c.sha256, c.committed_at AS committedAt, c.last_error AS lastError
         FROM copies_v c JOIN images i ON i.id = c.image
         WHERE (@requestId IS NULL OR c.request = @requestId)
           AND (@medium IS NULL OR c.medium = @medium)
           AND (@state IS NULL OR c.state = @state)
         ORDER BY c.id`,
      )
      .all({
        requestId: filter.requestId ?? null,
        medium: filter.medium ?? null,
        state: filter.state ?? null,
      }) as CopyRow[];
  }

  media(): MediumRow[] {
    return this.#db
      .prepare(
        `SELECT barcode, pool, state, last_file_number AS fileNumber, last_block_address AS blockAddress,
                committed_bytes AS committedBytes, bytes_written AS bytesWritten, error_count AS errors
         FROM media ORDER BY barcode`,
      )
      .all() as MediumRow[];
  }

  fragments(
    filter: { backupId?: string | undefined; copy?: number | undefined; medium?: string | undefined } = {},
  ): FragmentRow[] {
    return this.#db
      .prepare(
        `SELECT r.id AS requestId, i.backup_id AS backupId, c.copy_number AS copy, f.sequence, f.medium,
                f.file_number AS fileNumber, f.block_address AS blockAddress, f.offset, f.length
         FROM fragments f JOIN copies c ON c.id = f.copy JOIN images i ON i.id = c.image JOIN requests r ON r.seq = c.request
         WHERE c.state = 'committed'
           AND (@backupId IS NULL OR i.backup_id = @backupId)
           AND (@copy IS NULL OR c.copy_number = @copy)
           AND (@medium IS NULL OR f.medium = @medium)
         ORDER BY c.id, f.sequence`,
      )
      .all({
        backupId: filter.backupId ?? null,
        copy: filter.copy ?? null,
        medium: filter.medium ?? null,
      }) as FragmentRow[];
  }

  batchTotals(): BatchTotals {
    const row = this.#db
      .prepare(
        `SELECT
           coalesce(sum(state = 'synced'), 0) AS synced,
           coalesce(sum(state = 'failed'), 0) AS failed,
           coalesce(sum(state = 'open'), 0) AS open,
           coalesce(sum(CASE WHEN state = 'synced' THEN image_count END), 0) AS syncedImages,
           coalesce(sum(CASE WHEN state = 'synced' THEN bytes END), 0) AS syncedBytes,
           coalesce(sum(CASE WHEN state = 'synced' THEN sync_duration_ms END), 0) AS syncMs
         FROM batches`,
      )
      .get() as BatchTotals;
    return row;
  }

  driveActivity(): DriveActivity[] {
    return this.#db
      .prepare(
        `WITH d AS (SELECT drive FROM copies WHERE drive IS NOT NULL UNION SELECT drive FROM batches)
         SELECT d.drive,
           (SELECT count(*) FROM copies c WHERE c.drive = d.drive AND c.state = 'committed') AS committed,
           (SELECT coalesce(sum(c.size), 0) FROM copies c WHERE c.drive = d.drive AND c.state = 'committed') AS bytes,
           (SELECT count(*) FROM batches b WHERE b.drive = d.drive AND b.state = 'synced') AS syncedBatches,
           (SELECT count(*) FROM batches b WHERE b.drive = d.drive AND b.state = 'failed') AS failedBatches,
           (SELECT coalesce(sum(b.image_count), 0) FROM batches b WHERE b.drive = d.drive AND b.state = 'synced') AS syncedImages
         FROM d ORDER BY d.drive`,
      )
      .all() as DriveActivity[];
  }

  /** Attempts beyond the first, over every copy. */
  retries(): number {
    const row = this.#db.prepare(`SELECT coalesce(sum(max(attempts - 1, 0)), 0) AS n FROM copies`).get() as {
      n: number;
    };
    return row.n;
  }

  drives(): DriveRow[] {
    return this.#db
      .prepare(
        `SELECT id, sync_count AS syncCount, sync_cost_s AS syncCostS, bytes_written AS bytesWritten,
                error_count AS errorCount FROM drives ORDER BY id`,
      )
      .all() as DriveRow[];
  }
}
