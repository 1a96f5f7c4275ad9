/**
 * Intake of writer messages: every message refreshes the drive's `lastSeen`; nothing but `hello`
 * is taken from a writer that has not said hello; each report goes to its handler.
 */
import type { WriterToDuplicator } from '@tapedup/protocol';
import { batchSynced } from './batch-synced';
import { copyWritten } from './copy-written';
import { copyFailed, driveError, syncFailed } from './error-reports';
import { mediumFull } from './medium-full';
import { writerErrorOutput } from './messages';
import type { Output } from './outputs';
import { type CoordinatorState, driveOf } from './state';
import { hello, mounted, shutdownAck } from './writer-session';

/** A message from the writer of `driveId` (the edge checked that the drive is configured). */
export function writerMessage(core: CoordinatorState, driveId: string, m: WriterToDuplicator): Output[] {
  const d = driveOf(core, driveId);
  d.lastSeen = core.clock();
  if (m.type !== 'hello' && !d.connected) {
    return [writerErrorOutput(core.ids, driveId, m.id, 'HELLO_REQUIRED', 'a writer says hello first')];
  }
  switch (m.type) {
    case 'hello':
      return hello(core, d, m);
    case 'heartbeat':
      d.state = m.state;
      d.loadedMedium = m.medium ?? d.loadedMedium;
      if (m.stats.rateBytesPerSec > 0) d.rateBytesPerSec = m.stats.rateBytesPerSec;
      if (m.stats.lastSyncMs !== undefined) d.lastSyncMs = m.stats.lastSyncMs;
      core.catalog.heartbeat(driveId);
      return [];
    case 'copy-written':
      return copyWritten(core, d, m);
    case 'batch-synced':
      return batchSynced(core, d, m);
    case 'sync-failed':
      return syncFailed(core, d, m);
    case 'copy-failed':
      return copyFailed(core, d, m);
    case 'medium-full':
      return mediumFull(core, d, m);
    case 'mounted':
      return mounted(core, d, m);
    case 'drive-error':
      return driveError(core, d, m);
    case 'shutdown-ack':
      return shutdownAck(core, d, m);
    case 'error':
      core.log.warn(
        { driveId, code: m.code, field: m.field, re: m.re, message: m.message },
        'writer refused a message',
      );
      return [];
  }
}
