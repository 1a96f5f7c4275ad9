import type { Logger } from 'pino';
import { CatalogError } from './errors';

export interface CatalogOptions {
  /** SQLite file. Created (with its directory's permission) when missing. */
  readonly path: string;
  /** Epoch milliseconds; inject a virtual clock in tests and simulations. Default `Date.now`. */
  readonly clock?: () => number;
  readonly logger?: Logger;
  /** Write attempts a copy gets before it is abandoned. Default 3. */
  readonly maxAttempts?: number;
  /** How long a statement waits for another connection's write lock, ms. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** Weight of the newest sample in the drives' sync-cost average, (0, 1]. Default 0.2. */
  readonly syncCostAlpha?: number;
  /** Weight of the newest sample in the mean bytes between errors, (0, 1]. Default 0.2. */
  readonly errorIntervalAlpha?: number;
  /** Largest number of images one request may carry. Default 100000. */
  readonly maxImagesPerRequest?: number;
}

export interface ResolvedCatalogOptions {
  readonly path: string;
  readonly clock: () => number;
  readonly logger: Logger | undefined;
  readonly maxAttempts: number;
  readonly busyTimeoutMs: number;
  readonly syncCostAlpha: number;
  readonly errorIntervalAlpha: number;
  readonly maxImagesPerRequest: number;
}

function bad(option: string, message: string): CatalogError {
  return new CatalogError('INVALID_OPTION', `option ${option} ${message}`, { field: option });
}

function intOption(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw bad(option, `must be an integer between ${min} and ${max}`);
  }
  return value;
}

function alphaOption(value: unknown, option: string): number {
  if (value === undefined) return 0.2;
  if (typeof value !== 'number' || !(value > 0 && value <= 1))
    throw bad(option, 'must be a number in (0, 1]');
  return value;
}

export function resolveCatalogOptions(options: CatalogOptions): ResolvedCatalogOptions {
  if (typeof options !== 'object' || options === null) throw bad('options', 'must be an object');
  if (typeof options.path !== 'string' || options.path.length === 0) {
    throw bad('path', 'must be a non-empty file path');
  }
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw bad('clock', 'must be a function returning epoch milliseconds');
  }
  return {
    path: options.path,
    clock: options.clock ?? Date.now,
    logger: options.logger,
    maxAttempts: intOption(options.maxAttempts, 'maxAttempts', 3, 1, 1000),
    busyTimeoutMs: intOption(options.busyTimeoutMs, 'busyTimeoutMs', 5000, 0, 600_000),
    syncCostAlpha: alphaOption(options.syncCostAlpha, 'syncCostAlpha'),
    errorIntervalAlpha: alphaOption(options.errorIntervalAlpha, 'errorIntervalAlpha'),
    maxImagesPerRequest: intOption(
      options.maxImagesPerRequest,
      'maxImagesPerRequest',
      100_000,
      1,
      10_000_000,
    ),
  };
}
