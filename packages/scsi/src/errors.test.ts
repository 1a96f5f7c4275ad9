import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  ResponseParseError,
  ScsiError,
  ScsiTimeoutError,
  ScsiTransportError,
  SenseKey,
  UnsupportedOperationError,
} from './errors';

describe('InvalidArgumentError', () => {
  it('names the argument, keeps the value and the expectation', () => {
    const err = new InvalidArgumentError('count', 0x1000000, 'an integer in 0..16777215');
    expect(err).toBeInstanceOf(ScsiError);
    expect(err.name).toBe('InvalidArgumentError');
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.argument).toBe('count');
    expect(err.value).toBe(0x1000000);
    expect(err.expected).toBe('an integer in 0..16777215');
    expect(err.message).toBe('count must be an integer in 0..16777215 (got 16777216)');
    expect(err.category).toBe('illegal-request');
    expect(err.retryable).toBe(false);
  });

  it('describes bigint and string values unambiguously', () => {
    expect(new InvalidArgumentError('x', 5n, 'small').message).toBe('x must be small (got 5n)');
    expect(new InvalidArgumentError('y', '7', 'a number').message).toBe('y must be a number (got "7")');
  });
});

describe('ResponseParseError', () => {
  it('carries response, field, length and opcode', () => {
    const err = new ResponseParseError('RESPONSE_TOO_SHORT', '3 bytes, need 4', {
      response: 'MODE SENSE(6) data',
      field: 'header',
      length: 3,
      opcode: 0x1a,
    });
    expect(err).toBeInstanceOf(ScsiError);
    expect(err.code).toBe('RESPONSE_TOO_SHORT');
    expect(err.message).toBe('MODE SENSE(6) data: 3 bytes, need 4');
    expect(err.response).toBe('MODE SENSE(6) data');
    expect(err.field).toBe('header');
    expect(err.length).toBe(3);
    expect(err.opcode).toBe(0x1a);
    expect(err.retryable).toBe(false);
    expect(
      new ResponseParseError('RESPONSE_MALFORMED', 'x', { response: 'r', length: 0 }).opcode,
    ).toBeUndefined();
  });
});

describe('existing error classes', () => {
  it('ScsiError derives code and category from the sense key and serialises to JSON', () => {
    const err = new ScsiError('boom', {
      senseKey: SenseKey.MEDIUM_ERROR,
      asc: 0x0c,
      ascq: 0,
      deferred: true,
    });
    expect(err.code).toBe('MEDIUM_ERROR');
    expect(err.category).toBe('medium');
    expect(err.retryable).toBe(false);
    expect(err.toJSON()).toMatchObject({
      name: 'ScsiError',
      code: 'MEDIUM_ERROR',
      deferred: true,
      asc: 0x0c,
    });
  });

  it('timeout, transport and unsupported errors are typed', () => {
    expect(new ScsiTimeoutError('late')).toMatchObject({
      code: 'TRANSPORT_TIMEOUT',
      category: 'transport',
      retryable: true,
    });
    expect(new ScsiTransportError('gone', { errno: 'ECONNRESET' })).toMatchObject({
      code: 'TRANSPORT_ECONNRESET',
      errno: 'ECONNRESET',
      category: 'transport',
    });
    expect(new ScsiTransportError('gone').code).toBe('TRANSPORT_ERROR');
    expect(new UnsupportedOperationError('LOCATE', 'iscsi://x')).toMatchObject({
      code: 'UNSUPPORTED',
      category: 'illegal-request',
      asc: 0x20,
      message: 'iscsi://x does not support LOCATE',
    });
  });
});
