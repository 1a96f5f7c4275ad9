/**
 * Progress of one request, folded from the duplicator's events. Pure: feed events with
 * {@link ProgressTracker.apply}, read the counts, render a line.
 */
import type { DuplicatorEvent, MessageOf } from '@tapedup/protocol';
import { formatBytes, formatDuration } from '../output/format';

export interface ProgressCounts {
  /** Image copies expected: images × copies. */
  copies: number;
  bytesTotal: number;
  written: number;
  committed: number;
  bytesCommitted: number;
  /** Copies that failed for good (`image-failed` with `retryable: false`). */
  abandoned: number;
  /** `image-retrying` events: attempts made beyond the first. */
  retries: number;
  /** Failures of one attempt, retried or not. */
  failures: number;
}

function keyOf(event: { backupId: string; copy: number }): string {
  return `${event.backupId}\u0000${event.copy}`;
}

export class ProgressTracker {
  readonly counts: ProgressCounts;
  #done: MessageOf<'request-done'> | undefined;
  readonly #committed = new Set<string>();
  /** Copies written and not yet committed or failed: waiting for a sync. */
  readonly #pending = new Set<string>();

  constructor(
    readonly requestId: string,
    copies: number,
    bytesTotal: number,
  ) {
    this.counts = {
      copies,
      bytesTotal,
      written: 0,
      committed: 0,
      bytesCommitted: 0,
      abandoned: 0,
      retries: 0,
      failures: 0,
    };
  }

  /** The `request-done` event, once it arrived. */
  get done(): MessageOf<'request-done'> | undefined {
    return this.#done;
  }

  /** Applies one event; events of other requests are ignored. Returns true when it changed the counts. */
  apply(event: DuplicatorEvent): boolean {
    if (!('requestId' in event) || event.requestId !== this.requestId) return false;
    const c = this.counts;
    switch (event.type) {
      case 'image-written':
        c.written += 1;
        this.#pending.add(keyOf(event));
        return true;
      case 'image-committed': {
        // A copy is committed once; a repeated event (a re-sent publication) must not count twice.
        const key = keyOf(event);
        this.#pending.delete(key);
        if (this.#committed.has(key)) return false;
        this.#committed.add(key);
        c.committed += 1;
        c.bytesCommitted += event.bytes;
        return true;
      }
      case 'image-failed':
        this.#pending.delete(keyOf(event));
        c.failures += 1;
        if (!event.retryable) c.abandoned += 1;
        return true;
      case 'image-retrying':
        c.retries += 1;
        return true;
      case 'request-done':
        this.#done = event;
        return true;
    }
  }

  /** One status line, e.g. `[####------] 123/300 copies  412 MB/1.0 GB  2 retries  12.3 s`. */
  line(elapsedMs: number, width = 24): string {
    const c = this.counts;
    const fraction = c.copies === 0 ? 1 : Math.min(1, c.committed / c.copies);
    const filled = Math.round(fraction * width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    const parts = [
      `[${bar}]`,
      `${c.committed}/${c.copies} committed`,
      `${formatBytes(c.bytesCommitted)}/${formatBytes(c.bytesTotal)}`,
    ];
    const pending = this.#pending.size;
    if (pending > 0) parts.push(`${pending} pending sync`);
    if (c.retries > 0) parts.push(`${c.retries} ${c.retries === 1 ? 'retry' : 'retries'}`);
    if (c.abandoned > 0) parts.push(`${c.abandoned} abandoned`);
    parts.push(formatDuration(elapsedMs));
    return parts.join('  ');
  }
}
