import type { TapeDevice } from '@tapedup/scsi';
import { TapeFormatError } from '../errors';
import { type AnalyseOptions, analyseMedia, type ImageReport, type MediumListing } from './media-analyser';

export interface ListOptions {
  /** Largest block to read; default the device's `maxBlockSize`. */
  maxBlockSize?: number | undefined;
}

/**
 * Lists a medium: its label and every tape file (fragments with their images, block counts,
 * trailers and fragment end records, empty headers), with block addresses and filemark positions.
 * Checks every block's CRCs (problems are listed, not thrown). Rejects with `NO_LABEL` when the
 * medium has no volume label, and with the device's error when the device fails.
 */
export async function listTape(device: TapeDevice, options: ListOptions = {}): Promise<MediumListing> {
  const { media } = await analyseMedia([device], { maxBlockSize: options.maxBlockSize, hash: false });
  const listing = media[0]!;
  if (listing.label === undefined) {
    throw new TapeFormatError('NO_LABEL', `${device.name} has no tapedup volume label`, {
      device: device.name,
      tapeFile: 0,
      blockNumber: 0,
    });
  }
  return listing;
}

export interface VerifyResult {
  media: MediumListing[];
  /** One verdict per image copy occurrence, in the order their chains closed. */
  images: ImageReport[];
  /** True when every image is `ok` and no medium has a problem. */
  ok: boolean;
}

/**
 * Reads media end to end and verifies every image: each block's CRC32C, sequence continuity, and
 * each image's bytes, block count and SHA-256 against its trailer. Pass the media of a spanning
 * image in order to verify it whole; an image whose start is on a medium not passed is `unverified`.
 */
export async function verifyTape(
  devices: TapeDevice | readonly TapeDevice[],
  options: AnalyseOptions = {},
): Promise<VerifyResult> {
  const list = Array.isArray(devices) ? devices : [devices as TapeDevice];
  const analysis = await analyseMedia(list, { hash: true, ...options });
  const ok =
    analysis.images.every((image) => image.verdict === 'ok') &&
    analysis.media.every((m) => m.problems.length === 0);
  return { ...analysis, ok };
}
