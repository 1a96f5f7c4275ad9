/**
 * Writes the demo's disk storage unit: each sample image as a file of seeded pseudo-random bytes, and
 * a manifest of sizes and SHA-256 digests. A DSU whose manifest matches (same seed, same images) is
 * reused as it is, so a second run does not rewrite hundreds of megabytes.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Prng } from './prng';
import { imageSeed, type SampleImage } from './sample-set';

export interface DsuFile extends SampleImage {
  sha256: string;
}

interface Manifest {
  version: 1;
  seed: number;
  files: DsuFile[];
}

const CHUNK = 1024 * 1024;

function sameImages(a: readonly SampleImage[], b: readonly SampleImage[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (x, i) => x.path === b[i]!.path && x.sizeBytes === b[i]!.sizeBytes && x.backupId === b[i]!.backupId,
    )
  );
}

/** Creates (or reuses) the DSU under `root`; returns every file with its digest. */
export async function writeDemoDsu(
  root: string,
  images: readonly SampleImage[],
  seed: number,
): Promise<{ files: DsuFile[]; reused: boolean }> {
  const manifestPath = join(root, 'manifest.json');
  try {
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
    if (manifest.version === 1 && manifest.seed === seed && sameImages(manifest.files, images)) {
      return { files: manifest.files, reused: true };
    }
  } catch {
    // No usable manifest: write the DSU afresh.
  }
  await rm(root, { recursive: true, force: true });
  const buffer = new Uint8Array(CHUNK);
  const files: DsuFile[] = [];
  for (const [index, image] of images.entries()) {
    const path = join(root, image.path);
    await mkdir(dirname(path), { recursive: true });
    const rng = new Prng(imageSeed(seed, index));
    const hash = createHash('sha256');
    const file = await open(path, 'w', 0o644);
    try {
      for (let left = image.sizeBytes; left > 0; left -= CHUNK) {
        const chunk = left >= CHUNK ? buffer : buffer.subarray(0, left);
        rng.fill(chunk);
        hash.update(chunk);
        await file.write(chunk);
      }
    } finally {
      await file.close();
    }
    files.push({ ...image, sha256: hash.digest('hex') });
  }
  // The manifest goes last: it marks the DSU complete.
  await writeFile(manifestPath, `${JSON.stringify({ version: 1, seed, files } satisfies Manifest)}\n`);
  return { files, reused: false };
}
