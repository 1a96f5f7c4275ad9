import type { CopyState } from './copy-state';
import type {
  BatchRecord,
  BatchState,
  CatalogEvent,
  CopyErrorEntry,
  CopyFailure,
  CopyRecord,
  DriveRecord,
  FragmentRecord,
  ImageKind,
  ImageRecord,
  JsonObject,
  JsonValue,
  MediumRecord,
  MediumState,
  QueuedCopy,
  RequestRecord,
  RequestState,
} from './types';

/** Raw rows as SQLite returns them, and their mapping to the public records. */

export interface RequestRow {
  seq: number;
  id: string;
  state: RequestState;
  pool: string;
  priority: number;
  deadline: number | null;
  copies: number;
  policy: string | null;
  max_attempts: number | null;
  submitted_at: number;
  finished_at: number | null;
}

export interface ImageRow {
  id: number;
  request: string;
  backup_id: string;
  size: number;
  kind: ImageKind;
  source: string | null;
  priority: number;
}

export interface CopyRow {
  id: number;
  image: number;
  request: string;
  copy_number: number;
  state: CopyState;
  priority: number;
  size: number;
  attempts: number;
  last_error: string | null;
  errors: string | null;
  drive: string | null;
  medium: string | null;
  batch: number | null;
  file_number: number | null;
  block_address: number | null;
  written_bytes: number | null;
  sha256: string | null;
  queued_at: number;
  updated_at: number;
  committed_at: number | null;
}

export interface QueuedRow {
  id: number;
  image: number;
  request: string;
  backup_id: string;
  copy_number: number;
  state: 'queued' | 'retrying';
  priority: number;
  size: number;
  kind: ImageKind;
  source: string | null;
  pool: string;
  deadline: number | null;
  attempts: number;
  errors: string | null;
}

export interface BatchRow {
  id: number;
  drive: string;
  medium: string;
  state: BatchState;
  opened_at: number;
  synced_at: number | null;
  failed_at: number | null;
  bytes: number;
  image_count: number;
  sync_duration_ms: number | null;
  failure: string | null;
}

export interface MediumRow {
  barcode: string;
  pool: string;
  state: MediumState;
  last_file_number: number;
  last_block_address: number;
  committed_bytes: number;
  bytes_written: number;
  error_count: number;
  last_error: string | null;
  updated_at: number;
}

export interface DriveRow {
  id: string;
  spec: string;
  sync_cost_s: number | null;
  sync_count: number;
  bytes_written: number;
  error_count: number;
  bytes_since_error: number;
  mean_bytes_between_errors: number | null;
  last_error_at: number | null;
  last_heartbeat: number | null;
  registered_at: number;
}

export interface FragmentRow {
  copy: number;
  sequence: number;
  medium: string;
  file_number: number;
  block_address: number;
  offset: number;
  length: number;
}

export interface EventRow {
  id: number;
  at: number;
  entity: string;
  subject: string;
  from_state: string | null;
  to_state: string | null;
  detail: string | null;
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function toRequest(row: RequestRow): RequestRecord {
  return {
    id: row.id,
    state: row.state,
    pool: row.pool,
    priority: row.priority,
    deadline: row.deadline,
    copies: row.copies,
    policy: parseJson<JsonObject>(row.policy),
    maxAttempts: row.max_attempts,
    submittedAt: row.submitted_at,
    finishedAt: row.finished_at,
  };
}

export function toImage(row: ImageRow): ImageRecord {
  return {
    id: row.id,
    requestId: row.request,
    backupId: row.backup_id,
    size: row.size,
    kind: row.kind,
    source: parseJson<JsonValue>(row.source),
    priority: row.priority,
  };
}

export function toCopy(row: CopyRow): CopyRecord {
  return {
    id: row.id,
    imageId: row.image,
    requestId: row.request,
    copyNumber: row.copy_number,
    state: row.state,
    priority: row.priority,
    size: row.size,
    attempts: row.attempts,
    lastError: parseJson<CopyErrorEntry>(row.last_error),
    errors: parseJson<CopyErrorEntry[]>(row.errors) ?? [],
    drive: row.drive,
    medium: row.medium,
    batch: row.batch,
    fileNumber: row.file_number,
    blockAddress: row.block_address,
    writtenBytes: row.written_bytes,
    sha256: row.sha256,
    queuedAt: row.queued_at,
    updatedAt: row.updated_at,
    committedAt: row.committed_at,
  };
}

export function toQueued(row: QueuedRow, siblingMedia: readonly string[]): QueuedCopy {
  const errors = parseJson<CopyErrorEntry[]>(row.errors) ?? [];
  const failedMedia = [...new Set(errors.flatMap((e) => (e.medium === null ? [] : [e.medium])))];
  const failedDrives = [...new Set(errors.flatMap((e) => (e.drive === null ? [] : [e.drive])))];
  return {
    copyId: row.id,
    imageId: row.image,
    requestId: row.request,
    backupId: row.backup_id,
    copyNumber: row.copy_number,
    state: row.state,
    priority: row.priority,
    size: row.size,
    kind: row.kind,
    source: parseJson<JsonValue>(row.source),
    pool: row.pool,
    deadline: row.deadline,
    attempts: row.attempts,
    failedMedia,
    failedDrives,
    siblingMedia,
  };
}

export function toBatch(row: BatchRow): BatchRecord {
  return {
    id: row.id,
    drive: row.drive,
    medium: row.medium,
    state: row.state,
    openedAt: row.opened_at,
    syncedAt: row.synced_at,
    failedAt: row.failed_at,
    bytes: row.bytes,
    imageCount: row.image_count,
    syncDurationMs: row.sync_duration_ms,
    failure: parseJson<CopyFailure>(row.failure),
  };
}

export function toMedium(row: MediumRow): MediumRecord {
  return {
    barcode: row.barcode,
    pool: row.pool,
    state: row.state,
    lastCommitted: { fileNumber: row.last_file_number, blockAddress: row.last_block_address },
    committedBytes: row.committed_bytes,
    bytesWritten: row.bytes_written,
    errorCount: row.error_count,
    updatedAt: row.updated_at,
  };
}

export function toDrive(row: DriveRow): DriveRecord {
  return {
    id: row.id,
    spec: row.spec,
    syncCostSeconds: row.sync_cost_s,
    syncCount: row.sync_count,
    bytesWritten: row.bytes_written,
    errorCount: row.error_count,
    bytesSinceError: row.bytes_since_error,
    meanBytesBetweenErrors: row.mean_bytes_between_errors,
    errorRatePerByte: row.bytes_written > 0 ? row.error_count / row.bytes_written : 0,
    lastErrorAt: row.last_error_at,
    lastHeartbeat: row.last_heartbeat,
  };
}

export function toFragment(row: FragmentRow): FragmentRecord {
  return {
    copyId: row.copy,
    sequence: row.sequence,
    medium: row.medium,
    fileNumber: row.file_number,
    blockAddress: row.block_address,
    offset: row.offset,
    length: row.length,
  };
}

export function toEvent(row: EventRow): CatalogEvent {
  return {
    id: row.id,
    at: row.at,
    entity: row.entity,
    subject: row.subject,
    from: row.from_state,
    to: row.to_state,
    detail: parseJson<JsonValue>(row.detail),
  };
}
