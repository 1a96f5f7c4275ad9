/**
 * The duplicator's pure modules the simulator runs: the sync-deferral policy and the planner. The
 * duplicator package has no index of exports yet, so they are reached by path, in this one place.
 */

export {
  compareCopies,
  DEFAULT_PLANNER_SETTINGS,
  type PlannerSettings,
  planAssignments,
  type QueuedCopy,
  type WriterInfo,
} from '../../duplicator/src/planner';
export {
  type BatchState,
  createSyncPolicy,
  type DriveContext,
  DriveStats,
  emptyBatch,
  type ImageFacts,
  POLICY_NAMES,
  type ReasonCode,
  resolveSyncSettings,
  type SyncPolicy,
  type SyncPolicyName,
  type SyncSettings,
  withDeferredImage,
} from '../../duplicator/src/policy';
