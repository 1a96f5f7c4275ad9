/**
 * Drives: registration, heartbeats, and the measured history the sync policy feeds on (sync cost, bytes,
 * errors).
 * These functions are the internals of `Catalog`; they take its `Store`.
 */
import { type DriveRow, toDrive } from './rows';
import { notFound, type Store } from './store';
import type { CopyFailure, DriveRecord } from './types';
import * as check from './validate';

export function registerDrive(s: Store, driveId: string, spec: string): DriveRecord {
  const id = check.nonEmptyString(driveId, 'driveId', 256);
  const driveSpec = check.nonEmptyString(spec, 'spec', 4096);
  s.stmt(
    `INSERT INTO drives (id, spec, registered_at) VALUES (?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET spec = excluded.spec`,
  ).run(id, driveSpec, s.now());
  return toDrive(s.driveRow(id));
}

export function heartbeat(s: Store, driveId: string): void {
  if (s.stmt('UPDATE drives SET last_heartbeat = ? WHERE id = ?').run(s.now(), driveId).changes === 0) {
    throw notFound('drive', driveId);
  }
}

export function recordSync(s: Store, driveId: string, seconds: number, bytes: number): DriveRecord {
  const secs = check.finiteNumber(seconds, 'seconds', 0);
  const b = check.integer(bytes, 'bytes', 0);
  return s.db
    .transaction(() => {
      recordSyncRow(s, driveId, secs, b);
      return toDrive(s.driveRow(driveId));
    })
    .immediate();
}

export function recordError(
  s: Store,
  driveId: string,
  medium: string | null,
  bytesSinceLastError: number,
): DriveRecord {
  const b = check.integer(bytesSinceLastError, 'bytesSinceLastError', 0);
  return s.db
    .transaction(() => {
      recordErrorRow(s, driveId, medium, b, null);
      return toDrive(s.driveRow(driveId));
    })
    .immediate();
}

export function getDrive(s: Store, driveId: string): DriveRecord {
  return toDrive(s.driveRow(driveId));
}

export function listDrives(s: Store): DriveRecord[] {
  return s.stmt<DriveRow>('SELECT * FROM drives ORDER BY id').all().map(toDrive);
}

export function recordSyncRow(s: Store, driveId: string, seconds: number, bytes: number): void {
  const drive = s.driveRow(driveId);
  const alpha = s.options.syncCostAlpha;
  const cost = drive.sync_cost_s === null ? seconds : alpha * seconds + (1 - alpha) * drive.sync_cost_s;
  s.stmt(
    `UPDATE drives SET sync_cost_s = ?, sync_count = sync_count + 1, bytes_written = bytes_written + ?,
       bytes_since_error = bytes_since_error + ? WHERE id = ?`,
  ).run(cost, bytes, bytes, driveId);
}

export function recordErrorRow(
  s: Store,
  driveId: string,
  medium: string | null,
  bytesSinceLastError: number,
  failure: CopyFailure | null,
): void {
  const drive = s.driveRow(driveId);
  const alpha = s.options.errorIntervalAlpha;
  const mean =
    drive.mean_bytes_between_errors === null
      ? bytesSinceLastError
      : alpha * bytesSinceLastError + (1 - alpha) * drive.mean_bytes_between_errors;
  const now = s.now();
  s.stmt(
    `UPDATE drives SET error_count = error_count + 1, mean_bytes_between_errors = ?, bytes_since_error = 0,
       last_error_at = ? WHERE id = ?`,
  ).run(mean, now, driveId);
  if (medium !== null) {
    const changed = s
      .stmt(
        'UPDATE media SET error_count = error_count + 1, last_error = ?, updated_at = ? WHERE barcode = ?',
      )
      .run(failure === null ? null : JSON.stringify(failure), now, medium).changes;
    if (changed === 0) throw notFound('medium', medium);
  }
}
