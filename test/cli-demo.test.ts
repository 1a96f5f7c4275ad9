/**
 * The main job, `tapedup demo`, as a user runs it: the built command starts the real duplicator and
 * tape writers, duplicates a small sample set over the sockets, reads every copy back and prints the
 * JSON summary. Needs the built processes (`pnpm run build`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const entries = ['cli', 'duplicator', 'tape-writer'].map((p) => join(root, 'packages', p, 'dist/main.js'));
const missing = entries.filter((e) => !existsSync(e));
let dir: string | undefined;
let work: string | undefined;
let started: ChildProcess | undefined;

afterAll(async () => {
  if (started && started.exitCode === null) {
    started.kill('SIGKILL');
    await new Promise((ok) => started!.once('exit', ok));
  }
  for (const d of [dir, work]) if (d) await rm(d, { recursive: true, force: true });
});

function run(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [entries[0]!, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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

describe.skipIf(missing.length > 0)(
  `tapedup demo${missing.length > 0 ? ` (not built: ${missing.join(', ')})` : ''}`,
  () => {
    it('duplicates 40 images over two drives, verifies every copy and reports the summary', async () => {
      dir = await mkdtemp(join(tmpdir(), 'tapedup-demo-'));
      const child = spawn(process.execPath, [entries[0]!, 'demo', '--images', '40', '--dir', dir, '--json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const code = await new Promise<number | null>((ok) => child.once('close', ok));
      expect(code, stderr).toBe(0);
      const summary = JSON.parse(stdout);
      expect(summary).toMatchObject({
        ok: true,
        outcome: 'done',
        images: 40,
        copies: 1,
        committed: 40,
        abandoned: 0,
      });
      expect(summary.verification).toMatchObject({ checked: 40, verified: 40, mismatches: [] });
      expect(summary.verification.bytesVerified).toBe(summary.bytes);
      expect(summary.drives).toHaveLength(2);
      expect(summary.drives.reduce((s: number, d: { images: number }) => s + d.images, 0)).toBe(40);
      // Deferral happened: fewer synchronous filemarks than images, and sync-every would cost more.
      expect(summary.filemarks.synchronous).toBeGreaterThan(0);
      expect(summary.filemarks.synchronous).toBeLessThan(40);
      expect(
        summary.filemarks.immediate + summary.filemarks.synchronous - summary.filemarks.failedSyncs,
      ).toBeGreaterThanOrEqual(40);
      expect(summary.modelMs.syncEvery).toBeGreaterThan(summary.modelMs.tape);
      expect(summary.wallMs.total).toBeGreaterThanOrEqual(summary.wallMs.duplicate + summary.wallMs.verify);
    }, 300_000);

    it('start, submit --wait, status, catalog, verify, restore and rebuild-catalog against the real processes', async () => {
      work = await mkdtemp(join(tmpdir(), 'tapedup-start-'));
      const cwd = work;
      expect((await run(['init'], cwd)).code).toBe(0);
      const data = [
        Buffer.alloc(300_000, 7),
        createHash('sha512').update('x').digest(),
        Buffer.alloc(2_000_000, 9),
      ];
      await mkdir(join(cwd, 'dsu1/h'), { recursive: true });
      for (const [i, bytes] of data.entries()) await writeFile(join(cwd, `dsu1/h/img${i}.img`), bytes);

      const proc = spawn(process.execPath, [entries[0]!, 'start'], {
        cwd,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      started = proc;
      const stopped = new Promise<number | null>((ok) => proc.once('exit', ok));

      // submit waits for the duplicator's sockets itself (ZMTP handshake), so nothing waits here.
      const submitted = await run(
        ['submit', '--dir', 'dsu1:h', '--copies', '2', '--wait', '--json', '--timeout', '120'],
        cwd,
      );
      expect(submitted.code, submitted.stderr).toBe(0);
      const out = JSON.parse(submitted.stdout);
      expect(out).toMatchObject({ images: 3, copies: 2, outcome: 'done', committed: 6, failed: 0 });

      const status = JSON.parse((await run(['status', out.requestId, '--json'], cwd)).stdout);
      expect(status.requests[0]).toMatchObject({ requestId: out.requestId, state: 'done' });

      const copies = JSON.parse((await run(['catalog', 'copies', '--json'], cwd)).stdout).copies;
      expect(copies).toHaveLength(6);
      expect(new Set(copies.map((c: { state: string }) => c.state))).toEqual(new Set(['committed']));

      const verify = await run(['verify', '--json'], cwd);
      expect(verify.code, verify.stderr).toBe(0);
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, checked: 6, verified: 6, mismatches: [] });

      const restored = await run(
        ['restore', 'dsu1:h.img2.img', '--copy', '2', '--out', join(cwd, 'out.img'), '--json'],
        cwd,
      );
      expect(restored.code, restored.stderr).toBe(0);
      expect((await readFile(join(cwd, 'out.img'))).equals(data[2]!)).toBe(true);

      const rebuilt = JSON.parse((await run(['rebuild-catalog', '--json'], cwd)).stdout);
      const complete = rebuilt.images.filter((i: { status: string }) => i.status === 'ok');
      expect(
        complete.map((i: { backupId: string; copy: number }) => `${i.backupId}/${i.copy}`).sort(),
      ).toEqual(copies.map((c: { backupId: string; copy: number }) => `${c.backupId}/${c.copy}`).sort());

      proc.kill('SIGTERM');
      expect(await stopped).toBe(0);
    }, 300_000);
  },
);
