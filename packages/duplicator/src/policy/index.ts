export { batchAgeSeconds, emptyBatch, withDeferredImage } from './batch-state';
export {
  type CostParams,
  expectedReworkSeconds,
  expectedSecondsPerByte,
  optimalBatchBytes,
  PRIORITY_HALVING_POINTS,
  priorityFactor,
} from './cost-model';
export { DriveStats, type DriveStatsOptions, type DriveStatsSnapshot } from './drive-stats';
export {
  DEFAULT_ERROR_PRIOR,
  ErrorRateEstimator,
  type ErrorRateSnapshot,
  type GammaPrior,
} from './error-rate-estimator';
export { InvalidObservationError, SettingsError, type SettingsErrorCode } from './errors';
export { clocked, createSyncPolicy, type SyncPolicy } from './policy';
export {
  DEFAULT_SYNC_SETTINGS,
  POLICY_NAMES,
  resolveSyncSettings,
  type SettingsLayer,
  type SyncSettings,
  validateSyncSettings,
} from './settings';
export {
  DEFAULT_SYNC_COST_OPTIONS,
  SyncCostEstimator,
  type SyncCostEstimatorOptions,
  type SyncCostSnapshot,
  type SyncObservation,
} from './sync-cost-estimator';
export type {
  BatchCheckInput,
  BatchState,
  BatchVerdict,
  Clock,
  DecisionExplain,
  DecisionInput,
  DriveContext,
  ImageFacts,
  ImageKind,
  ReasonCode,
  RemainingWork,
  SyncDecision,
  SyncPolicyName,
} from './types';
