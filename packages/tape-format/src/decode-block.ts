import { readMagic } from './bytes';
import { Magic } from './constants';
import { type DataBlock, decodeDataBlock } from './data-block';
import { decodeEmptyHeader, type EmptyHeader } from './empty-header';
import { describeMagic } from './envelope';
import { TapeFormatError } from './errors';
import { decodeFragmentEnd, type FragmentEnd } from './fragment-end';
import {
  decodeFragmentHeader,
  decodeImageStart,
  type FragmentHeader,
  type ImageStart,
} from './fragment-header';
import { decodeImageTrailer, type ImageTrailer } from './image-trailer';
import { decodeVolumeLabel, type VolumeLabel } from './volume-label';

/** Any block of the format, decoded and checked, discriminated by `type`. */
export type DecodedBlock =
  | { type: 'volume-label'; label: VolumeLabel }
  | { type: 'fragment-header'; header: FragmentHeader }
  | { type: 'image-start'; start: ImageStart }
  | { type: 'data'; block: DataBlock }
  | { type: 'image-trailer'; trailer: ImageTrailer }
  | { type: 'fragment-end'; end: FragmentEnd }
  | { type: 'empty-header'; emptyHeader: EmptyHeader };

export type BlockType = DecodedBlock['type'];

/** The block type a magic names, or undefined. Cheap: looks at the first four bytes only. */
export function blockTypeOf(block: Uint8Array): BlockType | undefined {
  switch (readMagic(block)) {
    case Magic.volumeLabel:
      return 'volume-label';
    case Magic.fragmentHeader:
      return 'fragment-header';
    case Magic.imageStart:
      return 'image-start';
    case Magic.dataBlock:
      return 'data';
    case Magic.imageTrailer:
      return 'image-trailer';
    case Magic.fragmentEnd:
      return 'fragment-end';
    case Magic.emptyHeader:
      return 'empty-header';
    default:
      return undefined;
  }
}

/**
 * Decodes any block by its magic and verifies every CRC it carries. Throws {@link TapeFormatError}
 * (`BAD_MAGIC`, `BAD_CRC`, `BAD_VERSION`, `TRUNCATED`, `TRAILING_BYTES`, `BAD_FIELD`).
 */
export function decodeBlock(block: Uint8Array): DecodedBlock {
  const type = blockTypeOf(block);
  switch (type) {
    case 'volume-label':
      return { type, label: decodeVolumeLabel(block) };
    case 'fragment-header':
      return { type, header: decodeFragmentHeader(block) };
    case 'image-start':
      return { type, start: decodeImageStart(block) };
    case 'data':
      return { type, block: decodeDataBlock(block) };
    case 'image-trailer':
      return { type, trailer: decodeImageTrailer(block) };
    case 'fragment-end':
      return { type, end: decodeFragmentEnd(block) };
    case 'empty-header':
      return { type, emptyHeader: decodeEmptyHeader(block) };
    case undefined:
      throw new TapeFormatError('BAD_MAGIC', `unknown block magic: ${describeMagic(block)}`, {
        field: 'magic',
        offset: 0,
      });
  }
}
