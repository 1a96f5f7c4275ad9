/**
 * `batch-synced`: the writer's sync proved the copies it names. They are committed in the catalog
 * (`Catalog.commitBatch`) before `image-committed` is announced; a report that does not match what
 * is pending on the drive fails the drive's batch instead.
 */
import type { MessageOf } from '@tapedup/protocol';
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import { isCatalogError } from '../catalog';
import type { DriveState } from './drive-state';
import { failDrive } from './failures';
import { mediumState } from './media';
import { eventOutput } from './messages';
import type { Output } from './outputs';
import { plan } from './planning';
import { finishedRequests } from './request-done';
import type { CoordinatorState } from './state';
import { parseWireCopyId } from './wire-ids';

export function batchSynced(core: CoordinatorState, d: DriveState, m: MessageOf<'batch-synced'>): Output[] {
  const now = core.clock();
  let syncMs = d.lastSyncMs ?? 0;
  if (
    d.syncInFlight !== undefined &&
    (m.re === d.syncInFlight.msgId || m.batchId === d.syncInFlight.batchId)
  ) {
    syncMs = Math.max(0, now - d.syncInFlight.sentAt);
    d.syncInFlight = undefined;
  }
  // Copies of attempts already failed and requeued are not ours to commit (their reports are
  // ignored, as for copy-written); the sync says nothing about the copies in flight now.
  const stale = m.committed.filter((e) => !d.pending.has(e.copyId) && !d.outstanding.has(e.copyId));
  const committed = m.committed.filter((e) => !stale.includes(e));
  if (stale.length > 0) {
    core.log.warn(
      { driveId: d.id, batchId: m.batchId, stale: stale.map((e) => e.copyId) },
      'batch-synced names copies no longer in flight: ignored',
    );
  }
  const batch = core.catalog.openBatchOf(d.id);
  if (committed.length === 0 && stale.length > 0) return plan(core);
  if (batch === null) {
    if (committed.length === 0) {
      recordEmptySync(core, d, m.position, syncMs);
      return plan(core);
    }
    return failDrive(
      core,
      d,
      { code: 'COMMIT_REFUSED', reason: 'batch-synced names copies with no open batch' },
      { countAsDeviceError: false },
    );
  }
  const entries: {
    wire: string;
    copyId: number;
    medium: string;
    fileNumber: number;
    blockAddress: number;
    sha256: string;
    fragments?: {
      medium: string;
      fileNumber: number;
      blockAddress: number;
      offset: number;
      length: number;
    }[];
  }[] = [];
  for (const e of committed) {
    const parsed = parseWireCopyId(e.copyId);
    const known = d.pending.get(e.copyId);
    if (parsed === undefined || known === undefined) {
      return failDrive(
        core,
        d,
        { code: 'COMMIT_REFUSED', reason: `batch-synced names ${e.copyId}, not pending on this drive` },
        { countAsDeviceError: false },
      );
    }
    entries.push({
      wire: e.copyId,
      copyId: parsed.copyId,
      medium: e.medium,
      fileNumber: e.fileNumber,
      blockAddress: e.blockAddress,
      sha256: e.sha256,
      // MPX splits and continuations on another medium: every fragment goes to the catalog.
      ...(e.fragments === undefined ? {} : { fragments: e.fragments.map((f) => ({ ...f })) }),
    });
  }
  if (m.position.medium !== batch.medium) {
    return failDrive(
      core,
      d,
      { code: 'COMMIT_REFUSED', reason: `sync position on ${m.position.medium}, batch on ${batch.medium}` },
      { countAsDeviceError: false },
    );
  }
  try {
    core.catalog.commitBatch(batch.id, {
      committed: entries.map(({ wire: _w, ...rest }) => rest),
      positionAfterSync: { fileNumber: m.position.fileNumber, blockAddress: m.position.blockAddress },
      syncDurationMs: syncMs,
    });
  } catch (error) {
    if (!isCatalogError(error)) throw error;
    core.log.error(
      { driveId: d.id, batch: batch.id, code: error.code, err: error.message },
      'sync report refused by the catalog; batch failed',
    );
    return failDrive(
      core,
      d,
      { code: 'COMMIT_REFUSED', reason: `${error.code}: ${error.message}`.slice(0, 1000) },
      { countAsDeviceError: false },
    );
  }
  core.stats.observeSync(d.id, { seconds: syncMs / 1000 });
  core.log.info(
    { driveId: d.id, batch: batch.id, copies: entries.length, syncMs, position: m.position },
    'batch committed',
  );
  const out: Output[] = [];
  for (const e of entries) {
    const c = d.pending.get(e.wire)!;
    d.pending.delete(e.wire);
    out.push(
      eventOutput({
        v: PROTOCOL_VERSION,
        type: 'image-committed',
        id: core.ids.next('e'),
        at: now,
        requestId: c.requestId,
        backupId: c.backupId,
        copy: c.copy,
        driveId: d.id,
        medium: e.medium,
        fileNumber: e.fileNumber,
        blockAddress: e.blockAddress,
        bytes: c.written?.bytes ?? c.sizeBytes,
        sha256: e.sha256,
      }),
    );
  }
  d.lastSyncAt = now;
  out.push(...finishedRequests(core));
  out.push(...plan(core));
  return out;
}

/**
 * A sync that committed no copy still proves what is on the medium up to its position: at early
 * warning, the first fragment of an image that continues on the next cartridge. The medium's
 * committed end moves there, so that fragment counts as synced when the copy commits.
 */
function recordEmptySync(
  core: CoordinatorState,
  d: DriveState,
  position: MessageOf<'batch-synced'>['position'],
  syncMs: number,
): void {
  d.lastSyncAt = core.clock();
  try {
    if (mediumState(core, position.medium) !== 'active') return;
    const last = core.catalog.lastCommittedPosition(position.medium);
    if (position.blockAddress <= last.blockAddress) return;
    const batch = core.catalog.openBatch(d.id, position.medium);
    core.catalog.commitBatch(batch.id, {
      committed: [],
      positionAfterSync: { fileNumber: position.fileNumber, blockAddress: position.blockAddress },
      syncDurationMs: syncMs,
    });
    core.log.info({ driveId: d.id, position }, 'sync without copies: committed end of the medium moved');
  } catch (error) {
    if (!isCatalogError(error)) throw error;
    core.log.warn({ driveId: d.id, position, code: error.code }, 'sync position not recorded');
  }
}
