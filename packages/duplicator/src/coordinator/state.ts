/**
 * Everything the coordinator holds between messages, in one record the handlers share. The
 * {@link Coordinator} owns it; the handlers are plain functions of it. Only the catalog is durable:
 * the rest is rebuilt at start-up (see `recovery.ts`) and from the writers' `hello`.
 */
import type { Logger } from 'pino';
import type { Catalog } from '../catalog';
import { DriveStats, type SyncPolicy } from '../policy';
import { type DriveState, newDriveState } from './drive-state';
import { MessageIds } from './messages';
import type { CoordinatorDeps, CoordinatorSettings } from './settings';
import type { SourceInspector } from './submit-check';
import type { SyncGroup } from './sync-groups';

export interface CoordinatorState {
  readonly catalog: Catalog;
  readonly clock: () => number;
  readonly log: Logger;
  readonly settings: CoordinatorSettings;
  readonly inspect: SourceInspector | undefined;
  readonly drives: Map<string, DriveState>;
  readonly stats: DriveStats;
  /** The sync policy of each request still active (built lazily after a restart). */
  readonly policies: Map<string, SyncPolicy>;
  readonly groups: Map<string, SyncGroup>;
  /** Retries held back until then (catalog copy id → epoch ms). */
  readonly notBefore: Map<number, number>;
  /** Requests not yet announced done. */
  readonly active: Set<string>;
  readonly ids: MessageIds;
  /** Planning waits until this time unless every writer is up (see `startupSettleMs`). */
  settleUntil: number | undefined;
  stopping: boolean;
}

/** A fresh state with every configured drive disconnected. */
export function newCoordinatorState(deps: CoordinatorDeps): CoordinatorState {
  const core: CoordinatorState = {
    catalog: deps.catalog,
    clock: deps.clock,
    log: deps.logger,
    settings: deps.settings,
    inspect: deps.inspectSource,
    drives: new Map(),
    stats: new DriveStats(),
    policies: new Map(),
    groups: new Map(),
    notBefore: new Map(),
    active: new Set(),
    ids: new MessageIds(),
    settleUntil: undefined,
    stopping: false,
  };
  const now = core.clock();
  for (const d of core.settings.drives) core.drives.set(d.id, newDriveState(d.id, now));
  return core;
}

export function driveOf(core: CoordinatorState, driveId: string): DriveState {
  const d = core.drives.get(driveId);
  if (d === undefined) throw new RangeError(`unknown drive ${driveId}`);
  return d;
}
