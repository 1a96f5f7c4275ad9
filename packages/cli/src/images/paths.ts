/**
 * Paths under a disk storage unit root. A DSU path is relative, `/`-separated, with no empty, `.` or
 * `..` segment, no backslash and no control character (the protocol's RelPath), and it must resolve
 * inside its root. These checks are pure; {@link resolveInside} adds the symlink check on disk.
 */
import { realpath } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { CliError } from '../errors';

/** Why a relative path is refused, or undefined when it is acceptable. */
export function relPathProblem(path: string): string | undefined {
  if (path.length === 0) return 'is empty';
  if (path.length > 4096) return 'is longer than 4096 characters';
  if (path.startsWith('/')) return 'is absolute (paths are relative to the DSU root)';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return 'contains a control character';
    if (c === 0x5c) return 'contains a backslash';
  }
  for (const segment of path.split('/')) {
    if (segment === '') return 'has an empty segment';
    if (segment === '.' || segment === '..')
      return `has a "${segment}" segment (it may not leave the DSU root)`;
  }
  return undefined;
}

/** True when `child` (absolute) is `root` or lies under it. */
export function isInside(root: string, child: string): boolean {
  const r = relative(root, child);
  return (
    r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !r.startsWith(sep) && resolve(root, r) === child)
  );
}

/**
 * Resolves `path` under `root` and confirms, after following symlinks, that it stays inside the
 * root. Throws `PATH_OUTSIDE_DSU` (field `field`) otherwise and `SOURCE_NOT_FOUND` when missing.
 */
export async function resolveInside(root: string, path: string, field: string): Promise<string> {
  const problem = relPathProblem(path);
  if (problem !== undefined)
    throw new CliError('PATH_OUTSIDE_DSU', `${field}: path ${JSON.stringify(path)} ${problem}`, { field });
  const joined = resolve(root, path);
  if (!isInside(resolve(root), joined)) {
    throw new CliError('PATH_OUTSIDE_DSU', `${field}: ${JSON.stringify(path)} leaves the DSU root`, {
      field,
    });
  }
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([realpath(joined), realpath(root)]);
  } catch (cause) {
    throw new CliError('SOURCE_NOT_FOUND', `${field}: ${joined} does not exist`, { field, cause });
  }
  if (!isInside(realRoot, real)) {
    throw new CliError(
      'PATH_OUTSIDE_DSU',
      `${field}: ${JSON.stringify(path)} is a link that leaves the DSU root`,
      {
        field,
      },
    );
  }
  return real;
}

const SAFE = /[^A-Za-z0-9._:-]+/g;

/**
 * A backup id (SafeId: 1..128 of [A-Za-z0-9._:-]) derived from a DSU path: other characters become
 * `_`, and a long path keeps its tail (the file name is the useful part) behind a short hash.
 */
export function backupIdFor(prefix: string, path: string): string {
  const id = `${prefix}${path.replace(/\//g, '.').replace(SAFE, '_')}`;
  if (id.length <= 128) return id;
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return `${h.toString(16).padStart(8, '0')}-${id.slice(-119)}`;
}
