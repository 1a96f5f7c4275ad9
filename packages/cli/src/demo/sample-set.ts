/**
 * The demo's sample images: names and sizes as a backup catalog would show them. Sizes are
 * log-normal around a few megabytes (most backups of small hosts are small, a few are large), with
 * about one image in a hundred a large database dump. Pure and deterministic for a seed.
 */
import { Prng } from './prng';

export interface SampleImage {
  backupId: string;
  /** Path under the demo DSU root. */
  path: string;
  sizeBytes: number;
}

export interface SampleOptions {
  count: number;
  seed: number;
  /** Median image size in bytes (default 1.5 MB). */
  medianBytes?: number;
  /** Spread of ln(size) (default 1.0). */
  sigma?: number;
}

const MIN_BYTES = 4 * 1024;
const MAX_SMALL_BYTES = 48 * 1024 * 1024;
const HOSTS = ['web', 'db', 'mail', 'files', 'build', 'erp', 'crm', 'ldap'] as const;
const KINDS = ['full', 'incr', 'diff'] as const;

export function sampleImages(options: SampleOptions): SampleImage[] {
  const { count, seed } = options;
  if (!Number.isSafeInteger(count) || count < 1 || count > 10_000) {
    throw new RangeError(`sample image count must be an integer between 1 and 10000, got ${count}`);
  }
  const rng = new Prng(seed);
  const mu = Math.log(options.medianBytes ?? 1_500_000);
  const sigma = options.sigma ?? 1.0;
  const images: SampleImage[] = [];
  const width = String(count).length;
  for (let i = 0; i < count; i++) {
    const large = rng.next() < 0.01;
    let size: number;
    if (large) size = Math.round(24_000_000 + rng.next() * 40_000_000);
    else
      size = Math.round(Math.min(MAX_SMALL_BYTES, Math.max(MIN_BYTES, Math.exp(mu + sigma * rng.normal()))));
    const host = `${HOSTS[rng.nextU32() % HOSTS.length]}${String((rng.nextU32() % 12) + 1).padStart(2, '0')}`;
    const kind = large ? 'dump' : KINDS[rng.nextU32() % KINDS.length]!;
    const n = String(i + 1).padStart(width, '0');
    images.push({ backupId: `demo-${n}`, path: `clients/${host}/${host}_${n}_${kind}.img`, sizeBytes: size });
  }
  return images;
}

/** A seed per image, so its bytes do not depend on the other images. */
export function imageSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) + Math.imul(index + 1, 0x9e3779b1)) >>> 0;
}
