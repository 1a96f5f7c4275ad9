import type { AssignItem } from '@tapedup/protocol';
import { SourceError } from '../dsu';
import type { ImageSource, SourceOpener, SourceOpenOptions } from './types';

/**
 * `stream` images arrive as data frames on a PULL socket (docs/protocol.md, "Stream data frames").
 * Receiving them is not implemented yet: an assigned stream copy fails on its own, not retryable on
 * this writer, before anything reaches the tape.
 */
export class StreamSourceOpener implements SourceOpener {
  async open(item: AssignItem, _options: SourceOpenOptions): Promise<ImageSource> {
    throw new SourceError(
      'UNSUPPORTED_SOURCE',
      '-',
      item.backupId,
      'stream images are not received by this writer yet (PULL socket pending)',
    );
  }
}

/** Dispatches each item to the opener of its source kind. */
export class SourceRouter implements SourceOpener {
  constructor(private readonly byKind: { disk: SourceOpener; stream: SourceOpener }) {}

  open(item: AssignItem, options: SourceOpenOptions): Promise<ImageSource> {
    return this.byKind[item.source.kind].open(item, options);
  }

  async close(): Promise<void> {
    await Promise.all([this.byKind.disk.close?.(), this.byKind.stream.close?.()]);
  }
}
