/** Turns zod failures into `ProtocolError`s that name the offending field. */
import type { z } from 'zod';
import { ProtocolError, type ProtocolErrorDetails } from './errors';

const MAX_FIELD_LENGTH = 256;

/** The dotted path of an issue; for an unknown key, the path of that key. */
export function issueField(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  return path.join('.').slice(0, MAX_FIELD_LENGTH);
}

/** The first issue of a failed parse as an `INVALID_FIELD` error. */
export function invalidField(error: z.ZodError, details: Omit<ProtocolErrorDetails, 'field' | 'cause'>) {
  const issue = error.issues[0];
  const field = issue === undefined ? '' : issueField(issue);
  const reason = issue?.code === 'unrecognized_keys' ? 'unknown key' : (issue?.message ?? 'invalid value');
  return new ProtocolError('INVALID_FIELD', `${field || '(message)'}: ${reason}`, {
    ...details,
    field,
    cause: error,
  });
}

/** Reads `value.id` when it is a usable message id, for error replies. */
export function readableId(value: Record<string, unknown>): string | undefined {
  const id = value.id;
  return typeof id === 'string' && /^[\x21-\x7e]{1,128}$/.test(id) ? id : undefined;
}

/** Whether `value` is a plain msgpack map decoded as an object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/** A short, safe description of a decoded `v` for error messages (never stringifies containers). */
export function describeVersion(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 16));
  if (v === null) return 'nil';
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return 'a 64-bit integer';
  return Array.isArray(v) ? 'an array' : 'a map';
}
