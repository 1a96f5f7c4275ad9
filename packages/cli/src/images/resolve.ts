/** Turning named sources into ImageSpecs: sizes from `stat`, directories walked. The I/O edge. */
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageSpec } from '@tapedup/protocol';
import { CliError } from '../errors';
import { backupIdFor, relPathProblem, resolveInside } from './paths';
import type { ListedImage } from './sources';

export interface SpecOptions {
  /** Prefix of derived backup ids (default: `<dsu>:`). */
  idPrefix?: string | undefined;
  priority?: number | undefined;
}

function uniqueIds(specs: ImageSpec[]): ImageSpec[] {
  const seen = new Map<string, number>();
  return specs.map((spec) => {
    const n = seen.get(spec.backupId) ?? 0;
    seen.set(spec.backupId, n + 1);
    return n === 0 ? spec : { ...spec, backupId: `${spec.backupId.slice(0, 120)}-${n + 1}` };
  });
}

/** Stats each listed file under its DSU root (never outside it) and builds its ImageSpec. */
export async function specsFromList(
  listed: readonly ListedImage[],
  dsus: Readonly<Record<string, string>>,
  options: SpecOptions = {},
): Promise<ImageSpec[]> {
  const specs: ImageSpec[] = [];
  for (const item of listed) {
    const root = dsus[item.dsu];
    if (root === undefined) throw new CliError('UNKNOWN_DSU', `line ${item.line}: unknown DSU ${item.dsu}`);
    const real = await resolveInside(root, item.path, `line ${item.line}`);
    const info = await stat(real);
    if (!info.isFile()) {
      throw new CliError('INVALID_IMAGE_LIST', `line ${item.line}: ${item.path} is not a regular file`, {
        field: `line ${item.line}`,
      });
    }
    specs.push(spec(item.dsu, item.path, info.size, options));
  }
  return uniqueIds(specs);
}

function spec(dsu: string, path: string, size: number, options: SpecOptions): ImageSpec {
  const out: ImageSpec = {
    backupId: backupIdFor(options.idPrefix ?? `${dsu}:`, path),
    sizeBytes: size,
    source: { kind: 'disk', dsu, path },
  };
  if (options.priority !== undefined) out.priority = options.priority;
  return out;
}

/**
 * Every regular file under `subdir` of the DSU (`''` for the whole DSU), in path order. Symbolic
 * links are not followed (a link could lead outside the root); `subdir` itself must stay inside.
 */
export async function specsFromDirectory(
  dsu: string,
  subdir: string,
  dsus: Readonly<Record<string, string>>,
  options: SpecOptions = {},
): Promise<ImageSpec[]> {
  const root = dsus[dsu];
  if (root === undefined) {
    throw new CliError('UNKNOWN_DSU', `option --dir: unknown disk storage unit ${JSON.stringify(dsu)}`, {
      field: '--dir',
    });
  }
  const start = subdir === '' || subdir === '.' ? '' : subdir.replace(/\/+$/, '');
  if (start !== '') {
    const problem = relPathProblem(start);
    if (problem !== undefined) {
      throw new CliError('PATH_OUTSIDE_DSU', `option --dir: ${JSON.stringify(subdir)} ${problem}`, {
        field: '--dir',
      });
    }
    await resolveInside(root, start, 'option --dir');
  }
  const files: { path: string; size: number }[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (relPathProblem(child) !== undefined) continue;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) files.push({ path: child, size: (await lstat(join(root, child))).size });
    }
  };
  await walk(start);
  if (files.length === 0) {
    throw new CliError('INVALID_IMAGE_LIST', `option --dir: no files under ${dsu}:${start || '.'}`, {
      field: '--dir',
    });
  }
  return uniqueIds(files.map((f) => spec(dsu, f.path, f.size, options)));
}
