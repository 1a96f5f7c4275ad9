import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupIdFor } from './paths';
import { specsFromDirectory, specsFromList } from './resolve';

let dir: string;
let dsus: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tapedup-cli-'));
  const root = join(dir, 'dsu1');
  await mkdir(join(root, 'hosts/web01'), { recursive: true });
  await mkdir(join(root, 'hosts/db01'), { recursive: true });
  await writeFile(join(root, 'hosts/web01/full.img'), Buffer.alloc(1234, 1));
  await writeFile(join(root, 'hosts/web01/incr.img'), Buffer.alloc(10, 2));
  await writeFile(join(root, 'hosts/db01/dump.img'), Buffer.alloc(777, 3));
  await writeFile(join(dir, 'secret'), 'outside the DSU');
  await symlink(join(dir, 'secret'), join(root, 'hosts/escape.img'));
  dsus = { dsu1: root };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('specsFromDirectory', () => {
  it('walks a DSU subdirectory in path order with sizes from stat, skipping symlinks', async () => {
    const specs = await specsFromDirectory('dsu1', 'hosts', dsus);
    expect(specs.map((s) => [s.source, s.sizeBytes])).toEqual([
      [{ kind: 'disk', dsu: 'dsu1', path: 'hosts/db01/dump.img' }, 777],
      [{ kind: 'disk', dsu: 'dsu1', path: 'hosts/web01/full.img' }, 1234],
      [{ kind: 'disk', dsu: 'dsu1', path: 'hosts/web01/incr.img' }, 10],
    ]);
    expect(specs[0]!.backupId).toBe('dsu1:hosts.db01.dump.img');
  });

  it('walks the whole DSU for an empty subdirectory and applies the id prefix', async () => {
    const specs = await specsFromDirectory('dsu1', '', dsus, { idPrefix: 'n1-', priority: 70 });
    expect(specs).toHaveLength(3);
    expect(specs[1]).toMatchObject({ backupId: 'n1-hosts.web01.full.img', priority: 70 });
  });

  it('refuses a subdirectory that leaves the DSU', async () => {
    await expect(specsFromDirectory('dsu1', '../', dsus)).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_DSU',
      field: '--dir',
    });
    await expect(specsFromDirectory('dsu1', 'hosts/../..', dsus)).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_DSU',
    });
  });

  it('refuses an empty selection and an unknown DSU', async () => {
    await mkdir(join(dsus.dsu1!, 'empty'), { recursive: true });
    await expect(specsFromDirectory('dsu1', 'empty', dsus)).rejects.toMatchObject({
      code: 'INVALID_IMAGE_LIST',
    });
    await expect(specsFromDirectory('dsu9', '', dsus)).rejects.toMatchObject({ code: 'UNKNOWN_DSU' });
  });
});

describe('specsFromList', () => {
  it('stats each listed file', async () => {
    const specs = await specsFromList([{ dsu: 'dsu1', path: 'hosts/web01/full.img', line: 1 }], dsus);
    expect(specs).toEqual([
      {
        backupId: 'dsu1:hosts.web01.full.img',
        sizeBytes: 1234,
        source: { kind: 'disk', dsu: 'dsu1', path: 'hosts/web01/full.img' },
      },
    ]);
  });

  it('refuses a symlink that leads outside the DSU root', async () => {
    await expect(
      specsFromList([{ dsu: 'dsu1', path: 'hosts/escape.img', line: 3 }], dsus),
    ).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_DSU',
      field: 'line 3',
    });
  });

  it('reports a missing file and a directory', async () => {
    await expect(
      specsFromList([{ dsu: 'dsu1', path: 'hosts/none.img', line: 1 }], dsus),
    ).rejects.toMatchObject({
      code: 'SOURCE_NOT_FOUND',
    });
    await expect(specsFromList([{ dsu: 'dsu1', path: 'hosts', line: 1 }], dsus)).rejects.toMatchObject({
      code: 'INVALID_IMAGE_LIST',
    });
  });
});

describe('backupIdFor', () => {
  it('maps any path to a SafeId, keeping the tail of long ones', () => {
    expect(backupIdFor('d:', 'a b/ç.img')).toBe('d:a_b._.img');
    const long = backupIdFor('', `${'x'.repeat(200)}/end.img`);
    expect(long).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    expect(long.endsWith('end.img')).toBe(true);
    expect(backupIdFor('', `${'y'.repeat(200)}/end.img`)).not.toBe(long);
  });
});
