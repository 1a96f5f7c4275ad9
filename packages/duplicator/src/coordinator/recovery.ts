/**
 * Start-up from the catalog: the drives are registered (their error and sync-cost history feeds
 * the policy's statistics), whatever was in flight when the process last stopped is requeued
 * (never proven on tape), and every unfinished request is resumed.
 */

import { failureEvents } from './failure-events';
import type { Output } from './outputs';
import { finishedRequests } from './request-done';
import type { CoordinatorState } from './state';

export function recoverFromCatalog(core: CoordinatorState): Output[] {
  core.settleUntil = core.clock() + (core.settings.startupSettleMs ?? 0);
  for (const d of core.settings.drives) {
    const rec = core.catalog.registerDrive(d.id, d.spec);
    core.stats.restoreDrive(d.id, {
      errors: rec.errorCount,
      bytes: rec.bytesWritten,
      ...(rec.syncCostSeconds === null ? {} : { syncCostSeconds: rec.syncCostSeconds }),
    });
  }
  const recovered = core.catalog.recoverInFlight();
  const out: Output[] = [];
  for (const c of recovered.copies)
    out.push(...failureEvents(core, c, { code: 'DUPLICATOR_RESTART', reason: 'duplicator restarted' }));
  for (const id of recovered.activeRequests) core.active.add(id);
  core.log.info(
    {
      requeued: recovered.copies.length,
      batches: recovered.failedBatches.length,
      requests: recovered.activeRequests.length,
    },
    'recovered in-flight work from the catalog',
  );
  out.push(...finishedRequests(core));
  return out;
}
