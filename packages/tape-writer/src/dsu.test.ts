import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDsuRoots, resolveSource, resolveSourceSync, SourceError } from './dsu';

let base: string;
let roots: Map<string, string>;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'dsu-'));
  mkdirSync(join(base, 'dsu1', 'sub'), { recursive: true });
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(base, 'dsu1', 'sub', 'img1'), Buffer.alloc(1234, 7));
  writeFileSync(join(base, 'outside', 'secret'), 'x');
  symlinkSync(join(base, 'outside', 'secret'), join(base, 'dsu1', 'escape'));
  symlinkSync(join(base, 'dsu1', 'sub', 'img1'), join(base, 'dsu1', 'alias'));
  roots = parseDsuRoots([`main=${join(base, 'dsu1')}`]);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SourceError);
    return (err as SourceError).code;
  }
  throw new Error('expected a SourceError');
}

describe.each([
  ['resolveSource', resolveSource],
  // The disk worker's variant: the same checks with blocking calls.
  ['resolveSourceSync', async (...args: Parameters<typeof resolveSourceSync>) => resolveSourceSync(...args)],
] as const)('%s', (_name, resolveSource) => {
  it('resolves a file inside the root and reports its size', async () => {
    const r = await resolveSource(roots, 'main', 'sub/img1', 1234);
    expect(r.sizeBytes).toBe(1234);
    expect(r.absolutePath.endsWith(join('dsu1', 'sub', 'img1'))).toBe(true);
  });
  it('follows a symlink that stays inside the root', async () => {
    expect((await resolveSource(roots, 'main', 'alias')).sizeBytes).toBe(1234);
  });
  it('refuses traversal, absolute paths, escaping symlinks and NUL bytes', async () => {
    expect(await codeOf(resolveSource(roots, 'main', '../outside/secret'))).toBe('PATH_TRAVERSAL');
    expect(await codeOf(resolveSource(roots, 'main', 'sub/../../outside/secret'))).toBe('PATH_TRAVERSAL');
    expect(await codeOf(resolveSource(roots, 'main', join(base, 'outside', 'secret')))).toBe(
      'PATH_TRAVERSAL',
    );
    expect(await codeOf(resolveSource(roots, 'main', 'escape'))).toBe('PATH_TRAVERSAL');
    expect(await codeOf(resolveSource(roots, 'main', 'sub/img1\0'))).toBe('PATH_TRAVERSAL');
    expect(await codeOf(resolveSource(roots, 'main', '.'))).toBe('PATH_TRAVERSAL');
  });
  it('names unknown storage units, missing files, directories and size mismatches', async () => {
    expect(await codeOf(resolveSource(roots, 'nope', 'sub/img1'))).toBe('UNKNOWN_DSU');
    expect(await codeOf(resolveSource(roots, 'main', 'sub/missing'))).toBe('NOT_FOUND');
    expect(await codeOf(resolveSource(roots, 'main', 'sub'))).toBe('NOT_A_FILE');
    expect(await codeOf(resolveSource(roots, 'main', 'sub/img1', 99))).toBe('SIZE_MISMATCH');
  });
});

describe('parseDsuRoots', () => {
  it('parses name=root pairs and rejects bad entries naming the option', () => {
    expect(parseDsuRoots(['a=/x', 'b=/y/']).get('b')).toBe('/y');
    expect(() => parseDsuRoots(['relative=x'])).toThrow(/option "dsu"/);
    expect(() => parseDsuRoots(['=/x'])).toThrow(/option "dsu"/);
    expect(() => parseDsuRoots(['a=/x', 'a=/y'])).toThrow(/duplicate/);
  });
});
