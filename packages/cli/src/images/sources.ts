/**
 * The three ways `tapedup submit` names its images, parsed into protocol ImageSpecs:
 * - a file list: one `dsu:relative/path` per line (blank lines and `#` comments skipped);
 * - a directory: every regular file under a DSU subdirectory;
 * - JSON: the protocol's ImageSpec array (or `{ "images": [...] }`).
 * Parsing is pure; sizes come from `stat` in {@link ./resolve}.
 */
import { type ImageSpec, isProtocolError, parseMessage } from '@tapedup/protocol';
import { CliError } from '../errors';
import { relPathProblem } from './paths';

/** One entry of a file list, before its size is known. */
export interface ListedImage {
  dsu: string;
  path: string;
  /** 1-based line number in the list, for messages. */
  line: number;
}

const DSU_NAME = /^[A-Za-z0-9._:-]{1,128}$/;

/** Parses a file list. `dsus` are the configured DSU names; any other is refused. */
export function parseFileList(text: string, dsus: readonly string[], source = 'file list'): ListedImage[] {
  const out: ListedImage[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${source} line ${i + 1}`;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      throw new CliError(
        'INVALID_IMAGE_LIST',
        `${where}: expected dsu:relative/path, got ${JSON.stringify(line)}`,
        {
          field: `line ${i + 1}`,
        },
      );
    }
    const dsu = line.slice(0, colon);
    const path = line.slice(colon + 1);
    if (!DSU_NAME.test(dsu) || !dsus.includes(dsu)) {
      throw new CliError(
        'UNKNOWN_DSU',
        `${where}: unknown disk storage unit ${JSON.stringify(dsu)} (configured: ${dsus.join(', ') || 'none'})`,
        { field: `line ${i + 1}` },
      );
    }
    const problem = relPathProblem(path);
    if (problem !== undefined) {
      throw new CliError('PATH_OUTSIDE_DSU', `${where}: path ${JSON.stringify(path)} ${problem}`, {
        field: `line ${i + 1}`,
      });
    }
    out.push({ dsu, path, line: i + 1 });
  }
  if (out.length === 0) throw new CliError('INVALID_IMAGE_LIST', `${source}: names no image`);
  return out;
}

/**
 * Parses a JSON image list: an array of ImageSpec or an object with an `images` array. Each spec is
 * checked with the protocol's own schema; a refusal names the field (`images.3.sizeBytes`). Disk
 * sources must name a configured DSU.
 */
export function parseImageJson(text: string, dsus: readonly string[], source = 'JSON'): ImageSpec[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new CliError('INVALID_IMAGE_LIST', `${source}: not JSON (${(cause as Error).message})`, { cause });
  }
  const images =
    typeof value === 'object' && value !== null && !Array.isArray(value) && 'images' in value
      ? (value as { images: unknown }).images
      : value;
  if (!Array.isArray(images)) {
    throw new CliError(
      'INVALID_IMAGE_LIST',
      `${source}: expected an array of image specs or { "images": [...] }`,
      {
        field: 'images',
      },
    );
  }
  let specs: ImageSpec[];
  try {
    // The submit schema carries the ImageSpec rules (strict keys, ranges, distinct backupIds).
    const probe = parseMessage(
      { v: 1, type: 'submit', id: 'probe', images, copies: 1, pool: 'probe', priority: 0 },
      { accept: ['submit'] },
    );
    specs = probe.images;
  } catch (error) {
    if (isProtocolError(error)) {
      throw new CliError('INVALID_IMAGE_LIST', `${source}: ${error.field ?? 'images'}: ${error.message}`, {
        field: error.field,
      });
    }
    throw error;
  }
  specs.forEach((spec, i) => {
    if (spec.source.kind === 'disk' && !dsus.includes(spec.source.dsu)) {
      throw new CliError(
        'UNKNOWN_DSU',
        `${source}: images.${i}.source.dsu: unknown disk storage unit ${JSON.stringify(spec.source.dsu)}`,
        {
          field: `images.${i}.source.dsu`,
        },
      );
    }
  });
  return specs;
}
