/**
 * A writer's life as the coordinator sees it: `hello`, `mounted`, loss (exit, missed heartbeats),
 * and the graceful stop (`shutdown`, `shutdown-ack`). A writer that goes away or comes back fails
 * whatever it held that no sync proved.
 */
import type { MessageOf } from '@tapedup/protocol';
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import type { DriveState } from './drive-state';
import { failDrive } from './failures';
import { mediumInUseElsewhere, mediumState } from './media';
import type { Output } from './outputs';
import { plan } from './planning';
import { type CoordinatorState, driveOf } from './state';

export function hello(core: CoordinatorState, d: DriveState, m: MessageOf<'hello'>): Output[] {
  const out: Output[] = [];
  // A second hello means a new writer process: whatever the old one held is unproven.
  if (d.connected || d.outstanding.size > 0 || d.pending.size > 0) {
    out.push(
      ...failDrive(
        core,
        d,
        { code: 'WRITER_RESTARTED', reason: 'writer said hello again' },
        { countAsDeviceError: false },
      ),
    );
  }
  d.connected = true;
  d.pid = m.pid;
  d.state = 'idle';
  d.loadedMedium = m.medium;
  d.mounting = undefined;
  d.shutdownAcked = false;
  d.needsResume = true;
  d.lastSyncAt = core.clock();
  // Keep writing the loaded cartridge when the catalog still has it active.
  if (
    m.medium !== undefined &&
    mediumState(core, m.medium) === 'active' &&
    !mediumInUseElsewhere(core, m.medium, d.id)
  ) {
    d.medium = m.medium;
  } else if (d.medium !== undefined && mediumState(core, d.medium) !== 'active') {
    d.medium = undefined;
  }
  core.log.info({ driveId: d.id, pid: m.pid, medium: m.medium, drive: m.drive.name }, 'writer connected');
  if (core.stopping) {
    out.push({
      kind: 'writer',
      driveId: d.id,
      message: {
        v: PROTOCOL_VERSION,
        type: 'shutdown',
        id: core.ids.next('q'),
        graceful: true,
        reason: 'stopping',
      },
    });
    return out;
  }
  out.push(...plan(core));
  return out;
}

export function mounted(core: CoordinatorState, d: DriveState, m: MessageOf<'mounted'>): Output[] {
  d.loadedMedium = m.medium;
  if (d.mounting !== undefined && (m.re === d.mounting.msgId || m.medium === d.mounting.barcode))
    d.mounting = undefined;
  d.needsResume = true;
  core.log.info(
    { driveId: d.id, medium: m.medium, position: m.position, appendOnly: m.appendOnly },
    'medium mounted',
  );
  return plan(core);
}

/**
 * The writer of `driveId` is gone (process exit, missed heartbeats): every copy not committed on
 * that drive is failed and requeued; nothing it had not reported synced is ever committed.
 */
export function writerLost(core: CoordinatorState, driveId: string, code: string, reason: string): Output[] {
  const d = driveOf(core, driveId);
  const wasConnected = d.connected;
  d.connected = false;
  d.mounting = undefined;
  d.loadedMedium = undefined;
  d.state = 'failed';
  const out = failDrive(core, d, { code, reason }, { countAsDeviceError: false });
  if (wasConnected) core.log.warn({ driveId, code, reason }, 'writer lost');
  out.push(...plan(core));
  return out;
}

/** A graceful stop: no more work is handed out, every connected writer is told to stop. */
export function shutdown(core: CoordinatorState, reason: string): Output[] {
  core.stopping = true;
  const out: Output[] = [];
  for (const d of core.drives.values()) {
    if (!d.connected) continue;
    out.push({
      kind: 'writer',
      driveId: d.id,
      message: {
        v: PROTOCOL_VERSION,
        type: 'shutdown',
        id: core.ids.next('q'),
        graceful: true,
        reason: reason.slice(0, 256),
      },
    });
  }
  return out;
}

export function shutdownAck(core: CoordinatorState, d: DriveState, m: MessageOf<'shutdown-ack'>): Output[] {
  d.shutdownAcked = true;
  core.log.info({ driveId: d.id, uncommitted: m.uncommitted.length }, 'writer acknowledged shutdown');
  return failDrive(
    core,
    d,
    { code: 'SHUTDOWN', reason: 'writer stopped before a sync covered the copy' },
    { countAsDeviceError: false },
  );
}
