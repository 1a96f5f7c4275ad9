/**
 * Workloads: the images a simulation duplicates, from a preset (W1–W5 of the benchmark plan) or a JSON
 * file, and the seeded generator that turns a workload into concrete image sizes.
 */
import { PROFILES, type ProfileName } from '@tapedup/virtual-drive';
import { invalidWorkload } from './errors';
import { type DriveHistory, parseHistory } from './history';
import { createRandom, logNormal, logUniform } from './random';

const KB = 1000;
const MB = 1_000_000;
const GB = 1_000_000_000;

/** How image sizes are drawn. */
export type SizeDistribution =
  | {
      readonly kind: 'log-normal';
      readonly medianBytes: number;
      /** σ of the underlying normal. */
      readonly sigma: number;
      /** Sizes are clamped to [minBytes, maxBytes] (defaults 1 byte and unbounded). */
      readonly minBytes?: number | undefined;
      readonly maxBytes?: number | undefined;
    }
  | { readonly kind: 'log-uniform'; readonly minBytes: number; readonly maxBytes: number }
  | { readonly kind: 'fixed'; readonly bytes: number };

/** One image given explicitly in a workload file. */
export interface ExplicitImage {
  readonly sizeBytes: number;
  /** 0..100 (default 0). */
  readonly priority?: number | undefined;
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  /** Number of images drawn from `sizes`, or the images themselves. */
  readonly images: number | readonly ExplicitImage[];
  /** Required when `images` is a number. */
  readonly sizes?: SizeDistribution | undefined;
  /** Drive profile (default LTO-9). */
  readonly profile: ProfileName;
  /** Drives writing in parallel. */
  readonly drives: number;
  /** Tape copies of every image, each on its own drive. */
  readonly copies: number;
  /** Random media errors per byte written (0: none). */
  readonly faultRatePerByte: number;
  /** How many seeds a benchmark runs by default. */
  readonly seeds: number;
  /**
   * Each drive's record before the run, restored into the drive statistics when a run asks for it
   * (`history: 'workload'`); without it, or in a cold run, every drive starts with no history.
   */
  readonly history?: DriveHistory | undefined;
}

/** An image of a generated workload. */
export interface SimImage {
  readonly imageId: string;
  readonly sizeBytes: number;
  readonly priority: number;
}

const W1_SIZES: SizeDistribution = {
  kind: 'log-normal',
  medianBytes: 20 * MB,
  sigma: 1.5,
  maxBytes: 50 * GB,
};

/**
 * The presets' drive history: each drive wrote a previous job of 1 TB under the workload's own error
 * process (W3: errors drawn at 1 per 100 GB with the run's seed, about 10; the others: none), as the
 * catalog of a site that has run the drive before would record it.
 */
const PRESET_HISTORY: DriveHistory = { bytesWritten: 1e12, errors: 'drawn' };

const BASE = {
  profile: 'LTO-9',
  drives: 1,
  copies: 1,
  faultRatePerByte: 0,
  seeds: 3,
  history: PRESET_HISTORY,
} as const;

/** The workloads of the benchmark plan (issue 7), LTO-9 unless said otherwise. */
export const PRESETS: Readonly<Record<'W1' | 'W2' | 'W3' | 'W4' | 'W5', Workload>> = Object.freeze({
  W1: {
    ...BASE,
    name: 'W1',
    description: '10,000 images, log-normal, median 20 MB, σ 1.5, capped at 50 GB',
    images: 10_000,
    sizes: W1_SIZES,
  },
  W2: {
    ...BASE,
    name: 'W2',
    description: '500 images, log-normal, median 2 GB, σ 1',
    images: 500,
    sizes: { kind: 'log-normal', medianBytes: 2 * GB, sigma: 1 },
  },
  W3: {
    ...BASE,
    name: 'W3',
    description: 'W1 with random media errors at 1 per 100 GB written, 20 seeds',
    images: 10_000,
    sizes: W1_SIZES,
    faultRatePerByte: 1 / (100 * GB),
    seeds: 20,
  },
  W4: {
    ...BASE,
    name: 'W4',
    description: '50,000 images, 64 KB – 4 MB, log-uniform',
    images: 50_000,
    sizes: { kind: 'log-uniform', minBytes: 64 * KB, maxBytes: 4 * MB },
  },
  W5: {
    ...BASE,
    name: 'W5',
    description: 'W1 on LTO-7 with 2 copies on 2 drives',
    images: 10_000,
    sizes: W1_SIZES,
    profile: 'LTO-7',
    drives: 2,
    copies: 2,
  },
});

export type PresetName = keyof typeof PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

/** Draws the images of `workload` for `seed`; the same seed gives the same sizes. */
export function generateImages(workload: Workload, seed: number): SimImage[] {
  // Image ids travel in protocol messages: keep them to the protocol's id characters.
  const prefix = workload.name.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 64);
  if (typeof workload.images !== 'number') {
    return workload.images.map((img, i) => ({
      imageId: `${prefix}-${i}`,
      sizeBytes: img.sizeBytes,
      priority: img.priority ?? 0,
    }));
  }
  const sizes = workload.sizes;
  if (sizes === undefined) throw invalidWorkload('sizes', 'is required when images is a count');
  const random = createRandom(seed);
  const out: SimImage[] = [];
  for (let i = 0; i < workload.images; i++) {
    let bytes: number;
    switch (sizes.kind) {
      case 'fixed':
        bytes = sizes.bytes;
        break;
      case 'log-uniform':
        bytes = logUniform(random, sizes.minBytes, sizes.maxBytes);
        break;
      case 'log-normal':
        bytes = logNormal(random, sizes.medianBytes, sizes.sigma);
        bytes = Math.min(sizes.maxBytes ?? Number.POSITIVE_INFINITY, Math.max(sizes.minBytes ?? 1, bytes));
        break;
    }
    out.push({ imageId: `${prefix}-${i}`, sizeBytes: Math.max(1, Math.round(bytes)), priority: 0 });
  }
  return out;
}

/** A copy of `workload` with its image count scaled by `factor` (at least one image), for quick runs. */
export function scaleWorkload(workload: Workload, factor: number): Workload {
  if (typeof workload.images !== 'number') return workload;
  return { ...workload, images: Math.max(1, Math.round(workload.images * factor)) };
}

// ------------------------------------------------------------------ validation of workload files

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function positive(field: string, v: unknown, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw invalidWorkload(field, `must be a positive ${integer ? 'integer' : 'number'}`, v);
  }
  return v;
}

function optionalPositive(field: string, v: unknown): number | undefined {
  return v === undefined ? undefined : positive(field, v);
}

function parseSizes(v: unknown): SizeDistribution {
  if (!isRecord(v)) throw invalidWorkload('sizes', 'must be an object', v);
  switch (v.kind) {
    case 'fixed':
      return { kind: 'fixed', bytes: positive('sizes.bytes', v.bytes) };
    case 'log-uniform': {
      const minBytes = positive('sizes.minBytes', v.minBytes);
      const maxBytes = positive('sizes.maxBytes', v.maxBytes);
      if (maxBytes < minBytes) throw invalidWorkload('sizes.maxBytes', 'must be at least minBytes', maxBytes);
      return { kind: 'log-uniform', minBytes, maxBytes };
    }
    case 'log-normal': {
      const sigma = v.sigma;
      if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0)
        throw invalidWorkload('sizes.sigma', 'must be a number >= 0', sigma);
      return {
        kind: 'log-normal',
        medianBytes: positive('sizes.medianBytes', v.medianBytes),
        sigma,
        minBytes: optionalPositive('sizes.minBytes', v.minBytes),
        maxBytes: optionalPositive('sizes.maxBytes', v.maxBytes),
      };
    }
    default:
      throw invalidWorkload('sizes.kind', 'must be log-normal, log-uniform or fixed', v.kind);
  }
}

const WORKLOAD_KEYS = new Set([
  'name',
  'description',
  'images',
  'sizes',
  'profile',
  'drives',
  'copies',
  'faultRatePerByte',
  'seeds',
  'history',
]);

/**
 * Validates a workload read from a JSON file. `images` is a count (with `sizes`) or an array of
 * `{ sizeBytes, priority? }`; every other field has the presets' default, except `history`
 * (`{ bytesWritten, errors?, syncCostSeconds? }`, `errors` a count or `"drawn"`, the default), which
 * a file's workload has only when it says so. Throws a `SimulatorError`
 * (`INVALID_WORKLOAD`) naming the field.
 */
export function parseWorkload(input: unknown, fallbackName = 'custom'): Workload {
  if (!isRecord(input)) throw invalidWorkload('(workload)', 'must be a JSON object', input);
  for (const key of Object.keys(input)) {
    if (!WORKLOAD_KEYS.has(key)) throw invalidWorkload(key, 'is not a workload field', input[key]);
  }
  const name = input.name ?? fallbackName;
  if (typeof name !== 'string' || name.length === 0) throw invalidWorkload('name', 'must be a string', name);
  let images: Workload['images'];
  let sizes: SizeDistribution | undefined;
  if (typeof input.images === 'number') {
    images = positive('images', input.images, true);
    sizes = parseSizes(input.sizes);
  } else if (Array.isArray(input.images) && input.images.length > 0) {
    images = input.images.map((img: unknown, i) => {
      if (!isRecord(img)) throw invalidWorkload(`images[${i}]`, 'must be an object', img);
      const priority = img.priority;
      if (
        priority !== undefined &&
        (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > 100)
      ) {
        throw invalidWorkload(`images[${i}].priority`, 'must be an integer 0..100', priority);
      }
      return { sizeBytes: positive(`images[${i}].sizeBytes`, img.sizeBytes, true), priority };
    });
  } else {
    throw invalidWorkload('images', 'must be a positive count or a non-empty array of images', input.images);
  }
  const profile = input.profile ?? 'LTO-9';
  if (typeof profile !== 'string' || !Object.hasOwn(PROFILES, profile) || profile === 'untimed') {
    throw invalidWorkload('profile', 'must be LTO-7, LTO-8 or LTO-9', profile);
  }
  const drives = input.drives === undefined ? 1 : positive('drives', input.drives, true);
  const copies = input.copies === undefined ? 1 : positive('copies', input.copies, true);
  if (copies > drives) throw invalidWorkload('copies', 'must not exceed drives', copies);
  const fault = input.faultRatePerByte ?? 0;
  if (typeof fault !== 'number' || !(fault >= 0 && fault < 1))
    throw invalidWorkload('faultRatePerByte', 'must be a number in [0, 1)', fault);
  const description = input.description ?? '';
  if (typeof description !== 'string') throw invalidWorkload('description', 'must be a string', description);
  return {
    name,
    description,
    images,
    sizes,
    profile: profile as ProfileName,
    drives,
    copies,
    faultRatePerByte: fault,
    seeds: input.seeds === undefined ? 3 : positive('seeds', input.seeds, true),
    history: parseHistory(input.history),
  };
}
