/**
 * The coordinator core, the bpduplicate logic without sockets: scheduler requests and writer
 * reports come in, replies, events and writer commands go out (as {@link Output}s). Time comes from
 * the injected clock, logs go to the injected pino logger, and the catalog is the one record.
 *
 * The central rules it keeps:
 * - a copy is reported committed only after the writer reported a good sync covering it and the
 *   catalog recorded that sync (`Catalog.commitBatch`);
 * - any failure since a drive's last good sync fails and requeues every copy in flight on it;
 * - a retry is always synced on its own (the policy sees `attempt > 1`);
 * - copies of one image go to distinct drives and, when the batch ends with them, those drives get
 *   their `sync-now` together so they flush in parallel.
 *
 * The class owns the state ({@link CoordinatorState}) and hands each message to the plain function
 * that handles it: `scheduler-requests.ts`, `writer-messages.ts` and the report handlers it calls,
 * `planning.ts` and `assignment.ts` for the hand-over, `failures.ts` for failing work, and
 * `recovery.ts` for start-up.
 */
import type { MessageOf, WriterToDuplicator } from '@tapedup/protocol';
import type { Output } from './outputs';
import { plan } from './planning';
import { recoverFromCatalog } from './recovery';
import { cancel, status, submit } from './scheduler-requests';
import type { CoordinatorDeps } from './settings';
import { type CoordinatorState, newCoordinatorState } from './state';
import { checkStreamDir, streamEndpoint } from './stream-endpoints';
import { writerMessage } from './writer-messages';
import { shutdown, writerLost } from './writer-session';

export type { CoordinatorDeps, CoordinatorSettings } from './settings';

export class Coordinator {
  readonly #core: CoordinatorState;

  constructor(deps: CoordinatorDeps) {
    this.#core = newCoordinatorState(deps);
    checkStreamDir(this.#core.settings.streamDir);
  }

  /**
   * The PULL endpoint of one copy of a `stream` image. It depends only on the catalog's image id
   * and the copy number, so it is announced at submit, before any writer is chosen, and stays the
   * same whichever writer the copy lands on (the one it is assigned to binds it).
   */
  streamEndpoint(imageId: number, copy: number): string {
    return streamEndpoint(this.#core.settings, imageId, copy);
  }

  /**
   * Start-up: registers the drives, requeues whatever was in flight when the process last stopped
   * (never proven on tape), and resumes every unfinished request.
   */
  start(): Output[] {
    return recoverFromCatalog(this.#core);
  }

  /** Drives whose writer said hello and has not been lost since. */
  connectedDrives(): string[] {
    return [...this.#core.drives.values()].filter((d) => d.connected).map((d) => d.id);
  }

  isKnownDrive(driveId: string): boolean {
    return this.#core.drives.has(driveId);
  }

  isConnected(driveId: string): boolean {
    return this.#core.drives.get(driveId)?.connected === true;
  }

  /** Epoch ms of the last message from the drive's writer. */
  lastSeen(driveId: string): number | undefined {
    return this.#core.drives.get(driveId)?.lastSeen;
  }

  // ---------------------------------------------------------------- scheduler requests

  submit(m: MessageOf<'submit'>): Output[] {
    return submit(this.#core, m);
  }

  cancel(m: MessageOf<'cancel'>): Output[] {
    return cancel(this.#core, m);
  }

  status(m: MessageOf<'status'>): Output[] {
    return status(this.#core, m);
  }

  // ---------------------------------------------------------------- writers

  /** A message from the writer of `driveId` (the edge checked that the drive is configured). */
  writerMessage(driveId: string, m: WriterToDuplicator): Output[] {
    return writerMessage(this.#core, driveId, m);
  }

  /**
   * The writer of `driveId` is gone (process exit, missed heartbeats): every copy not committed on
   * that drive is failed and requeued; nothing it had not reported synced is ever committed.
   */
  writerLost(driveId: string, code: string, reason: string): Output[] {
    return writerLost(this.#core, driveId, code, reason);
  }

  /** Periodic: retries whose backoff ended, batches open too long, idle writers with a pending batch. */
  tick(): Output[] {
    return plan(this.#core);
  }

  /** A graceful stop: no more work is handed out, every connected writer is told to stop. */
  shutdown(reason: string): Output[] {
    return shutdown(this.#core, reason);
  }

  /** Drives that were told to stop and have not acknowledged yet. */
  awaitingShutdownAck(): string[] {
    return [...this.#core.drives.values()].filter((d) => d.connected && !d.shutdownAcked).map((d) => d.id);
  }

  // ---------------------------------------------------------------- planning

  /**
   * One planning round: queued copies to idle room on connected writers (planner), a medium per
   * drive, a policy decision per copy, and `sync-now` where a batch must end.
   */
  plan(): Output[] {
    return plan(this.#core);
  }
}
