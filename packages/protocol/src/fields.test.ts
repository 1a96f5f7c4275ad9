import { describe, expect, it } from 'vitest';
import { isProtocolError, ProtocolError } from './errors';
import { barcode, curveKey, endpoint, messageId, relativePath, safeId } from './fields';

describe('field rules', () => {
  it('relative paths: ordinary names pass, traversal and oddities do not', () => {
    for (const ok of ['img', 'a/b/c.img', 'a..b/c', '.hidden/x', 'ünï/cödé', 'x'.repeat(4096)]) {
      expect(relativePath.safeParse(ok).success, ok).toBe(true);
    }
    for (const bad of [
      '',
      '/abs',
      'a//b',
      'a/',
      './a',
      'a/./b',
      '..',
      'a/..',
      'a\\b',
      'a\nb',
      'a\x00b',
      'x'.repeat(4097),
    ]) {
      expect(relativePath.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('ids, barcodes, endpoints and keys', () => {
    expect(safeId.safeParse('R000017.client1:1700000000_a-b').success).toBe(true);
    expect(safeId.safeParse('x'.repeat(129)).success).toBe(false);
    expect(messageId.safeParse('5b1f7e0c-0c9e-4c43-9f0b-6f4f1a2b3c4d').success).toBe(true);
    expect(messageId.safeParse('tab\there').success).toBe(false);
    expect(messageId.safeParse('é').success).toBe(false);
    expect(barcode.safeParse('A00001L9').success).toBe(true);
    expect(barcode.safeParse('A0000 L9').success).toBe(false);
    expect(endpoint.safeParse('tcp://127.0.0.1:5555').success).toBe(true);
    expect(endpoint.safeParse('inproc://w').success).toBe(true);
    expect(endpoint.safeParse('tcp://a b').success).toBe(false);
    expect(curveKey.safeParse('rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7').success).toBe(true);
    expect(curveKey.safeParse('rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf').success).toBe(false);
  });
});

describe('ProtocolError', () => {
  it('carries machine-readable fields and narrows by code', () => {
    const cause = new Error('inner');
    const err = new ProtocolError('INVALID_FIELD', 'copies: too big', {
      field: 'copies',
      messageId: 'q1',
      messageType: 'submit',
      cause,
    });
    expect(err).toMatchObject({
      name: 'ProtocolError',
      code: 'INVALID_FIELD',
      field: 'copies',
      messageId: 'q1',
    });
    expect(err.cause).toBe(cause);
    expect(isProtocolError(err)).toBe(true);
    expect(isProtocolError(err, 'INVALID_FIELD')).toBe(true);
    expect(isProtocolError(err, 'NOT_MSGPACK')).toBe(false);
    expect(isProtocolError(new Error('x'))).toBe(false);
    expect('cause' in new ProtocolError('NOT_MSGPACK', 'x')).toBe(false);
  });
});
