/**
 * The built `tapedup` command against real ZeroMQ sockets: `init`, and `submit` against a scheduler
 * endpoint that speaks the protocol (a ROUTER and a PUB bound by this test and answered with the
 * protocol codec), so the command's socket handling, reply correlation, event following, exit codes
 * and typed-refusal printing are exercised end to end. Needs `pnpm run build` (packages/cli/dist).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Message, MessageOf } from '@tapedup/protocol';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SchedulerEndpoint } from '../packages/cli/src/testing/scheduler-endpoint';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'packages/cli/dist/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], cwd: string): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<Run>((ok) => child.once('close', (code) => ok({ code, stdout, stderr })));
  return { child, done };
}

let dir: string;
const endpoints: SchedulerEndpoint[] = [];

beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`pnpm run build\` first`);
});

afterEach(async () => {
  for (const e of endpoints.splice(0)) e.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function setup(): Promise<SchedulerEndpoint> {
  dir = await mkdtemp(join(tmpdir(), 'tapedup-cli-proc-'));
  const init = await runCli(['init'], dir).done;
  expect(init.code).toBe(0);
  await mkdir(join(dir, 'dsu1/hosts'), { recursive: true });
  await writeFile(join(dir, 'dsu1/hosts/a.img'), Buffer.alloc(1000, 1));
  await writeFile(join(dir, 'dsu1/hosts/b.img'), Buffer.alloc(2500, 2));
  await mkdir(join(dir, '.tapedup'), { recursive: true });
  const endpoint = await SchedulerEndpoint.bind(
    `ipc://${join(dir, '.tapedup/scheduler.ipc')}`,
    `ipc://${join(dir, '.tapedup/events.ipc')}`,
  );
  endpoints.push(endpoint);
  return endpoint;
}

describe('tapedup init', () => {
  it('writes a valid sample configuration and refuses to overwrite it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tapedup-cli-proc-'));
    const first = await runCli(['init', '--json'], dir).done;
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({
      config: join(dir, 'tapedup.yaml'),
      stateDir: join(dir, '.tapedup'),
      drives: 2,
    });
    expect(await readFile(join(dir, 'tapedup.yaml'), 'utf8')).toContain('policy: adaptive');
    const again = await runCli(['init'], dir).done;
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
  });
});

describe('tapedup submit', () => {
  it('submits a directory, follows the events to request-done and prints the outcome', async () => {
    const server = await setup();
    const run = runCli(
      ['submit', '--dir', 'dsu1:hosts', '--copies', '2', '--priority', '70', '--wait', '--json'],
      dir,
    );
    const { from, message } = await server.receive();
    expect(message.type).toBe('submit');
    const submit = message as MessageOf<'submit'>;
    expect(submit).toMatchObject({ copies: 2, pool: 'default', priority: 70 });
    expect(submit.images).toEqual([
      {
        backupId: 'dsu1:hosts.a.img',
        sizeBytes: 1000,
        source: { kind: 'disk', dsu: 'dsu1', path: 'hosts/a.img' },
      },
      {
        backupId: 'dsu1:hosts.b.img',
        sizeBytes: 2500,
        source: { kind: 'disk', dsu: 'dsu1', path: 'hosts/b.img' },
      },
    ]);
    // The client subscribed before submitting (it waits for both handshakes), so these reach it.
    const at = Date.now();
    let n = 0;
    const ev = (type: string, fields: object) =>
      server.publish({ v: 1, type, id: `ev-${++n}`, at, ...fields } as unknown as Message);
    await server.reply(from, {
      v: 1,
      type: 'accepted',
      id: 'a1',
      re: submit.id,
      requestId: 'R42',
      streams: [],
    });
    const place = { driveId: 'drive0', medium: 'TD0001L9', fileNumber: 1, blockAddress: 2 };
    for (const img of submit.images) {
      for (const copy of [1, 2]) {
        await ev('image-written', {
          requestId: 'R42',
          backupId: img.backupId,
          copy,
          ...place,
          bytes: img.sizeBytes,
        });
        await ev('image-committed', {
          requestId: 'R42',
          backupId: img.backupId,
          copy,
          ...place,
          bytes: img.sizeBytes,
          sha256: 'a'.repeat(64),
        });
      }
    }
    await ev('image-retrying', {
      requestId: 'R42',
      backupId: 'dsu1:hosts.a.img',
      copy: 1,
      attempt: 2,
      reason: 'SYNC_FAILED',
    });
    await ev('request-done', {
      requestId: 'R42',
      outcome: 'done',
      images: 2,
      committed: 4,
      failed: 0,
      cancelled: 0,
      bytesCommitted: 7000,
      elapsedMs: 12,
    });
    const result = await run.done;
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      requestId: 'R42',
      images: 2,
      copies: 2,
      bytes: 3500,
      outcome: 'done',
      committed: 4,
      failed: 0,
      retries: 1,
      bytesCommitted: 7000,
    });
  });

  it('exits 1 when the request ends with abandoned copies', async () => {
    const server = await setup();
    const run = runCli(['submit', '--dir', 'dsu1', '--wait'], dir);
    const { from, message } = await server.receive();
    await server.reply(from, {
      v: 1,
      type: 'accepted',
      id: 'a1',
      re: message.id,
      requestId: 'R9',
      streams: [],
    });
    await server.publish({
      v: 1,
      type: 'request-done',
      id: 'd1',
      at: Date.now(),
      requestId: 'R9',
      outcome: 'partial',
      images: 2,
      committed: 1,
      failed: 1,
      cancelled: 0,
      bytesCommitted: 1000,
      elapsedMs: 3,
    });
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('R9 partial: 1 committed, 1 failed');
  });

  it('prints a typed rejection with its code and field and exits 2', async () => {
    const server = await setup();
    const run = runCli(['submit', '--dir', 'dsu1'], dir);
    const { from, message } = await server.receive();
    await server.reply(from, {
      v: 1,
      type: 'rejected',
      id: 'r1',
      re: message.id,
      code: 'UNKNOWN_DSU',
      message: 'no such DSU',
      field: 'images.0.source.dsu',
    });
    const result = await run.done;
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('UNKNOWN_DSU');
    expect(result.stderr).toContain('images.0.source.dsu');
  });

  it('prints a protocol error reply as JSON with --json and exits 2', async () => {
    const server = await setup();
    const run = runCli(['submit', '--dir', 'dsu1', '--json'], dir);
    const { from, message } = await server.receive();
    await server.reply(from, {
      v: 1,
      type: 'error',
      id: 'e1',
      re: message.id,
      code: 'INVALID_FIELD',
      message: 'copies: too big',
      field: 'copies',
    });
    const result = await run.done;
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        code: 'REFUSED',
        message: expect.stringContaining('INVALID_FIELD (field copies)'),
        field: 'copies',
        remoteCode: 'INVALID_FIELD',
      },
    });
  });

  it('refuses a file list entry that leaves the DSU before connecting', async () => {
    await setup();
    await writeFile(join(dir, 'list.txt'), 'dsu1:hosts/a.img\ndsu1:../tapedup.yaml\n');
    const result = await runCli(['submit', '--list', 'list.txt'], dir).done;
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PATH_OUTSIDE_DSU');
    expect(result.stderr).toContain('line 2');
  });
});
