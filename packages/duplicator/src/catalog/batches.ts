/**
 * Batches (everything a drive wrote since its last good sync) and the commit of a good sync: the only path
 * by which a copy becomes `committed`.
 * These functions are the internals of `Catalog`; they take its `Store`.
 */
import { assertTransition } from './copy-state';
import { recordSyncRow } from './drives';
import { CatalogError } from './errors';
import { finishRequestIfDone } from './requests';
import { type BatchRow, type CopyRow, type MediumRow, toBatch } from './rows';

import { type Store, whereClause } from './store';
import type {
  BatchRecord,
  BatchState,
  CommitBatchInput,
  FragmentInput,
  ImageKind,
  Page,
  TapePosition,
} from './types';
import * as check from './validate';

export function openBatch(s: Store, driveId: string, medium: string): BatchRecord {
  return s.db
    .transaction(() => {
      s.driveRow(driveId);
      const m = s.mediumRow(medium);
      if (m.state !== 'active') {
        throw new CatalogError('MEDIUM_UNAVAILABLE', `medium ${medium} is ${m.state}`, {
          entity: 'medium',
          id: medium,
          details: { state: m.state },
        });
      }
      const open = s
        .stmt<{ id: number }>("SELECT id FROM batches WHERE drive = ? AND state = 'open'")
        .get(driveId);
      if (open !== undefined) {
        throw new CatalogError('DUPLICATE', `drive ${driveId} already has open batch ${open.id}`, {
          entity: 'batch',
          id: open.id,
          details: { drive: driveId },
        });
      }
      const id = Number(
        s
          .stmt("INSERT INTO batches (drive, medium, state, opened_at) VALUES (?, ?, 'open', ?)")
          .run(driveId, medium, s.now()).lastInsertRowid,
      );
      s.event('batch', String(id), null, 'open', { drive: driveId, medium });
      return toBatch(s.batchRow(id));
    })
    .immediate();
}

export function getBatch(s: Store, batchId: number): BatchRecord {
  return toBatch(s.batchRow(batchId));
}

export function openBatchOf(s: Store, driveId: string): BatchRecord | null {
  const row = s.stmt<BatchRow>("SELECT * FROM batches WHERE drive = ? AND state = 'open'").get(driveId);
  return row === undefined ? null : toBatch(row);
}

export function listBatches(
  s: Store,
  filter: { drive?: string; state?: BatchState } & Page = {},
): BatchRecord[] {
  const { limit, offset } = s.page(filter);
  const { where, params } = whereClause([
    ['drive = ?', filter.drive],
    ['state = ?', filter.state],
  ]);
  const sql = `SELECT * FROM batches ${where}
               ORDER BY id LIMIT ? OFFSET ?`;
  return s
    .stmt<BatchRow>(sql)
    .all(...params, limit, offset)
    .map(toBatch);
}

export function commitBatch(s: Store, batchId: number, input: CommitBatchInput): BatchRecord {
  const body = check.plainObject(input, 'commit');
  const after = check.position(body.positionAfterSync, 'commit.positionAfterSync');
  const syncDurationMs = check.finiteNumber(body.syncDurationMs, 'commit.syncDurationMs', 0);
  const entries = check.array(body.committed, 'commit.committed', (value, field) => {
    const e = check.plainObject(value, field);
    return {
      copyId: check.integer(e.copyId, `${field}.copyId`, 1),
      medium: check.nonEmptyString(e.medium, `${field}.medium`, 64),
      fileNumber: check.integer(e.fileNumber, `${field}.fileNumber`, 0),
      blockAddress: check.integer(e.blockAddress, `${field}.blockAddress`, 0),
      sha256: check.sha256(e.sha256, `${field}.sha256`),
      fragments:
        e.fragments === undefined
          ? undefined
          : check.array(e.fragments, `${field}.fragments`, check.fragment),
    };
  });
  return s.db
    .transaction(() => {
      const batch = s.openBatchRow(batchId);
      const medium = s.mediumRow(batch.medium);
      const last = { fileNumber: medium.last_file_number, blockAddress: medium.last_block_address };
      if (after.fileNumber < last.fileNumber || after.blockAddress < last.blockAddress) {
        throw new CatalogError(
          'BAD_POSITION',
          `position after sync is before the committed end of ${medium.barcode}`,
          {
            entity: 'batch',
            id: batchId,
            details: { after, lastCommitted: last },
          },
        );
      }
      const pending = new Map(
        s
          .stmt<CopyRow>("SELECT * FROM copies_v WHERE batch = ? AND state = 'written-pending-sync'")
          .all(batchId)
          .map((row) => [row.id, row]),
      );
      const named = new Set<number>();
      for (const entry of entries) {
        if (named.has(entry.copyId)) {
          throw new CatalogError('DUPLICATE', `copy ${entry.copyId} is listed twice`, {
            entity: 'copy',
            id: entry.copyId,
          });
        }
        named.add(entry.copyId);
        if (!pending.has(entry.copyId)) {
          const state = s
            .stmt<{ state: string; batch: number | null }>('SELECT state, batch FROM copies WHERE id = ?')
            .get(entry.copyId);
          throw new CatalogError(
            'NOT_IN_BATCH',
            `copy ${entry.copyId} is not written-pending-sync in batch ${batchId}`,
            {
              entity: 'copy',
              id: entry.copyId,
              details: { batch: batchId, state: state?.state ?? null, copyBatch: state?.batch ?? null },
            },
          );
        }
      }
      const missing = [...pending.keys()].filter((id) => !named.has(id));
      if (missing.length > 0) {
        throw new CatalogError(
          'INCOMPLETE_COMMIT',
          `batch ${batchId} commit leaves copies ${missing.join(', ')} pending`,
          {
            entity: 'batch',
            id: batchId,
            details: { missing },
          },
        );
      }
      const now = s.now();
      const insertFragment = s.stmt(
        `INSERT INTO fragments (copy, sequence, medium, file_number, block_address, offset, length)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      let committedBytes = 0;
      for (const entry of entries) {
        const copy = pending.get(entry.copyId)!;
        const fragments = checkFragments(s, copy, entry, batch, last, after);
        if (copy.sha256 !== null && copy.sha256 !== entry.sha256) {
          throw new CatalogError(
            'CHECKSUM_MISMATCH',
            `copy ${copy.id} reported two different SHA-256 values`,
            {
              entity: 'copy',
              id: copy.id,
              details: { written: copy.sha256, committed: entry.sha256 },
            },
          );
        }
        const total = fragments.reduce((sum, f) => sum + f.length, 0);
        s.stmt('DELETE FROM fragments WHERE copy = ?').run(copy.id);
        for (const [sequence, f] of fragments.entries()) {
          insertFragment.run(copy.id, sequence, f.medium, f.fileNumber, f.blockAddress, f.offset, f.length);
        }
        committedBytes += fragments
          .filter((f) => f.medium === batch.medium)
          .reduce((s, f) => s + f.length, 0);
        assertTransition(copy.id, copy.state, 'committed');
        s.stmt(
          `UPDATE copies SET state = 'committed', medium = ?, file_number = ?, block_address = ?, sha256 = ?,
             written_bytes = ?, committed_at = ?, updated_at = ?
           WHERE id = ? AND state = 'written-pending-sync' AND batch = ?`,
        ).run(
          entry.medium,
          entry.fileNumber,
          entry.blockAddress,
          entry.sha256,
          total,
          now,
          now,
          copy.id,
          batchId,
        );
        s.event('copy', String(copy.id), 'written-pending-sync', 'committed', {
          batch: batchId,
          medium: entry.medium,
          fileNumber: entry.fileNumber,
          blockAddress: entry.blockAddress,
          fragments: fragments.length,
        });
      }
      s.stmt(
        "UPDATE batches SET state = 'synced', synced_at = ?, sync_duration_ms = ? WHERE id = ? AND state = 'open'",
      ).run(now, syncDurationMs, batchId);
      s.stmt(
        `UPDATE media SET last_file_number = ?, last_block_address = ?, committed_bytes = committed_bytes + ?,
           bytes_written = bytes_written + ?, updated_at = ? WHERE barcode = ?`,
      ).run(after.fileNumber, after.blockAddress, committedBytes, batch.bytes, now, batch.medium);
      recordSyncRow(s, batch.drive, syncDurationMs / 1000, batch.bytes);
      s.event('batch', String(batchId), 'open', 'synced', {
        committed: entries.length,
        positionAfterSync: after,
        syncDurationMs,
      });
      for (const request of new Set([...pending.values()].map((c) => c.request)))
        finishRequestIfDone(s, request);
      return toBatch(s.batchRow(batchId));
    })
    .immediate();
}

/**
 * The medium's committed end when the copy's current attempt started writing: the position after the last
 * sync recorded on that medium before then (the data area's start when there was none). A copy's data can
 * never lie before it; it may lie before the medium's committed end now, when the copy was multiplexed into a
 * fragment that a sync ended for another image while this one went on (its trailer in a later fragment).
 */
function committedEndWhenStarted(s: Store, copy: CopyRow, medium: string): TapePosition {
  const started = s
    .stmt<{ id: number | null }>(
      "SELECT MAX(id) AS id FROM events WHERE entity = 'copy' AND subject = ? AND to_state = 'writing'",
    )
    .get(String(copy.id))?.id;
  // No record of the attempt starting: nothing may lie inside committed data.
  if (started === undefined || started === null) {
    return { fileNumber: Number.MAX_SAFE_INTEGER, blockAddress: Number.MAX_SAFE_INTEGER };
  }
  const row = s
    .stmt<{ detail: string | null }>(
      `SELECT ev.detail FROM events ev JOIN batches b ON ev.entity = 'batch' AND ev.subject = CAST(b.id AS TEXT)
       WHERE b.medium = ? AND ev.to_state = 'synced' AND ev.id < ? ORDER BY ev.id DESC LIMIT 1`,
    )
    .get(medium, started);
  const at =
    row?.detail == null
      ? undefined
      : (JSON.parse(row.detail) as { positionAfterSync?: TapePosition }).positionAfterSync;
  return at ?? { fileNumber: 0, blockAddress: 0 };
}

/**
 * Checks a committed copy's fragments against the batch and the media, and returns them (the implied single
 * fragment when none were given). Throws `BAD_FRAGMENTS` or `BAD_POSITION`.
 */
export function checkFragments(
  s: Store,
  copy: CopyRow,
  entry: {
    copyId: number;
    medium: string;
    fileNumber: number;
    blockAddress: number;
    fragments: FragmentInput[] | undefined;
  },
  batch: BatchRow,
  last: TapePosition,
  after: TapePosition,
): FragmentInput[] {
  const fragments = entry.fragments ?? [
    {
      medium: entry.medium,
      fileNumber: entry.fileNumber,
      blockAddress: entry.blockAddress,
      offset: 0,
      length: copy.written_bytes ?? copy.size,
    },
  ];
  const fail = (
    code: 'BAD_FRAGMENTS' | 'BAD_POSITION',
    message: string,
    details: Record<string, unknown> = {},
  ) => new CatalogError(code, `copy ${copy.id}: ${message}`, { entity: 'copy', id: copy.id, details });
  const first = fragments[0];
  const final = fragments[fragments.length - 1];
  if (first === undefined || final === undefined) throw fail('BAD_FRAGMENTS', 'has no fragments');
  if (
    first.medium !== entry.medium ||
    first.fileNumber !== entry.fileNumber ||
    first.blockAddress !== entry.blockAddress
  ) {
    throw fail('BAD_FRAGMENTS', 'its position is not that of its first fragment', { first, entry });
  }
  if (final.medium !== batch.medium) {
    throw fail('BAD_FRAGMENTS', `its last fragment is not on the batch medium ${batch.medium}`, {
      last: final,
    });
  }
  let expectedOffset = 0;
  for (const [index, f] of fragments.entries()) {
    if (f.offset !== expectedOffset) {
      throw fail('BAD_FRAGMENTS', `fragment ${index} starts at byte ${f.offset}, expected ${expectedOffset}`);
    }
    expectedOffset += f.length;
    if (f.medium === batch.medium) {
      // Data of this batch lies after the medium's committed end and before the position the sync confirmed.
      // An earlier fragment of a multiplexed copy may precede the committed end: a sync ended the fragment it
      // shared with an image that completed there, so it is covered by that earlier sync.
      // An earlier fragment of the copy may lie inside committed data (a later sync covered it); its last one
      // may too when it began before the committed end as it stood when the copy started (an MPX fragment a
      // sync ended for another image while this one went on), never before that.
      const earlier = index < fragments.length - 1;
      const before = (p: TapePosition) => f.fileNumber < p.fileNumber || f.blockAddress < p.blockAddress;
      if (!earlier && before(last) && before(committedEndWhenStarted(s, copy, f.medium))) {
        throw fail('BAD_POSITION', `fragment ${index} lies inside committed data`, {
          fragment: f,
          lastCommitted: last,
        });
      }
      if (f.fileNumber > after.fileNumber || f.blockAddress >= after.blockAddress) {
        throw fail('BAD_POSITION', `fragment ${index} lies beyond the position after the sync`, {
          fragment: f,
          after,
        });
      }
    } else {
      // A fragment on an earlier medium of a spanned copy must already be covered by a sync on that medium.
      const other = s.stmt<MediumRow>('SELECT * FROM media WHERE barcode = ?').get(f.medium);
      if (other === undefined)
        throw fail('BAD_FRAGMENTS', `fragment ${index} names unknown medium ${f.medium}`);
      if (f.blockAddress >= other.last_block_address || f.fileNumber > other.last_file_number) {
        throw fail('BAD_POSITION', `fragment ${index} on ${f.medium} is not covered by a sync`, {
          fragment: f,
          lastCommitted: { fileNumber: other.last_file_number, blockAddress: other.last_block_address },
        });
      }
    }
  }
  const image = s.stmt<{ kind: ImageKind }>('SELECT kind FROM images WHERE id = ?').get(copy.image);
  if (image?.kind === 'disk' && expectedOffset !== copy.size) {
    throw fail('BAD_FRAGMENTS', `fragments hold ${expectedOffset} bytes of a ${copy.size}-byte image`, {
      bytes: expectedOffset,
      size: copy.size,
    });
  }
  return fragments;
}
