/**
 * The sync policy in effect for a request and the drive facts it decides on. Settings layer as
 * installation `policy`, then `poolPolicy.<pool>`, then the request's own overrides.
 */
import {
  createSyncPolicy,
  type DriveContext,
  resolveSyncSettings,
  type SyncPolicy,
  type SyncSettings,
} from '../policy';
import type { DriveState } from './drive-state';
import type { CoordinatorSettings } from './settings';
import type { CoordinatorState } from './state';

/** The configured settings layers for a pool, lowest precedence first. */
export function poolLayers(
  settings: CoordinatorSettings,
  pool: string,
): { source: string; values: unknown }[] {
  const layers: { source: string; values: unknown }[] = [{ source: 'policy', values: settings.policy }];
  const p = settings.poolPolicy[pool];
  if (p !== undefined) layers.push({ source: `poolPolicy.${pool}`, values: p });
  return layers;
}

/**
 * The request's policy; after a restart it is rebuilt from the overrides stored with the request
 * (falling back to the pool's settings when those no longer resolve).
 */
export function policyFor(core: CoordinatorState, requestId: string, pool: string): SyncPolicy {
  let policy = core.policies.get(requestId);
  if (policy !== undefined) return policy;
  let settings: SyncSettings;
  const layers = poolLayers(core.settings, pool);
  try {
    const stored = core.catalog.getRequest(requestId).policy;
    settings = resolveSyncSettings(
      stored === null ? layers : [...layers, { source: 'request', values: stored }],
    );
  } catch (error) {
    core.log.warn(
      { requestId, err: (error as Error).message },
      'stored request policy unusable; pool policy applies',
    );
    settings = resolveSyncSettings(layers);
  }
  policy = createSyncPolicy(settings);
  core.policies.set(requestId, policy);
  return policy;
}

/** What the policy knows about the drive writing on `medium`. */
export function driveContext(core: CoordinatorState, d: DriveState, medium: string): DriveContext {
  return core.stats.context(d.id, medium, d.rateBytesPerSec ?? core.settings.defaultRateBytesPerSec);
}
