/** The `end` event of an image whose framer was just finished (its trailer and what it covers). */
import type { ImageTrailer } from '@tapedup/tape-format';
import type { SourceError } from '../dsu';
import type { SourceEvent } from './types';

export type EndEvent = Extract<SourceEvent, { kind: 'end' }>;

export function endEvent(
  finished: { trailer: Uint8Array; info: ImageTrailer },
  error: SourceError | undefined,
): EndEvent {
  const { trailer, info } = finished;
  return {
    kind: 'end',
    status: info.status,
    trailer,
    bytes: info.totalBytes,
    blocks: info.blockCount,
    sha256: Buffer.from(info.sha256).toString('hex'),
    error,
  };
}
