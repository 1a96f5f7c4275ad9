import type { Database } from 'better-sqlite3';
import { CatalogError } from './errors';

/**
 * One schema step. Migrations are append-only: a released step is never edited, a change is a new step.
 * `PRAGMA user_version` holds the number of the last step applied.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

const V1 = `
-- Requests carry a client-visible text id; other tables refer to the compact integer \`seq\`, which keeps
-- their indexes small (a 100,000-image submit touches several index entries per image).
CREATE TABLE requests (
  seq          INTEGER PRIMARY KEY,
  id           TEXT NOT NULL UNIQUE,
  state        TEXT NOT NULL CHECK (state IN ('active', 'completed', 'failed', 'cancelled')),
  pool         TEXT NOT NULL,
  priority     INTEGER NOT NULL,
  deadline     INTEGER,
  copies       INTEGER NOT NULL CHECK (copies >= 1),
  policy       TEXT,
  max_attempts INTEGER,
  submitted_at INTEGER NOT NULL,
  finished_at  INTEGER
);
CREATE INDEX requests_state ON requests (state);

CREATE TABLE images (
  id        INTEGER PRIMARY KEY,
  request   INTEGER NOT NULL REFERENCES requests (seq),
  backup_id TEXT NOT NULL,
  size      INTEGER NOT NULL CHECK (size >= 0),
  kind      TEXT NOT NULL CHECK (kind IN ('disk', 'stream')),
  source    TEXT,
  priority  INTEGER NOT NULL,
  UNIQUE (request, backup_id)
);

CREATE TABLE drives (
  id                        TEXT PRIMARY KEY,
  spec                      TEXT NOT NULL,
  sync_cost_s               REAL,
  sync_count                INTEGER NOT NULL DEFAULT 0,
  bytes_written             INTEGER NOT NULL DEFAULT 0,
  error_count               INTEGER NOT NULL DEFAULT 0,
  bytes_since_error         INTEGER NOT NULL DEFAULT 0,
  mean_bytes_between_errors REAL,
  last_error_at             INTEGER,
  last_heartbeat            INTEGER,
  registered_at             INTEGER NOT NULL
);

CREATE TABLE media (
  barcode            TEXT PRIMARY KEY,
  pool               TEXT NOT NULL,
  state              TEXT NOT NULL CHECK (state IN ('scratch', 'active', 'full', 'frozen')),
  last_file_number   INTEGER NOT NULL DEFAULT 0,
  last_block_address INTEGER NOT NULL DEFAULT 0,
  committed_bytes    INTEGER NOT NULL DEFAULT 0,
  bytes_written      INTEGER NOT NULL DEFAULT 0,
  error_count        INTEGER NOT NULL DEFAULT 0,
  last_error         TEXT,
  updated_at         INTEGER NOT NULL
);
CREATE INDEX media_pool_state ON media (pool, state, barcode);

CREATE TABLE batches (
  id               INTEGER PRIMARY KEY,
  drive            TEXT NOT NULL REFERENCES drives (id),
  medium           TEXT NOT NULL REFERENCES media (barcode),
  state            TEXT NOT NULL CHECK (state IN ('open', 'synced', 'failed')),
  opened_at        INTEGER NOT NULL,
  synced_at        INTEGER,
  failed_at        INTEGER,
  bytes            INTEGER NOT NULL DEFAULT 0,
  image_count      INTEGER NOT NULL DEFAULT 0,
  sync_duration_ms REAL,
  failure          TEXT
);
-- One open batch per drive: the batch is everything since that drive's last good sync.
CREATE UNIQUE INDEX batches_open_per_drive ON batches (drive) WHERE state = 'open';

CREATE TABLE copies (
  id            INTEGER PRIMARY KEY,
  image         INTEGER NOT NULL REFERENCES images (id),
  request       INTEGER NOT NULL REFERENCES requests (seq),
  copy_number   INTEGER NOT NULL CHECK (copy_number >= 1),
  state         TEXT NOT NULL CHECK (state IN ('queued', 'writing', 'written-pending-sync', 'committed',
                                               'failed', 'retrying', 'abandoned', 'cancelled')),
  priority      INTEGER NOT NULL,
  size          INTEGER NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  last_error    TEXT,
  errors        TEXT,
  drive         TEXT REFERENCES drives (id),
  medium        TEXT REFERENCES media (barcode),
  batch         INTEGER REFERENCES batches (id),
  file_number   INTEGER,
  block_address INTEGER,
  written_bytes INTEGER,
  sha256        TEXT,
  queued_at     INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  committed_at  INTEGER,
  UNIQUE (image, copy_number),
  -- A committed copy always has its position and checksum.
  CHECK (state <> 'committed' OR (medium IS NOT NULL AND file_number IS NOT NULL
                                  AND block_address IS NOT NULL AND sha256 IS NOT NULL))
);
-- The work queue: small (only waiting copies) and already in dispatch order.
CREATE INDEX copies_waiting ON copies (priority DESC, id) WHERE state IN ('queued', 'retrying');
-- Writer death and restart recovery look up what is in flight per drive.
CREATE INDEX copies_in_flight ON copies (drive) WHERE state IN ('writing', 'written-pending-sync');
CREATE INDEX copies_batch ON copies (batch) WHERE batch IS NOT NULL;
CREATE INDEX copies_request ON copies (request, id);
CREATE INDEX copies_medium ON copies (medium) WHERE medium IS NOT NULL;

CREATE TABLE fragments (
  copy          INTEGER NOT NULL REFERENCES copies (id),
  sequence      INTEGER NOT NULL CHECK (sequence >= 0),
  medium        TEXT NOT NULL REFERENCES media (barcode),
  file_number   INTEGER NOT NULL,
  block_address INTEGER NOT NULL,
  offset        INTEGER NOT NULL CHECK (offset >= 0),
  length        INTEGER NOT NULL CHECK (length >= 0),
  PRIMARY KEY (copy, sequence)
) WITHOUT ROWID;
CREATE INDEX fragments_medium ON fragments (medium, file_number, block_address);

-- Copies and bytes per request and state, so status() never scans copies. State changes are counted by
-- triggers; inserts are counted by the one code path that inserts copies (submit), once per request,
-- because a per-row insert trigger would dominate the cost of a large submit.
CREATE TABLE copy_counts (
  request INTEGER NOT NULL,
  state   TEXT NOT NULL,
  copies  INTEGER NOT NULL,
  bytes   INTEGER NOT NULL,
  PRIMARY KEY (request, state)
) WITHOUT ROWID;

CREATE TRIGGER copies_count_update AFTER UPDATE OF state ON copies WHEN OLD.state <> NEW.state BEGIN
  UPDATE copy_counts SET copies = copies - 1, bytes = bytes - OLD.size
    WHERE request = OLD.request AND state = OLD.state;
  INSERT INTO copy_counts (request, state, copies, bytes) VALUES (NEW.request, NEW.state, 1, NEW.size)
    ON CONFLICT (request, state) DO UPDATE SET copies = copies + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER copies_count_delete AFTER DELETE ON copies BEGIN
  UPDATE copy_counts SET copies = copies - 1, bytes = bytes - OLD.size
    WHERE request = OLD.request AND state = OLD.state;
END;

-- Reading views that show the request's text id.
CREATE VIEW copies_v AS
  SELECT c.id, c.image, r.id AS request, c.copy_number, c.state, c.priority, c.size, c.attempts, c.last_error,
         c.errors, c.drive, c.medium, c.batch, c.file_number, c.block_address, c.written_bytes, c.sha256,
         c.queued_at, c.updated_at, c.committed_at
  FROM copies c JOIN requests r ON r.seq = c.request;
CREATE VIEW images_v AS
  SELECT i.id, r.id AS request, i.backup_id, i.size, i.kind, i.source, i.priority
  FROM images i JOIN requests r ON r.seq = i.request;

-- Audit log of state transitions with their reasons.
CREATE TABLE events (
  id         INTEGER PRIMARY KEY,
  at         INTEGER NOT NULL,
  entity     TEXT NOT NULL,
  subject    TEXT NOT NULL,
  from_state TEXT,
  to_state   TEXT,
  detail     TEXT
);
CREATE INDEX events_subject ON events (entity, subject, id);
`;

export const MIGRATIONS: readonly Migration[] = [{ version: 1, description: 'initial schema', sql: V1 }];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/**
 * Brings the database up to {@link SCHEMA_VERSION}, one step per transaction, in order.
 * Returns the versions applied. Refuses a database from a newer schema rather than guessing.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  if (current > latest) {
    throw new CatalogError(
      'SCHEMA_TOO_NEW',
      `catalog schema ${current} is newer than this program (${latest})`,
      {
        details: { found: current, supported: latest },
      },
    );
  }
  let previous = 0;
  for (const migration of migrations) {
    if (!Number.isSafeInteger(migration.version) || migration.version <= previous) {
      throw new CatalogError('INVALID_ARGUMENT', 'migration versions must be increasing integers', {
        field: 'migrations',
        details: { version: migration.version, previous },
      });
    }
    previous = migration.version;
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      // PRAGMA does not take bound parameters; the version is an integer from this file.
      db.pragma(`user_version = ${Math.trunc(migration.version)}`);
    }).immediate();
    applied.push(migration.version);
  }
  return applied;
}
