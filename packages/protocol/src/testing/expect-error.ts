import { expect } from 'vitest';
import { ProtocolError, type ProtocolErrorCode } from '../errors';

/** Runs `fn`, asserts it throws a ProtocolError with `code` (and `field` when given), returns it. */
export function expectProtocolError(
  fn: () => unknown,
  code: ProtocolErrorCode,
  field?: string,
): ProtocolError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected a ProtocolError').toBeInstanceOf(ProtocolError);
  const err = thrown as ProtocolError;
  expect({ code: err.code, field: err.field }).toEqual({ code, field });
  return err;
}
