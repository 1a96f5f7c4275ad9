/**
 * Policy and planner configuration failures as machine-readable values: callers branch on `code`
 * and `setting`, never on the message.
 */

export type SettingsErrorCode =
  /** A setting has the wrong type or is out of range; `setting` names it. */
  | 'INVALID_SETTING'
  /** A key that is not a setting of this module; `setting` names it (usually a typo). */
  | 'UNKNOWN_SETTING';

/** A setting failed validation at the boundary (config file, pool, request override). */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  readonly code: SettingsErrorCode;
  /** The setting's name, e.g. `maxDeferredImages`. */
  readonly setting: string;
  /** Where the value came from, e.g. `pool "archive"` or `request r-17`. */
  readonly source: string;
  /** The rejected value. */
  readonly value: unknown;

  constructor(code: SettingsErrorCode, setting: string, source: string, value: unknown, requirement: string) {
    super(`${source}: ${setting} ${requirement}, got ${describe(value)}`);
    this.code = code;
    this.setting = setting;
    this.source = source;
    this.value = value;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return typeof value;
}

/** Plain-object check shared by the settings validators. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks an integer setting in [min, max]; returns it typed. */
export function intSetting(
  source: string,
  setting: string,
  value: unknown,
  min: number,
  max: number,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(
      'INVALID_SETTING',
      setting,
      source,
      value,
      `must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/** Checks a finite number setting in (min, max]; returns it typed. */
export function positiveSetting(source: string, setting: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new SettingsError(
      'INVALID_SETTING',
      setting,
      source,
      value,
      `must be a number above 0 and at most ${max}`,
    );
  }
  return value;
}

/** An observation fed to an estimator is not a finite, non-negative number; `field` names it. */
export class InvalidObservationError extends Error {
  override readonly name = 'InvalidObservationError';
  readonly code = 'INVALID_OBSERVATION' as const;
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown) {
    super(`${field} must be a finite number ≥ 0, got ${describe(value)}`);
    this.field = field;
    this.value = value;
  }
}

/** Returns `value` when it is a finite number ≥ 0, else throws {@link InvalidObservationError}. */
export function nonNegative(field: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidObservationError(field, value);
  }
  return value;
}
