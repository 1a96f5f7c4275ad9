/**
 * The built command's read side over a real catalog and real cartridges, without the processes:
 * cartridges written in the tapedup format into the virtual library, a SQLite catalog filled through
 * the duplicator's Catalog (one copy cataloged with a wrong digest), then `catalog`, `verify`,
 * `restore` and `rebuild-catalog` run as a user runs them.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TapeBuilder, testBytes } from '@tapedup/tape-format/testing';
import { RealClock, TgtCartridgeFile, VirtualDrive, VirtualLibrary } from '@tapedup/virtual-drive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleConfigText } from '../packages/cli/src/config/sample';
import { Catalog } from '../packages/duplicator/src/catalog';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'packages/cli/dist/main.js');
const a = testBytes(70_000, 11);
const b = testBytes(5_000, 12);
const sha = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
let dir: string;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((ok) => child.once('close', (code) => ok({ code, stdout, stderr })));
}

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`pnpm run build\` first`);
  dir = await mkdtemp(join(tmpdir(), 'tapedup-cli-cat-'));
  await writeFile(
    join(dir, 'tapedup.yaml'),
    sampleConfigText({ stateDir: './state', dsu: { d: './dsu' }, drives: 1 }),
  );
  const library = await VirtualLibrary.open(join(dir, 'state/library'), {
    pools: { default: 2 },
    drives: ['drive0'],
  });
  const medium = await TgtCartridgeFile.open(library.cartridgePath('TD0001L9'));
  const drive = new VirtualDrive({ name: 'writer', clock: new RealClock(), profile: 'untimed', medium });
  await drive.open();
  const builder = new TapeBuilder(drive, {
    labelId: '11111111-2222-4333-8444-555555555555',
    barcode: 'TD0001L9',
    pool: 'default',
    createdAt: 1,
  });
  await builder.writeLabel();
  const at = [
    await builder.writeFragment({ images: [builder.cursor({ backupId: 'img-a', data: a })] }),
    await builder.writeFragment({ images: [builder.cursor({ backupId: 'img-b', data: b })] }),
  ];
  const end = await drive.readPosition();
  await drive.writeFilemarks(0, { immediate: false });
  await drive.close();
  await medium.close();
  await library.setState('TD0001L9', 'active');

  const catalog = new Catalog({ path: join(dir, 'state/catalog.sqlite') });
  try {
    catalog.addMedium('TD0001L9', 'default', 'active');
    catalog.registerDrive('drive0', 'virtual:lib#drive0');
    catalog.submitRequest({
      id: 'R1',
      pool: 'default',
      images: [
        { backupId: 'img-a', size: a.length, source: { dsu: 'd', path: 'a.img' } },
        { backupId: 'img-b', size: b.length, source: { dsu: 'd', path: 'b.img' } },
      ],
    });
    const queued = catalog.nextQueued(10);
    const batch = catalog.openBatch('drive0', 'TD0001L9');
    const digests = [sha(a), 'f'.repeat(64)]; // img-b is cataloged with a digest the tape does not hold
    const committed = queued.map((q, i) => {
      catalog.startWriting(q.copyId, 'drive0', 'TD0001L9');
      const pos = { fileNumber: at[i]!.tapeFile, blockAddress: at[i]!.blockNumber };
      catalog.markWritten(q.copyId, batch.id, { ...pos, bytes: q.size, sha256: digests[i]! });
      return { copyId: q.copyId, medium: 'TD0001L9', ...pos, sha256: digests[i]! };
    });
    catalog.commitBatch(batch.id, {
      committed,
      positionAfterSync: { fileNumber: end.fileNumber ?? 3, blockAddress: end.blockNumber },
      syncDurationMs: 1,
    });
  } finally {
    catalog.close();
  }
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('catalog, verify, restore and rebuild-catalog over real cartridges', () => {
  it('lists committed copies and media from the catalog', async () => {
    const copies = JSON.parse((await run(['catalog', 'copies', '--json'])).stdout).copies;
    expect(
      copies.map((c: { backupId: string; state: string; medium: string }) => [c.backupId, c.state, c.medium]),
    ).toEqual([
      ['img-a', 'committed', 'TD0001L9'],
      ['img-b', 'committed', 'TD0001L9'],
    ]);
    const images = JSON.parse((await run(['catalog', 'images', '--json'])).stdout).images;
    expect(images[0]).toMatchObject({
      requestId: 'R1',
      backupId: 'img-a',
      dsu: 'd',
      path: 'a.img',
      committed: 1,
      copies: 1,
    });
    const media = await run(['catalog', 'media']);
    expect(media.stdout).toContain('TD0001L9');
  });

  it('verifies the good copy and reports the one whose cataloged digest is wrong', async () => {
    const result = await run(['verify', '--json']);
    expect(result.code).toBe(1);
    const outcome = JSON.parse(result.stdout);
    expect(outcome).toMatchObject({ ok: false, checked: 2, verified: 1, bytesVerified: a.length });
    expect(outcome.mismatches).toEqual([
      expect.objectContaining({ backupId: 'img-b', reason: 'CATALOG_SHA_MISMATCH' }),
    ]);
  });

  it('restores a copy byte for byte and refuses one that differs from the catalog', async () => {
    const ok = await run(['restore', 'img-a', '--out', join(dir, 'a.out'), '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      backupId: 'img-a',
      copy: 1,
      bytes: a.length,
      sha256: sha(a),
    });
    expect(Buffer.from(await readFile(join(dir, 'a.out'))).equals(Buffer.from(a))).toBe(true);
    const bad = await run(['restore', 'img-b', '--out', join(dir, 'b.out')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('VERIFY_FAILED');
    expect(existsSync(join(dir, 'b.out'))).toBe(false);
    const none = await run(['restore', 'img-z', '--out', join(dir, 'z.out')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('NOT_FOUND');
  });

  it('rebuilds the records from the tape alone', async () => {
    const rebuilt = JSON.parse((await run(['rebuild-catalog', '--json'])).stdout);
    expect(rebuilt.media).toEqual([
      expect.objectContaining({ device: 'TD0001L9', barcode: 'TD0001L9', pool: 'default' }),
    ]);
    expect(
      rebuilt.images.map((i: { backupId: string; status: string; sha256: string }) => [
        i.backupId,
        i.status,
        i.sha256,
      ]),
    ).toEqual([
      ['img-a', 'ok', sha(a)],
      ['img-b', 'ok', sha(b)],
    ]);
  });
});
