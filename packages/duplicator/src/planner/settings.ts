/**
 * Planner settings: the bounded look-ahead per writer.
 */
import { intSetting, isRecord, SettingsError } from '../policy/errors';

export interface PlannerSettings {
  /** Most copies handed to one writer and not yet written. */
  readonly windowImages: number;
  /**
   * Most bytes handed to one writer and not yet written. A single copy larger than this is still
   * handed to an otherwise empty writer, or it could never be written.
   */
  readonly windowBytes: number;
}

export const DEFAULT_PLANNER_SETTINGS: PlannerSettings = Object.freeze({
  windowImages: 64,
  windowBytes: 64_000_000_000,
});

/** Validates planner settings from `source`, filling defaults; throws `SettingsError` naming the setting. */
export function resolvePlannerSettings(source: string, input: unknown = {}): PlannerSettings {
  if (!isRecord(input))
    throw new SettingsError('INVALID_SETTING', '(settings)', source, input, 'must be an object');
  for (const key of Object.keys(input)) {
    if (key !== 'windowImages' && key !== 'windowBytes') {
      throw new SettingsError('UNKNOWN_SETTING', key, source, input[key], 'is not a planner setting');
    }
  }
  const merged = { ...DEFAULT_PLANNER_SETTINGS, ...input };
  return Object.freeze({
    windowImages: intSetting(source, 'windowImages', merged.windowImages, 1, 100_000),
    windowBytes: intSetting(source, 'windowBytes', merged.windowBytes, 1, Number.MAX_SAFE_INTEGER),
  });
}
