import { CatalogError } from './errors';
import type { CopyFailure, FragmentInput, ImageKind, JsonObject, TapePosition } from './types';

/** Argument checks at the catalog boundary; every failure names the argument in `field`. */

function invalid(field: string, message: string, value?: unknown): CatalogError {
  return new CatalogError('INVALID_ARGUMENT', `${field} ${message}`, {
    field,
    details: value === undefined ? undefined : { value: describe(value) },
  });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 80 ? `${value.slice(0, 80)}…` : value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeof value;
}

export function nonEmptyString(value: unknown, field: string, maxLength = 1024): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw invalid(field, `must be a non-empty string of at most ${maxLength} characters`, value);
  }
  return value;
}

export function integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer between ${min} and ${max}`, value);
  }
  return value;
}

export function finiteNumber(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalid(field, `must be a finite number >= ${min}`, value);
  }
  return value;
}

/** An array whose items each pass `item`, which receives the item's own field name (`field[i]`). */
export function array<T>(value: unknown, field: string, item: (value: unknown, field: string) => T): T[] {
  if (!Array.isArray(value)) throw invalid(field, 'must be an array');
  return (value as readonly unknown[]).map((v, i) => item(v, `${field}[${i}]`));
}

export function imageKind(value: unknown, field: string): ImageKind {
  if (value !== 'disk' && value !== 'stream') throw invalid(field, "must be 'disk' or 'stream'", value);
  return value;
}

export function plainObject(value: unknown, field: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(field, 'must be an object', value);
  }
  return value as JsonObject;
}

/** Serialises a JSON value, refusing values that would not come back the same (functions, cycles, bigints). */
export function json(value: unknown, field: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    throw invalid(field, 'must be JSON-serialisable', value);
  }
  if (text === undefined) throw invalid(field, 'must be JSON-serialisable', value);
  return text;
}

const SHA256 = /^[0-9a-f]{64}$/;

export function sha256(value: unknown, field: string): string {
  if (typeof value !== 'string' || !SHA256.test(value)) {
    throw invalid(field, 'must be 64 lowercase hex digits', value);
  }
  return value;
}

export function position(value: unknown, field: string): TapePosition {
  const p = plainObject(value, field);
  return {
    fileNumber: integer(p.fileNumber, `${field}.fileNumber`, 0),
    blockAddress: integer(p.blockAddress, `${field}.blockAddress`, 0),
  };
}

export function fragment(value: unknown, field: string): FragmentInput {
  const f = plainObject(value, field);
  return {
    medium: nonEmptyString(f.medium, `${field}.medium`, 64),
    fileNumber: integer(f.fileNumber, `${field}.fileNumber`, 0),
    blockAddress: integer(f.blockAddress, `${field}.blockAddress`, 0),
    offset: integer(f.offset, `${field}.offset`, 0),
    length: integer(f.length, `${field}.length`, 0),
  };
}

export function failure(value: unknown, field: string): CopyFailure {
  const f = plainObject(value, field);
  const sense = f.sense === undefined ? undefined : plainObject(f.sense, `${field}.sense`);
  return {
    code: nonEmptyString(f.code, `${field}.code`, 128),
    reason: nonEmptyString(f.reason, `${field}.reason`, 4096),
    ...(sense === undefined ? {} : { sense }),
  };
}
