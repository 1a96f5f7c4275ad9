/**
 * The examples in docs/protocol.md are executable: every ```json block followed by a ```hex block
 * of the same kind must decode from those bytes to that value and encode back to them.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Message } from './catalogue';
import { decode, encode } from './codec';
import { type DataHeader, decodeDataHeader, encodeDataHeader } from './data-frame';
import { fromHex, hex } from './testing/msgpack-builder';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url)), 'utf8');
const pairs = [...doc.matchAll(/```json (frame|data-header)\n([\s\S]*?)```\s*```hex \1\n([\s\S]*?)```/g)].map(
  ([, kind, json, bytes]) => ({ kind: kind!, value: JSON.parse(json!) as unknown, bytes: fromHex(bytes!) }),
);

describe('docs/protocol.md examples', () => {
  it('has at least four examples, one of them a data header', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(4);
    expect(pairs.some((p) => p.kind === 'data-header')).toBe(true);
  });

  it.each(pairs.map((p, i) => [i, p] as const))('example %i decodes and re-encodes exactly', (_i, pair) => {
    if (pair.kind === 'frame') {
      expect(decode(pair.bytes)).toEqual(pair.value);
      expect(hex(encode(pair.value as Message))).toBe(hex(pair.bytes));
    } else {
      expect(decodeDataHeader(pair.bytes)).toEqual(pair.value);
      expect(hex(encodeDataHeader(pair.value as DataHeader))).toBe(hex(pair.bytes));
    }
  });
});
