/**
 * Sync-deferral settings: defaults, validation at the boundary, and the pool → request override chain.
 */
import { intSetting, isRecord, positiveSetting, SettingsError } from './errors';
import type { SyncPolicyName } from './types';

/** Settings of the sync-deferral policy, per pool with optional per-request overrides. */
export interface SyncSettings {
  /** Which policy decides. */
  readonly policy: SyncPolicyName;
  /**
   * Most images one batch may end with an immediate filemark; the next one is synced.
   * 0 disables deferral. Caps every deferring policy.
   */
  readonly maxDeferredImages: number;
  /** Most bytes one batch may hold in deferred images. 0 disables deferral. Caps every deferring policy. */
  readonly maxDeferredBytes: number;
  /** Longest a batch may stay open (first deferred image → sync), seconds. */
  readonly maxSecondsWithoutSync: number;
  /** Images larger than this are never deferred (the patent's "maximum deferrable size"). */
  readonly maxDeferrableImageBytes: number;
  /** `fixed` policy: a batch holds this many images, the last one synced (the patent's example: 8). */
  readonly fixedBatchImages: number;
  /** `cta` policy: flush after this many files (CERN CTA's default: 200). */
  readonly ctaMaxFiles: number;
  /** `cta` policy: flush after the file that brings the batch to this many bytes (CTA's default: 32 GB). */
  readonly ctaMaxBytes: number;
}

/** Largest byte count a setting accepts (2^53 - 1, the protocol's limit as well). */
const MAX_BYTES = Number.MAX_SAFE_INTEGER;

export const POLICY_NAMES: readonly SyncPolicyName[] = ['sync-every', 'fixed', 'cta', 'adaptive'];

/**
 * Defaults for an LTO-class drive. The caps are wide enough that the adaptive cost model, not the
 * caps, sizes batches on ordinary workloads (a clean drive writing 1 MB images wants batches of
 * about ten thousand images); they bound the exposure when the model's inputs are off.
 */
export const DEFAULT_SYNC_SETTINGS: SyncSettings = Object.freeze({
  policy: 'adaptive',
  maxDeferredImages: 20_000,
  maxDeferredBytes: 64_000_000_000,
  maxSecondsWithoutSync: 300,
  maxDeferrableImageBytes: 16_000_000_000,
  fixedBatchImages: 8,
  ctaMaxFiles: 200,
  ctaMaxBytes: 32_000_000_000,
});

/**
 * Keys that may appear beside the sync settings in a pool's or request's policy block but belong to
 * another module (the writer's MPX factor); they are skipped, not rejected.
 */
const FOREIGN_KEYS: ReadonlySet<string> = new Set(['mpxFactor']);

type Validator = (source: string, value: unknown) => unknown;

const VALIDATORS: Readonly<Record<keyof SyncSettings, Validator>> = {
  policy: (source, value) => {
    if (typeof value !== 'string' || !(POLICY_NAMES as readonly string[]).includes(value)) {
      throw new SettingsError(
        'INVALID_SETTING',
        'policy',
        source,
        value,
        `must be one of ${POLICY_NAMES.join(', ')}`,
      );
    }
    return value;
  },
  maxDeferredImages: (source, value) => intSetting(source, 'maxDeferredImages', value, 0, 100_000),
  maxDeferredBytes: (source, value) => intSetting(source, 'maxDeferredBytes', value, 0, MAX_BYTES),
  maxSecondsWithoutSync: (source, value) => positiveSetting(source, 'maxSecondsWithoutSync', value, 86_400),
  maxDeferrableImageBytes: (source, value) =>
    intSetting(source, 'maxDeferrableImageBytes', value, 0, MAX_BYTES),
  fixedBatchImages: (source, value) => intSetting(source, 'fixedBatchImages', value, 1, 100_000),
  ctaMaxFiles: (source, value) => intSetting(source, 'ctaMaxFiles', value, 1, 100_000),
  ctaMaxBytes: (source, value) => intSetting(source, 'ctaMaxBytes', value, 1, MAX_BYTES),
};

function isSettingKey(key: string): key is keyof SyncSettings {
  return Object.hasOwn(VALIDATORS, key);
}

/**
 * Validates a partial settings object from `source` (a config section, a pool, a request override).
 * Every key must be a known setting (or a foreign key such as `mpxFactor`); `undefined` values are
 * treated as absent. Throws {@link SettingsError} naming the first bad setting.
 */
export function validateSyncSettings(source: string, input: unknown): Partial<SyncSettings> {
  if (input === undefined) return {};
  if (!isRecord(input)) {
    throw new SettingsError('INVALID_SETTING', '(settings)', source, input, 'must be an object');
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (FOREIGN_KEYS.has(key) || value === undefined) continue;
    if (!isSettingKey(key)) {
      throw new SettingsError('UNKNOWN_SETTING', key, source, value, 'is not a sync-deferral setting');
    }
    out[key] = VALIDATORS[key](source, value);
  }
  return out as Partial<SyncSettings>;
}

/** One layer of the override chain: where it came from and its (unvalidated) values. */
export interface SettingsLayer {
  readonly source: string;
  readonly values: unknown;
}

/**
 * Resolves the effective settings: defaults, then each layer in order (e.g. pool, then request),
 * later layers overriding earlier ones key by key. Each layer is validated with its own source name.
 */
export function resolveSyncSettings(
  layers: readonly SettingsLayer[],
  defaults: SyncSettings = DEFAULT_SYNC_SETTINGS,
): SyncSettings {
  let merged: SyncSettings = { ...defaults };
  for (const layer of layers) {
    merged = { ...merged, ...validateSyncSettings(layer.source, layer.values) };
  }
  return Object.freeze(merged);
}
