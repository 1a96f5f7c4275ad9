import { realpathSync, statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * Disk storage units: the only places a tape writer may read source images from.
 * A source is named by (dsu, path relative to that DSU's root). Anything that
 * resolves outside the root — `..` segments, absolute paths, symlinks pointing
 * elsewhere — is refused before a single byte is read.
 */

export type SourceErrorCode =
  | 'UNKNOWN_DSU'
  | 'PATH_TRAVERSAL'
  | 'NOT_FOUND'
  | 'NOT_A_FILE'
  | 'SIZE_MISMATCH'
  | 'READ_FAILED'
  | 'SHORT_READ'
  | 'STREAM_CUT'
  | 'STREAM_ABORTED'
  | 'STREAM_PROTOCOL'
  | 'STREAM_ENDPOINT'
  | 'UNSUPPORTED_SOURCE';

export class SourceError extends Error {
  override readonly name = 'SourceError';
  readonly code: SourceErrorCode;
  readonly dsu: string;
  readonly path: string;
  /** A bad source never improves on retry; a failed read might. */
  readonly retryable: boolean;
  constructor(code: SourceErrorCode, dsu: string, path: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.dsu = dsu;
    this.path = path;
    this.retryable = code === 'READ_FAILED' || code === 'STREAM_CUT' || code === 'STREAM_ABORTED';
  }
}

export interface ResolvedSource {
  absolutePath: string;
  sizeBytes: number;
}

/** DSU name → absolute root directory. */
export type DsuRoots = ReadonlyMap<string, string>;

/** Parses `name=/abs/root` pairs (CLI and config form). Throws naming the offending entry. */
export function parseDsuRoots(entries: readonly string[]): Map<string, string> {
  const roots = new Map<string, string>();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq) : '';
    const root = eq > 0 ? entry.slice(eq + 1) : '';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name) || !isAbsolute(root)) {
      throw new TypeError(`option "dsu": expected name=/absolute/root, got ${JSON.stringify(entry)}`);
    }
    if (roots.has(name))
      throw new TypeError(`option "dsu": duplicate storage unit name ${JSON.stringify(name)}`);
    roots.set(name, resolve(root));
  }
  return roots;
}

function inside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** The file-system facts a source check needs: the real paths of the root and the source, the source's stat. */
interface SourceFacts {
  realRoot: string;
  real: string;
  isFile: boolean;
  size: number;
}

/** The checks that need no file system: a known DSU, a relative path that stays lexically inside it. */
function lexicalSource(roots: DsuRoots, dsu: string, path: string): { root: string; lexical: string } {
  const root = roots.get(dsu);
  if (root === undefined)
    throw new SourceError('UNKNOWN_DSU', dsu, path, `unknown disk storage unit "${dsu}"`);
  if (path.length === 0 || isAbsolute(path) || path.includes('\0')) {
    throw new SourceError(
      'PATH_TRAVERSAL',
      dsu,
      path,
      `source path must be relative to the storage unit root`,
    );
  }
  const lexical = resolve(root, path);
  if (!inside(root, lexical)) {
    throw new SourceError('PATH_TRAVERSAL', dsu, path, `source path leaves storage unit "${dsu}"`);
  }
  return { root, lexical };
}

/** The checks on what the file system said: the real path stays inside the real root, a file of the size announced. */
function checkFacts(dsu: string, path: string, facts: SourceFacts, expectedSize?: number): ResolvedSource {
  if (!inside(facts.realRoot, facts.real)) {
    throw new SourceError('PATH_TRAVERSAL', dsu, path, `source resolves outside storage unit "${dsu}"`);
  }
  if (!facts.isFile) throw new SourceError('NOT_A_FILE', dsu, path, `source is not a regular file`);
  if (expectedSize !== undefined && facts.size !== expectedSize) {
    throw new SourceError(
      'SIZE_MISMATCH',
      dsu,
      path,
      `source is ${facts.size} bytes, the request announced ${expectedSize}`,
    );
  }
  return { absolutePath: facts.real, sizeBytes: facts.size };
}

/**
 * Resolves a source to an absolute path inside its DSU root, following symlinks
 * (the real path must stay inside the real root) and checking the size the
 * request announced.
 */
export async function resolveSource(
  roots: DsuRoots,
  dsu: string,
  path: string,
  expectedSize?: number,
): Promise<ResolvedSource> {
  const { root, lexical } = lexicalSource(roots, dsu, path);
  let facts: SourceFacts;
  try {
    // All at once: each is a trip through the libuv pool. stat follows symlinks, so it describes
    // `real`; nothing of it is used unless `real` is inside the root.
    const [realRoot, real, st] = await Promise.all([realpath(root), realpath(lexical), stat(lexical)]);
    facts = { realRoot, real, isFile: st.isFile(), size: st.size };
  } catch (cause) {
    throw new SourceError('NOT_FOUND', dsu, path, `source not found in storage unit "${dsu}"`, cause);
  }
  return checkFacts(dsu, path, facts, expectedSize);
}

/**
 * {@link resolveSource} with blocking file-system calls, for a thread that exists to read sources
 * (the disk worker): the check then costs no trips through the libuv pool, which on a busy machine
 * each wait for a thread to be scheduled, on the next image's pickup path.
 */
export function resolveSourceSync(
  roots: DsuRoots,
  dsu: string,
  path: string,
  expectedSize?: number,
): ResolvedSource {
  const { root, lexical } = lexicalSource(roots, dsu, path);
  let facts: SourceFacts;
  try {
    const st = statSync(lexical);
    facts = { realRoot: realpathSync(root), real: realpathSync(lexical), isFile: st.isFile(), size: st.size };
  } catch (cause) {
    throw new SourceError('NOT_FOUND', dsu, path, `source not found in storage unit "${dsu}"`, cause);
  }
  return checkFacts(dsu, path, facts, expectedSize);
}
