/**
 * `copy-written`: the writer put a copy on tape, not yet proven by a sync. The copy joins the
 * drive's open batch in the catalog and stays pending until a `batch-synced` covers it.
 */
import type { MessageOf } from '@tapedup/protocol';
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import { isCatalogError } from '../catalog';
import type { DriveState } from './drive-state';
import { failDrive } from './failures';
import { eventOutput } from './messages';
import type { Output } from './outputs';
import { plan } from './planning';
import type { CoordinatorState } from './state';
import { groupWritten } from './sync-groups';

export function copyWritten(core: CoordinatorState, d: DriveState, m: MessageOf<'copy-written'>): Output[] {
  const c = d.outstanding.get(m.copyId);
  if (c === undefined) {
    // A report about an attempt already failed and requeued: never let it near the catalog.
    core.log.warn({ driveId: d.id, copyId: m.copyId }, 'stale or unknown copy-written ignored');
    return [];
  }
  const now = core.clock();
  try {
    // A spanned copy reports its first fragment's (full) medium; its batch is on the one it ends on.
    const batch = core.catalog.openBatchOf(d.id) ?? core.catalog.openBatch(d.id, c.medium);
    core.catalog.markWritten(c.copyId, batch.id, {
      fileNumber: m.fileNumber,
      blockAddress: m.blockAddress,
      bytes: m.bytes,
      sha256: m.sha256,
    });
  } catch (error) {
    if (!isCatalogError(error)) throw error;
    core.log.error(
      { driveId: d.id, copyId: m.copyId, code: error.code, err: error.message },
      'copy-written refused by the catalog',
    );
    return failDrive(
      core,
      d,
      { code: 'REPORT_REFUSED', reason: `copy-written: ${error.code}` },
      { countAsDeviceError: false },
    );
  }
  d.outstanding.delete(m.copyId);
  c.written = {
    medium: m.medium,
    fileNumber: m.fileNumber,
    blockAddress: m.blockAddress,
    bytes: m.bytes,
    sha256: m.sha256,
  };
  d.pending.set(m.copyId, c);
  core.stats.observeWrite(d.id, m.medium, m.bytes);
  const out: Output[] = [
    eventOutput({
      v: PROTOCOL_VERSION,
      type: 'image-written',
      id: core.ids.next('e'),
      at: now,
      requestId: c.requestId,
      backupId: c.backupId,
      copy: c.copy,
      driveId: d.id,
      medium: m.medium,
      fileNumber: m.fileNumber,
      blockAddress: m.blockAddress,
      bytes: m.bytes,
    }),
  ];
  if (c.group !== undefined) out.push(...groupWritten(core, c.group, m.copyId));
  out.push(...plan(core));
  return out;
}
