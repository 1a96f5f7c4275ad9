import { createHash, type Hash } from 'node:crypto';
import type { TapeDevice } from '@tapedup/scsi';
import { checkInteger } from '../bytes';
import { checkDataPayload } from '../data-block';
import { TapeFormatError } from '../errors';
import type { ImageEntry } from '../image-entry';
import type { VolumeLabel } from '../volume-label';
import type { FragmentLocation } from './media-analyser';
import { type ScanEvent, scanMedium, type TapeLocation } from './scanner';

/**
 * Where restored bytes go. `write` is awaited before the next block is read (backpressure: the
 * reader never holds more than one block). `reset` is called when bytes already written turn out
 * to belong to an abandoned attempt (an aborted trailer, or the image starting again from byte 0
 * further on): the sink must discard what it has. Without `reset`, such a restore fails instead.
 */
export interface ImageSink {
  write(chunk: Uint8Array): void | Promise<void>;
  reset?(): void | Promise<void>;
}

export interface RestoreOptions {
  /**
   * Called when the image continues beyond the media passed (spanning): returns the next medium,
   * open and loaded, or undefined when there is none.
   */
  nextMedium?:
    | ((after: { device: string; label: VolumeLabel | undefined }) => Promise<TapeDevice | undefined>)
    | undefined;
  /** Start reading the first medium at this tape file (from a catalog) instead of scanning from BOT. */
  startAt?: { tapeFile: number; blockNumber?: number | undefined } | undefined;
  /** Largest block to read; default each device's `maxBlockSize`. */
  maxBlockSize?: number | undefined;
}

export interface RestoreResult {
  backupId: string;
  copy: number;
  bytes: number;
  blocks: number;
  /** SHA-256 (hex), checked against the trailer. */
  sha256: string;
  fragments: FragmentLocation[];
}

interface Progress {
  hash: Hash;
  bytes: number;
  blocks: number;
  fragments: FragmentLocation[];
}

/**
 * Streams one image copy to `sink`, demultiplexing MPX fragments, checking every block's CRC32C and
 * sequence and the trailer's size, block count and SHA-256, following the image across fragments
 * and across media (the devices in order, then `nextMedium`). Rejects with a {@link TapeFormatError}
 * naming the block at fault: `BAD_CRC`, `SEQUENCE_GAP`, `DISCONTINUITY`, `TRAILER_MISMATCH`,
 * `IMAGE_ABORTED`, `INCOMPLETE_IMAGE` (its end is on no medium given), `IMAGE_NOT_FOUND`.
 */
export async function restoreImage(
  media: TapeDevice | readonly TapeDevice[],
  image: { backupId: string; copy: number },
  sink: ImageSink,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  checkInteger(image.copy, 'copy', 1, 0xffff);
  const queue = Array.isArray(media) ? [...media] : [media as TapeDevice];
  const ident = { backupId: image.backupId, copy: image.copy };
  let progress: Progress | undefined;
  let startAt = options.startAt;
  let previous: { device: string; label: VolumeLabel | undefined } | undefined;

  let abandoned: TapeFormatError | undefined;
  const restart = async (reason: TapeFormatError): Promise<void> => {
    if (progress === undefined) return;
    abandoned = reason;
    if (progress.bytes > 0) {
      if (sink.reset === undefined) throw reason;
      await sink.reset();
    }
    progress = undefined;
  };

  for (;;) {
    const device = queue.shift() ?? (previous && (await options.nextMedium?.(previous)));
    if (device === undefined) break;
    let label: VolumeLabel | undefined;
    // Our image's tag in the current fragment, whether it ended there, and the first bad block of
    // unknown owner since our last good block (the cause, should our sequence turn out broken).
    let tag: number | undefined;
    let ended = false;
    let fragment: { tapeFile: number; blockNumber: number } | undefined;
    let unowned: TapeFormatError | undefined;
    const scan = scanMedium(device, { maxBlockSize: options.maxBlockSize, from: startAt });
    startAt = undefined;
    for await (const event of scan as AsyncGenerator<ScanEvent>) {
      const at = event.at;
      switch (event.type) {
        case 'volume-label':
          label = event.label;
          break;
        case 'fragment-header':
          fragment = { tapeFile: at.tapeFile, blockNumber: at.blockNumber };
          tag = undefined;
          ended = false;
          for (const entry of event.header.images) await consider(entry, at);
          break;
        case 'image-start':
          for (const entry of event.start.images) await consider(entry, at);
          break;
        case 'data': {
          if (tag === undefined || ended || event.header.tag !== tag || progress === undefined) break;
          const p = progress;
          if (event.header.sequence !== p.blocks) {
            if (unowned !== undefined) throw unowned;
            throw new TapeFormatError(
              'SEQUENCE_GAP',
              `expected sequence ${p.blocks}, found ${event.header.sequence}`,
              { tag, sequence: event.header.sequence, ...ident },
            ).at(at);
          }
          let payload: Uint8Array;
          try {
            payload = checkDataPayload(event.block, event.header);
          } catch (error) {
            throw error instanceof TapeFormatError ? error.at(at) : error;
          }
          unowned = undefined;
          p.hash.update(payload);
          p.bytes += payload.length;
          p.blocks += 1;
          const location = p.fragments.at(-1)!;
          location.bytes += payload.length;
          location.blocks += 1;
          await sink.write(payload);
          break;
        }
        case 'image-trailer': {
          if (tag === undefined || ended || event.trailer.tag !== tag || progress === undefined) break;
          ended = true;
          const t = event.trailer;
          if (t.status === 'aborted') {
            await restart(
              new TapeFormatError('IMAGE_ABORTED', 'the image copy was aborted by its writer', ident).at(at),
            );
            break;
          }
          const p = progress;
          const sha256 = p.hash.digest('hex');
          const mismatch =
            t.totalBytes !== p.bytes ? 'totalBytes' : t.blockCount !== p.blocks ? 'blockCount' : undefined;
          const shaField = Buffer.from(t.sha256).toString('hex') !== sha256 ? 'sha256' : undefined;
          const field = mismatch ?? shaField;
          if (field !== undefined) {
            if (unowned !== undefined && field !== 'sha256') throw unowned;
            throw new TapeFormatError(
              'TRAILER_MISMATCH',
              `restored image differs from its trailer in ${field}`,
              {
                field,
                ...ident,
              },
            ).at(at);
          }
          await scan.return(undefined);
          return { ...ident, bytes: p.bytes, blocks: p.blocks, sha256, fragments: p.fragments };
        }
        case 'bad-block': {
          if (tag === undefined || ended || progress === undefined) break;
          if (event.error.tag === tag) throw event.error;
          // Owner unknown: if it was ours, the next block's sequence (or the trailer's count) shows it.
          if (event.error.tag === undefined) unowned ??= event.error;
          break;
        }
        case 'filemark':
        case 'end-of-data':
          tag = undefined;
          fragment = undefined;
          unowned = undefined;
          break;
        case 'fragment-end':
        case 'empty-header':
          break;
      }
    }
    previous = { device: device.name, label };

    async function consider(entry: ImageEntry, at: TapeLocation): Promise<void> {
      if (entry.backupId !== ident.backupId || entry.copy !== ident.copy || fragment === undefined) return;
      const location: FragmentLocation = {
        device: device!.name,
        barcode: label?.barcode,
        labelId: label?.labelId,
        tapeFile: fragment.tapeFile,
        blockNumber: fragment.blockNumber,
        introducedAt: at.blockNumber,
        fragmentIndex: entry.fragmentIndex,
        offset: entry.offset,
        bytes: 0,
        blocks: 0,
        firstSequence: entry.firstSequence,
        fromOtherMedium: entry.fromOtherMedium,
      };
      if (entry.fragmentIndex === 0) {
        // The image starts (again): anything restored so far was an abandoned attempt.
        await restart(
          new TapeFormatError(
            'DISCONTINUITY',
            'the image starts again from byte 0 after a partial copy',
            ident,
          ).at(at),
        );
        progress = { hash: createHash('sha256'), bytes: 0, blocks: 0, fragments: [location] };
      } else if (progress === undefined) {
        // The tail of an occurrence whose start we have not read: useless without its beginning.
        return;
      } else if (
        entry.offset !== progress.bytes ||
        entry.firstSequence !== progress.blocks ||
        entry.fragmentIndex !== progress.fragments.length
      ) {
        throw new TapeFormatError(
          'DISCONTINUITY',
          `fragment ${entry.fragmentIndex} starts at offset ${entry.offset}, restored so far ${progress.bytes}`,
          { field: 'offset', ...ident },
        ).at(at);
      } else {
        progress.fragments.push(location);
      }
      tag = entry.tag;
      ended = false;
    }
  }
  if (progress === undefined) {
    if (abandoned !== undefined) throw abandoned;
    throw new TapeFormatError(
      'IMAGE_NOT_FOUND',
      `image ${ident.backupId} copy ${ident.copy} is on none of the media`,
      ident,
    );
  }
  throw new TapeFormatError(
    'INCOMPLETE_IMAGE',
    `image ${ident.backupId} copy ${ident.copy}: ${progress.bytes} bytes read, its end is on no medium given`,
    ident,
  );
}
