/**
 * Copies on their way to tape: the work queue, `queued | retrying → writing → written-pending-sync`, and
 * the read side for the CLI (copies, images, fragments).
 * These functions are the internals of `Catalog`; they take its `Store`.
 */
import { assertTransition, type CopyState } from './copy-state';
import { CatalogError } from './errors';
import {
  type CopyRow,
  type FragmentRow,
  type ImageRow,
  type QueuedRow,
  toCopy,
  toFragment,
  toImage,
  toQueued,
} from './rows';
import { notFound, type Store, whereClause } from './store';
import type {
  CopyRecord,
  FragmentRecord,
  ImageKind,
  ImageRecord,
  MarkWrittenInput,
  Page,
  QueuedCopy,
  QueueFilter,
} from './types';
import * as check from './validate';

export function nextQueued(s: Store, limit: number, filter: QueueFilter = {}): QueuedCopy[] {
  const n = check.integer(limit, 'limit', 1, 100_000);
  const where = ["c.state IN ('queued', 'retrying')"];
  const params: unknown[] = [];
  if (filter.pool !== undefined) {
    where.push('r.pool = ?');
    params.push(check.nonEmptyString(filter.pool, 'filter.pool'));
  }
  if (filter.requestId !== undefined) {
    where.push('r.id = ?');
    params.push(check.nonEmptyString(filter.requestId, 'filter.requestId'));
  }
  if (filter.kind !== undefined) {
    where.push('i.kind = ?');
    params.push(check.imageKind(filter.kind, 'filter.kind'));
  }
  const sql = `SELECT c.id, c.image, r.id AS request, i.backup_id, c.copy_number, c.state, c.priority, c.size, i.kind,
                      i.source, r.pool, r.deadline, c.attempts, c.errors
               FROM copies c INDEXED BY copies_waiting
               JOIN images i ON i.id = c.image JOIN requests r ON r.seq = c.request
               WHERE ${where.join(' AND ')}
               ORDER BY c.priority DESC, c.id LIMIT ?`;
  const rows = s.stmt<QueuedRow>(sql).all(...params, n);
  const siblings = siblingMedia(s, rows);
  return rows.map((row) => toQueued(row, siblings.get(row.id) ?? []));
}

/**
 * For each waiting copy, the media that hold or are receiving another copy of the same image (every
 * fragment's medium for committed copies, so a spanned sibling excludes all its cartridges).
 */
function siblingMedia(s: Store, rows: readonly QueuedRow[]): Map<number, string[]> {
  const result = new Map<number, string[]>();
  if (rows.length === 0) return result;
  // One query for the whole page; the image ids travel as a JSON array to stay clear of parameter limits.
  const images = JSON.stringify([...new Set(rows.map((r) => r.image))]);
  const found = s
    .stmt<{ id: number; image: number; medium: string }>(
      `SELECT c.id, c.image, c.medium FROM copies c
       WHERE c.image IN (SELECT value FROM json_each(?)) AND c.medium IS NOT NULL
         AND c.state IN ('writing', 'written-pending-sync', 'committed')
       UNION
       SELECT c.id, c.image, f.medium FROM copies c JOIN fragments f ON f.copy = c.id
       WHERE c.image IN (SELECT value FROM json_each(?)) AND c.state = 'committed'`,
    )
    .all(images, images);
  const byImage = new Map<number, { id: number; medium: string }[]>();
  for (const f of found) byImage.set(f.image, [...(byImage.get(f.image) ?? []), f]);
  for (const row of rows) {
    const media = new Set((byImage.get(row.image) ?? []).filter((f) => f.id !== row.id).map((f) => f.medium));
    if (media.size > 0) result.set(row.id, [...media].sort());
  }
  return result;
}

export function startWriting(s: Store, copyId: number, driveId: string, medium: string): CopyRecord {
  return s.db
    .transaction(() => {
      const copy = s.copyRow(copyId);
      assertTransition(copyId, copy.state, 'writing');
      s.driveRow(driveId);
      const m = s.mediumRow(medium);
      if (m.state !== 'active') {
        throw new CatalogError('MEDIUM_UNAVAILABLE', `medium ${medium} is ${m.state}`, {
          entity: 'medium',
          id: medium,
          details: { state: m.state },
        });
      }
      const sibling = s
        .stmt(
          `SELECT id FROM copies WHERE image = ? AND id <> ? AND medium = ?
         AND state IN ('writing', 'written-pending-sync', 'committed')`,
        )
        .get(copy.image, copyId, medium);
      if (sibling !== undefined) {
        throw new CatalogError('SAME_MEDIUM', `another copy of image ${copy.image} is on medium ${medium}`, {
          entity: 'copy',
          id: copyId,
          details: { medium, image: copy.image },
        });
      }
      s.stmt(
        `UPDATE copies SET state = 'writing', drive = ?, medium = ?, batch = NULL, file_number = NULL,
           block_address = NULL, written_bytes = NULL, sha256 = NULL, updated_at = ?
         WHERE id = ? AND state = ?`,
      ).run(driveId, medium, s.now(), copyId, copy.state);
      s.event('copy', String(copyId), copy.state, 'writing', { drive: driveId, medium });
      return toCopy(s.copyRow(copyId));
    })
    .immediate();
}

export function markWritten(
  s: Store,
  copyId: number,
  batchId: number,
  written: MarkWrittenInput,
): CopyRecord {
  const w = check.plainObject(written, 'written');
  const pos = check.position(w, 'written');
  const bytes = check.integer(w.bytes, 'written.bytes', 0);
  const sha = w.sha256 === undefined ? null : check.sha256(w.sha256, 'written.sha256');
  return s.db
    .transaction(() => {
      const copy = s.copyRow(copyId);
      assertTransition(copyId, copy.state, 'written-pending-sync');
      const batch = s.openBatchRow(batchId);
      if (copy.drive !== batch.drive) {
        throw new CatalogError(
          'DRIVE_MISMATCH',
          `copy ${copyId} is on drive ${copy.drive}, batch ${batchId} on ${batch.drive}`,
          {
            entity: 'copy',
            id: copyId,
            details: { copyDrive: copy.drive, batchDrive: batch.drive },
          },
        );
      }
      s.stmt(
        `UPDATE copies SET state = 'written-pending-sync', batch = ?, medium = ?, file_number = ?,
           block_address = ?, written_bytes = ?, sha256 = ?, updated_at = ?
         WHERE id = ? AND state = 'writing'`,
      ).run(batchId, batch.medium, pos.fileNumber, pos.blockAddress, bytes, sha, s.now(), copyId);
      s.stmt('UPDATE batches SET bytes = bytes + ?, image_count = image_count + 1 WHERE id = ?').run(
        bytes,
        batchId,
      );
      s.event('copy', String(copyId), 'writing', 'written-pending-sync', {
        batch: batchId,
        ...pos,
        bytes,
      });
      return toCopy(s.copyRow(copyId));
    })
    .immediate();
}

export function getCopy(s: Store, copyId: number): CopyRecord {
  return toCopy(s.copyRow(copyId));
}

export function listCopies(
  s: Store,
  filter: {
    requestId?: string;
    imageId?: number;
    state?: CopyState;
    medium?: string;
    batch?: number;
    drive?: string;
  } & Page = {},
): CopyRecord[] {
  const { limit, offset } = s.page(filter);
  const { where, params } = whereClause([
    ['request = ?', filter.requestId],
    ['image = ?', filter.imageId],
    ['state = ?', filter.state],
    ['medium = ?', filter.medium],
    ['batch = ?', filter.batch],
    ['drive = ?', filter.drive],
  ]);
  const sql = `SELECT * FROM copies_v ${where}
               ORDER BY id LIMIT ? OFFSET ?`;
  return s
    .stmt<CopyRow>(sql)
    .all(...params, limit, offset)
    .map(toCopy);
}

export function getImage(s: Store, imageId: number): ImageRecord {
  const row = s.stmt<ImageRow>('SELECT * FROM images_v WHERE id = ?').get(imageId);
  if (row === undefined) throw notFound('image', imageId);
  return toImage(row);
}

export function listImages(
  s: Store,
  filter: { requestId?: string; kind?: ImageKind } & Page = {},
): ImageRecord[] {
  const { limit, offset } = s.page(filter);
  const { where, params } = whereClause([
    ['request = ?', filter.requestId],
    ['kind = ?', filter.kind],
  ]);
  const sql = `SELECT * FROM images_v ${where}
               ORDER BY id LIMIT ? OFFSET ?`;
  return s
    .stmt<ImageRow>(sql)
    .all(...params, limit, offset)
    .map(toImage);
}

export function listFragments(s: Store, filter: { copyId: number } | { medium: string }): FragmentRecord[] {
  const rows =
    'copyId' in filter
      ? s.stmt<FragmentRow>('SELECT * FROM fragments WHERE copy = ? ORDER BY sequence').all(filter.copyId)
      : s
          .stmt<FragmentRow>(
            'SELECT * FROM fragments WHERE medium = ? ORDER BY file_number, block_address, copy, sequence',
          )
          .all(filter.medium);
  return rows.map(toFragment);
}
