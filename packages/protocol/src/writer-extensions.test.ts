import { describe, expect, it } from 'vitest';
import { decode, encode } from './codec';
import { isProtocolError } from './errors';
import { SAMPLES } from './testing/samples';

function refusedField(message: unknown): string | undefined {
  try {
    encode(message as Parameters<typeof encode>[0]);
  } catch (error) {
    if (isProtocolError(error)) return error.field;
    throw error;
  }
  return undefined;
}

describe('optional writer fields (stream endpoint on assign, fragments on committed copies)', () => {
  it('round-trips a stream item with its endpoint; a disk item may not carry one', () => {
    const [disk, stream] = SAMPLES.assign.items;
    const message = {
      ...SAMPLES.assign,
      items: [disk!, { ...stream!, streamEndpoint: 'ipc:///run/tapedup/streams/live-42.1.sock' }],
    };
    const back = decode(encode(message));
    expect(back).toEqual(message);
    expect(
      refusedField({ ...SAMPLES.assign, items: [{ ...disk!, streamEndpoint: 'tcp://127.0.0.1:1' }] }),
    ).toBe('items.0.streamEndpoint');
    expect(refusedField({ ...SAMPLES.assign, items: [{ ...stream!, streamEndpoint: 'http://x' }] })).toBe(
      'items.0.streamEndpoint',
    );
    // Absent stays absent: an older duplicator's assign is unchanged.
    expect(decode(encode(SAMPLES.assign))).toEqual(SAMPLES.assign);
  });

  it('round-trips a committed copy with its fragments over two media; one fragment is refused', () => {
    const [first] = SAMPLES['batch-synced'].committed;
    const fragments = [
      { medium: 'A00001L9', fileNumber: 3, blockAddress: 81_924, offset: 0, length: 4_000_000 },
      { medium: 'A00002L9', fileNumber: 1, blockAddress: 2, offset: 4_000_000, length: 1_000 },
    ];
    const message = { ...SAMPLES['batch-synced'], committed: [{ ...first!, fragments }] };
    expect(decode(encode(message))).toEqual(message);
    expect(
      refusedField({ ...SAMPLES['batch-synced'], committed: [{ ...first!, fragments: fragments.slice(1) }] }),
    ).toBe('committed.0.fragments');
    expect(
      refusedField({
        ...SAMPLES['batch-synced'],
        committed: [{ ...first!, fragments: [fragments[0], { ...fragments[1], extra: 1 }] }],
      }),
    ).toMatch(/^committed\.0\.fragments\.1/);
  });
});
