/**
 * The hand-over of planned copies to a writer: a policy decision per copy (sync after it or defer),
 * the catalog moving each to `writing`, and the `assign` that carries them.
 */
import { PROTOCOL_VERSION } from '@tapedup/protocol';
import { type QueuedCopy as CatalogQueuedCopy, isCatalogError } from '../catalog';
import type { Assignment } from '../planner';
import { emptyBatch, type ImageFacts, withDeferredImage } from '../policy';
import { type CopyInFlight, type CopySource, type DriveState, openBatchOf } from './drive-state';
import { mediumPool } from './media';
import { clampPriority } from './messages';
import type { Output } from './outputs';
import { driveContext, policyFor } from './policies';
import type { CoordinatorState } from './state';
import { streamEndpoint } from './stream-endpoints';
import { syncNow } from './sync-now';
import { wireCopyId } from './wire-ids';

const MAX_ITEMS_PER_ASSIGN = 1000;

/**
 * Turns one drive's planned assignments into assign items: asks the policy per copy (logging
 * each decision with its reason) and moves each copy to `writing` in the catalog.
 */
export function buildItems(
  core: CoordinatorState,
  d: DriveState,
  medium: string,
  list: readonly Assignment[],
  byId: ReadonlyMap<string, CatalogQueuedCopy>,
  rest: { unassigned: number; truncated: boolean; drives: number },
  out: Output[],
): CopyInFlight[] {
  const sorted = [...list].sort((a, b) => a.order - b.order);
  const pool = mediumPool(core, medium);
  const usable = sorted.filter((a) => {
    const q = byId.get(a.copyId);
    return q !== undefined && q.pool === pool && !a.excludedMedia.includes(medium);
  });
  const items: CopyInFlight[] = [];
  const now = core.clock();
  const ctx = driveContext(core, d, medium);
  const sharedRest = Math.ceil(rest.unassigned / Math.max(1, rest.drives));
  let batch = openBatchOf(d);
  for (const [index, a] of usable.slice(0, MAX_ITEMS_PER_ASSIGN).entries()) {
    const q = byId.get(a.copyId)!;
    const policy = policyFor(core, q.requestId, q.pool);
    const facts: ImageFacts = {
      sizeBytes: q.size,
      priority: q.priority,
      kind: q.kind,
      attempt: q.attempts + 1,
      deadline: q.deadline ?? undefined,
    };
    if (index === 0 && batch.deferredImages > 0 && d.syncInFlight === undefined) {
      // The next copy must not join the open batch (a retry, a stream, higher priority, a deadline).
      const verdict = policy.shouldSyncNow({ batch, drive: ctx, next: facts, moreWork: true }, now);
      if (verdict.action === 'sync-now') {
        out.push(syncNow(core, d, verdict.reason));
        batch = emptyBatch(now);
      }
    }
    const after = usable.slice(index + 1);
    const afterBytes = after.reduce((s, x) => s + (byId.get(x.copyId)?.size ?? 0), 0);
    const isLast = after.length === 0 && rest.unassigned === 0 && !rest.truncated;
    const decision = policy.decide(
      {
        image: facts,
        drive: ctx,
        batch,
        remaining: {
          images: after.length + sharedRest,
          bytes: afterBytes + sharedRest * q.size,
          isLast,
        },
      },
      now,
    );
    try {
      core.catalog.startWriting(q.copyId, d.id, medium);
    } catch (error) {
      if (!isCatalogError(error)) throw error;
      core.log.warn({ copyId: q.copyId, driveId: d.id, medium, code: error.code }, 'copy not started');
      continue;
    }
    core.log.info(
      {
        driveId: d.id,
        medium,
        copyId: q.copyId,
        backupId: q.backupId,
        copy: q.copyNumber,
        attempt: facts.attempt,
        decision: decision.decision,
        reason: decision.reason,
        triggers: decision.triggers,
        policy: decision.policy,
        explain: decision.explain,
      },
      `sync decision: ${decision.decision} (${decision.reason})`,
    );
    const source = toCopySource(q.kind, q.source);
    items.push({
      wire: wireCopyId(q.copyId, facts.attempt),
      copyId: q.copyId,
      imageId: q.imageId,
      attempt: facts.attempt,
      requestId: q.requestId,
      backupId: q.backupId,
      copy: q.copyNumber,
      sizeBytes: q.size,
      priority: q.priority,
      kind: q.kind,
      deadline: facts.deadline,
      source,
      streamEndpoint:
        q.kind === 'stream' ? streamEndpoint(core.settings, q.imageId, q.copyNumber) : undefined,
      medium,
      assignedAt: now,
      decision: decision.decision,
      reason: decision.reason,
      group: a.syncGroup === undefined ? undefined : `${a.syncGroup.id}#${a.syncGroup.size}`,
    });
    batch = decision.decision === 'sync' ? emptyBatch(now) : withDeferredImage(batch, facts, now);
  }
  return items;
}

/**
 * The `assign` for the items, which become outstanding on the drive. It carries `resumeAt` (the
 * medium's committed end) when the writer must reposition first.
 */
export function sendAssign(
  core: CoordinatorState,
  d: DriveState,
  medium: string,
  items: CopyInFlight[],
): Output[] {
  const resumeAt = d.needsResume ? core.catalog.lastCommittedPosition(medium) : undefined;
  d.needsResume = false;
  for (const c of items) d.outstanding.set(c.wire, c);
  return [
    {
      kind: 'writer',
      driveId: d.id,
      message: {
        v: PROTOCOL_VERSION,
        type: 'assign',
        id: core.ids.next('w'),
        medium,
        ...(resumeAt === undefined ? {} : { resumeAt }),
        items: items.map((c) => ({
          copyId: c.wire,
          requestId: c.requestId,
          backupId: c.backupId,
          copy: c.copy,
          sizeBytes: c.sizeBytes,
          source:
            c.source.kind === 'disk'
              ? { kind: 'disk' as const, dsu: c.source.dsu, path: c.source.path }
              : { kind: 'stream' as const },
          ...(c.streamEndpoint === undefined ? {} : { streamEndpoint: c.streamEndpoint }),
          priority: clampPriority(c.priority),
          attempt: c.attempt,
          decision: c.decision,
          reason: c.reason.slice(0, 256),
        })),
      },
    },
  ];
}

function toCopySource(kind: 'disk' | 'stream', stored: unknown): CopySource {
  if (kind === 'stream') return { kind: 'stream' };
  const s = stored as { dsu: string; path: string };
  return { kind: 'disk', dsu: s.dsu, path: s.path };
}
