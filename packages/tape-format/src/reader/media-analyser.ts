import { createHash, type Hash } from 'node:crypto';
import type { TapeDevice } from '@tapedup/scsi';
import type { ImageKind } from '../constants';
import { checkDataPayload } from '../data-block';
import type { EmptyHeader } from '../empty-header';
import { TapeFormatError } from '../errors';
import type { FragmentEnd } from '../fragment-end';
import type { FragmentHeader } from '../fragment-header';
import type { ImageEntry } from '../image-entry';
import type { ImageTrailer } from '../image-trailer';
import type { VolumeLabel } from '../volume-label';
import { type ScanEvent, type ScanOptions, scanMedium, type TapeLocation } from './scanner';

/** One image as seen inside one fragment. */
export interface FragmentImageListing {
  entry: ImageEntry;
  /** Block number of the fragment header or image start record that put the image in the table. */
  introducedAt: number;
  /** True when an image start record (not the fragment header) introduced it: it joined a running fragment. */
  joined: boolean;
  dataBlocks: number;
  bytes: number;
  trailer: ImageTrailer | undefined;
  trailerAt: number | undefined;
}

interface FileCommon {
  tapeFile: number;
  /** Logical object number of the tape file's first block. */
  blockNumber: number;
  /** Blocks in the tape file (not counting the filemark). */
  blocks: number;
  /** Logical object number of the filemark that closes the tape file; undefined when end of data closes it. */
  filemarkAt: number | undefined;
}

/** One tape file of a medium, by what its first block is. */
export type TapeFileListing =
  | (FileCommon & { kind: 'label'; label: VolumeLabel })
  | (FileCommon & {
      kind: 'fragment';
      header: FragmentHeader;
      images: FragmentImageListing[];
      end: FragmentEnd | undefined;
    })
  | (FileCommon & { kind: 'empty-header'; emptyHeader: EmptyHeader })
  | (FileCommon & { kind: 'unrecognised' });

/** Everything on one medium, in tape order. */
export interface MediumListing {
  device: string;
  label: VolumeLabel | undefined;
  files: TapeFileListing[];
  /** Where end of data is. */
  endOfData: TapeLocation | undefined;
  /** The last tape file is an empty header: the last MPX group ended and nothing was written after it. */
  endsWithEmptyHeader: boolean;
  /** Every format problem met on the medium, each naming its block. */
  problems: TapeFormatError[];
}

/** Where one fragment of an image copy is. */
export interface FragmentLocation {
  device: string;
  barcode: string | undefined;
  labelId: string | undefined;
  tapeFile: number;
  /** Block number of the fragment header (the fragment's block address). */
  blockNumber: number;
  /** Block number of the header or image start record that introduced the image. */
  introducedAt: number;
  fragmentIndex: number;
  /** Offset within the image of the fragment's first byte for this image. */
  offset: number;
  /** Bytes and data blocks of the image in this fragment. */
  bytes: number;
  blocks: number;
  firstSequence: number;
  fromOtherMedium: boolean;
}

/**
 * - `ok`: trailer found, bytes, blocks and SHA-256 match, every block CRC good.
 * - `unverified`: as `ok`, but the image began on a medium that was not read, so the SHA-256 could not be computed.
 * - `incomplete`: no trailer found: the image continues on a medium not read, or was cut short.
 * - `aborted`: the writer marked the image failed (aborted trailer).
 * - `corrupt`: a CRC, sequence, continuity or trailer check failed (see `problems`).
 */
export type ImageVerdict = 'ok' | 'unverified' | 'incomplete' | 'aborted' | 'corrupt';

/** One occurrence of an image copy on the media read (a chain of fragments from offset 0 to its trailer). */
export interface ImageReport {
  backupId: string;
  copy: number;
  kind: ImageKind;
  totalSize: number | undefined;
  verdict: ImageVerdict;
  /** Offset of the first byte read (0 unless the chain began on a medium not read). */
  startOffset: number;
  /** Offset after the last byte read (the image size when complete). */
  endOffset: number;
  blocks: number;
  /** SHA-256 (hex) computed over the bytes read, when the chain began at offset 0 and hashing was on. */
  sha256: string | undefined;
  trailer: ImageTrailer | undefined;
  fragments: FragmentLocation[];
  problems: TapeFormatError[];
}

export interface AnalyseOptions extends Pick<ScanOptions, 'maxBlockSize'> {
  /** Compute each image's SHA-256 and compare it with its trailer (default true). */
  hash?: boolean | undefined;
}

export interface Analysis {
  media: MediumListing[];
  images: ImageReport[];
}

interface Chain {
  report: ImageReport;
  hash: Hash | undefined;
  corrupt: boolean;
}

interface TagState {
  listing: FragmentImageListing;
  chain: Chain;
  location: FragmentLocation;
  ended: boolean;
}

/**
 * Reads media in order, block by block, and builds the listing of each medium plus one report per
 * image copy occurrence, following images across fragments and media (pass spanning media in order).
 * Memory: one block plus per-image counters; never an image's data.
 */
export async function analyseMedia(
  devices: readonly TapeDevice[],
  options: AnalyseOptions = {},
): Promise<Analysis> {
  const analyser = new MediaAnalyser(options.hash ?? true);
  for (const device of devices) {
    analyser.beginMedium(device.name);
    for await (const event of scanMedium(device, { maxBlockSize: options.maxBlockSize }))
      analyser.consume(event);
  }
  return analyser.finish();
}

class MediaAnalyser {
  private readonly media: MediumListing[] = [];
  private readonly images: ImageReport[] = [];
  private readonly open = new Map<string, Chain>();
  private medium!: MediumListing;
  private file: TapeFileListing | undefined;
  private tags = new Map<number, TagState>();
  /** Bad blocks of the current tape file whose owner is not known yet. */
  private unowned: TapeFormatError[] = [];

  constructor(private readonly hashing: boolean) {}

  beginMedium(device: string): void {
    this.medium = {
      device,
      label: undefined,
      files: [],
      endOfData: undefined,
      endsWithEmptyHeader: false,
      problems: [],
    };
    this.media.push(this.medium);
    this.file = undefined;
    this.tags = new Map();
    this.unowned = [];
  }

  finish(): Analysis {
    for (const chain of this.open.values()) this.close(chain);
    this.open.clear();
    return { media: this.media, images: this.images };
  }

  consume(event: ScanEvent): void {
    if (event.type === 'filemark' || event.type === 'end-of-data') {
      this.endFile(event);
      return;
    }
    const first = this.file === undefined;
    if (first) this.file = this.newFile(event);
    else this.file!.blocks += 1;
    const file = this.file!;
    switch (event.type) {
      case 'volume-label':
        if (file.kind !== 'label' || !first) this.unexpected(event.at, 'volume label');
        break;
      case 'fragment-header':
        if (file.kind === 'fragment' && first) {
          for (const entry of event.header.images) this.addImage(file, entry, event.at, false);
        } else {
          this.unexpected(event.at, 'fragment header');
        }
        break;
      case 'image-start':
        if (file.kind !== 'fragment') {
          this.unexpected(event.at, 'image start record');
          break;
        }
        for (const entry of event.start.images) {
          if (this.tags.has(entry.tag)) {
            this.problem(
              new TapeFormatError('BAD_FIELD', `image start reuses tag ${entry.tag}`, {
                field: 'tag',
                tag: entry.tag,
              }),
              event.at,
            );
          } else {
            this.addImage(file, entry, event.at, true);
          }
        }
        break;
      case 'data':
        this.data(event);
        break;
      case 'image-trailer':
        this.trailer(event.trailer, event.at);
        break;
      case 'fragment-end':
        if (file.kind === 'fragment' && file.end === undefined) file.end = event.end;
        else this.unexpected(event.at, 'fragment end record');
        break;
      case 'empty-header':
        if (file.kind !== 'empty-header' || !first) this.unexpected(event.at, 'empty header');
        break;
      case 'bad-block': {
        // A block whose header cannot be trusted has no known owner. Its owner shows itself later by a
        // sequence gap (or a block count short of its trailer); the block is then blamed as the cause.
        const owner = event.error.tag === undefined ? undefined : this.tags.get(event.error.tag);
        this.problem(event.error, event.at, owner ? [owner.chain] : []);
        if (!owner) this.unowned.push(event.error);
        break;
      }
    }
  }

  private newFile(event: Exclude<ScanEvent, { type: 'filemark' | 'end-of-data' }>): TapeFileListing {
    const common: FileCommon = {
      tapeFile: event.at.tapeFile,
      blockNumber: event.at.blockNumber,
      blocks: 1,
      filemarkAt: undefined,
    };
    let file: TapeFileListing;
    if (event.type === 'volume-label' && event.at.tapeFile === 0) {
      this.medium.label = event.label;
      file = { ...common, kind: 'label', label: event.label };
    } else if (event.type === 'fragment-header') {
      file = { ...common, kind: 'fragment', header: event.header, images: [], end: undefined };
      this.checkOwnership(event.header.labelId, event.header.tapeFile, event.at);
    } else if (event.type === 'empty-header') {
      file = { ...common, kind: 'empty-header', emptyHeader: event.emptyHeader };
      this.checkOwnership(event.emptyHeader.labelId, event.emptyHeader.tapeFile, event.at);
    } else {
      // The block itself is reported by consume(): a data block has no tag table, a label is misplaced…
      file = { ...common, kind: 'unrecognised' };
    }
    if (event.at.tapeFile === 0 && file.kind !== 'label') {
      this.problem(
        new TapeFormatError('NO_LABEL', 'tape file 0 does not start with a volume label'),
        event.at,
      );
    }
    this.medium.files.push(file);
    return file;
  }

  private checkOwnership(labelId: string, tapeFile: number, at: TapeLocation): void {
    const label = this.medium.label;
    if (label !== undefined && label.labelId !== labelId) {
      this.problem(
        new TapeFormatError('BAD_FIELD', 'block belongs to another labelling of the medium', {
          field: 'labelId',
        }),
        at,
      );
    }
    if (tapeFile !== at.tapeFile) {
      this.problem(
        new TapeFormatError(
          'BAD_FIELD',
          `header says tape file ${tapeFile}, found in tape file ${at.tapeFile}`,
          {
            field: 'tapeFile',
          },
        ),
        at,
      );
    }
  }

  private endFile(event: Extract<ScanEvent, { type: 'filemark' | 'end-of-data' }>): void {
    if (event.type === 'filemark') {
      // Two filemarks in a row leave an empty tape file; list it so file numbers stay aligned.
      const file = this.file ?? this.emptyFile(event.at);
      file.filemarkAt = event.at.blockNumber;
    } else {
      this.medium.endOfData = event.at;
      const last = this.medium.files.at(-1);
      this.medium.endsWithEmptyHeader = last?.kind === 'empty-header';
    }
    this.file = undefined;
    this.tags = new Map();
    this.unowned = [];
  }

  private emptyFile(at: TapeLocation): TapeFileListing {
    const file: TapeFileListing = {
      kind: 'unrecognised',
      tapeFile: at.tapeFile,
      blockNumber: at.blockNumber,
      blocks: 0,
      filemarkAt: undefined,
    };
    this.medium.files.push(file);
    return file;
  }

  private addImage(
    file: Extract<TapeFileListing, { kind: 'fragment' }>,
    entry: ImageEntry,
    at: TapeLocation,
    joined: boolean,
  ): void {
    const listing: FragmentImageListing = {
      entry,
      introducedAt: at.blockNumber,
      joined,
      dataBlocks: 0,
      bytes: 0,
      trailer: undefined,
      trailerAt: undefined,
    };
    file.images.push(listing);
    const location: FragmentLocation = {
      device: this.medium.device,
      barcode: this.medium.label?.barcode,
      labelId: this.medium.label?.labelId,
      tapeFile: file.tapeFile,
      blockNumber: file.blockNumber,
      introducedAt: at.blockNumber,
      fragmentIndex: entry.fragmentIndex,
      offset: entry.offset,
      bytes: 0,
      blocks: 0,
      firstSequence: entry.firstSequence,
      fromOtherMedium: entry.fromOtherMedium,
    };
    const chain = this.chainFor(entry, at);
    chain.report.fragments.push(location);
    this.tags.set(entry.tag, { listing, chain, location, ended: false });
  }

  private chainFor(entry: ImageEntry, at: TapeLocation): Chain {
    const key = `${entry.copy}\u0000${entry.backupId}`;
    const existing = this.open.get(key);
    if (existing !== undefined) {
      const r = existing.report;
      const continues =
        entry.fragmentIndex > 0 &&
        r.endOffset === entry.offset &&
        r.blocks === entry.firstSequence &&
        (r.startOffset > 0 || r.fragments.length === entry.fragmentIndex);
      if (continues) return existing;
      if (entry.fragmentIndex > 0) {
        this.problem(
          new TapeFormatError(
            'DISCONTINUITY',
            `fragment ${entry.fragmentIndex} at offset ${entry.offset} does not continue the image at ${r.endOffset}`,
            { field: 'offset', backupId: entry.backupId, copy: entry.copy },
          ),
          at,
          [existing],
        );
      }
      // Either a fresh start of the image (an earlier, unfinished attempt) or a broken chain: close the old one.
      this.close(existing);
      this.open.delete(key);
    }
    const chain: Chain = {
      report: {
        backupId: entry.backupId,
        copy: entry.copy,
        kind: entry.kind,
        totalSize: entry.totalSize,
        verdict: 'incomplete',
        startOffset: entry.offset,
        endOffset: entry.offset,
        blocks: entry.firstSequence,
        sha256: undefined,
        trailer: undefined,
        fragments: [],
        problems: [],
      },
      hash: this.hashing && entry.fragmentIndex === 0 ? createHash('sha256') : undefined,
      corrupt: false,
    };
    this.open.set(key, chain);
    return chain;
  }

  private data(event: Extract<ScanEvent, { type: 'data' }>): void {
    const { header, at } = event;
    const state = this.tags.get(header.tag);
    if (state === undefined || state.ended) {
      const code = state === undefined ? 'UNKNOWN_TAG' : 'UNEXPECTED_BLOCK';
      this.problem(
        new TapeFormatError(
          code,
          `data block for tag ${header.tag} ${state ? 'after its trailer' : 'not in the image table'}`,
          {
            tag: header.tag,
            sequence: header.sequence,
          },
        ),
        at,
      );
      return;
    }
    const { chain, listing, location } = state;
    const r = chain.report;
    if (header.sequence !== r.blocks) {
      this.blame(chain);
      this.problem(
        new TapeFormatError(
          'SEQUENCE_GAP',
          `tag ${header.tag}: expected sequence ${r.blocks}, found ${header.sequence}`,
          {
            tag: header.tag,
            sequence: header.sequence,
            backupId: r.backupId,
            copy: r.copy,
          },
        ),
        at,
        [chain],
      );
      r.blocks = header.sequence;
    }
    try {
      const payload = checkDataPayload(event.block, header);
      chain.hash?.update(payload);
    } catch (error) {
      if (!(error instanceof TapeFormatError)) throw error;
      this.problem(error, at, [chain]);
    }
    r.blocks += 1;
    r.endOffset += header.payloadLength;
    listing.dataBlocks += 1;
    listing.bytes += header.payloadLength;
    location.blocks += 1;
    location.bytes += header.payloadLength;
  }

  private trailer(trailer: ImageTrailer, at: TapeLocation): void {
    const state = this.tags.get(trailer.tag);
    if (state === undefined || state.ended) {
      this.problem(
        new TapeFormatError(
          state ? 'UNEXPECTED_BLOCK' : 'UNKNOWN_TAG',
          `trailer for tag ${trailer.tag} unexpected here`,
          {
            tag: trailer.tag,
          },
        ),
        at,
      );
      return;
    }
    state.ended = true;
    state.listing.trailer = trailer;
    state.listing.trailerAt = at.blockNumber;
    const { chain } = state;
    const r = chain.report;
    r.trailer = trailer;
    const mismatch = (field: string, found: number | string, stored: number | string): void =>
      this.problem(
        new TapeFormatError('TRAILER_MISMATCH', `${field}: read ${found}, trailer says ${stored}`, {
          field,
          tag: trailer.tag,
          backupId: r.backupId,
          copy: r.copy,
        }),
        at,
        [chain],
      );
    // Once a chain is corrupt its counts and digest are off by consequence; do not report them again.
    if (trailer.status === 'complete' && !chain.corrupt) {
      if (trailer.totalBytes !== r.endOffset) mismatch('totalBytes', r.endOffset, trailer.totalBytes);
      if (trailer.blockCount !== r.blocks) {
        this.blame(chain);
        mismatch('blockCount', r.blocks, trailer.blockCount);
      }
      if (r.totalSize !== undefined && r.totalSize !== trailer.totalBytes)
        mismatch('totalSize', r.totalSize, trailer.totalBytes);
      if (chain.hash !== undefined) {
        const stored = Buffer.from(trailer.sha256).toString('hex');
        const found = chain.hash.copy().digest('hex');
        if (stored !== found) mismatch('sha256', found, stored);
      }
    }
    this.close(chain);
    this.open.delete(`${r.copy}\u0000${r.backupId}`);
  }

  private close(chain: Chain): void {
    const r = chain.report;
    if (chain.hash !== undefined) r.sha256 = chain.hash.digest('hex');
    if (r.trailer?.status === 'aborted') r.verdict = 'aborted';
    else if (chain.corrupt) r.verdict = 'corrupt';
    else if (r.trailer === undefined) r.verdict = 'incomplete';
    else r.verdict = chain.hash !== undefined ? 'ok' : 'unverified';
    this.images.push(r);
  }

  /** The chain lost a block: the unowned bad blocks seen so far in the fragment are the likely cause. */
  private blame(chain: Chain): void {
    chain.corrupt = true;
    chain.report.problems.push(...this.unowned);
    this.unowned = [];
  }

  private unexpected(at: TapeLocation, what: string): void {
    this.problem(new TapeFormatError('UNEXPECTED_BLOCK', `${what} not allowed here`), at);
  }

  private problem(error: TapeFormatError, at: TapeLocation, chains: Chain[] = []): void {
    error.at(at);
    this.medium.problems.push(error);
    for (const chain of chains) {
      chain.corrupt = true;
      chain.report.problems.push(error);
    }
  }
}
