import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../output/io';
import { runCli } from '../program';

interface Captured extends Io {
  stdout: string;
  stderr: string;
}

function capture(): Captured {
  const io: Captured = {
    stdout: '',
    stderr: '',
    live: false,
    out: (text) => {
      io.stdout += text;
    },
    err: (text) => {
      io.stderr += text;
    },
  };
  return io;
}

interface Summary {
  policy: string;
  images: number;
  immediateFilemarks: number;
  history: string;
  historyErrors: number;
}

let dir: string;
let small: string;
let faulty: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-sim-'));
  small = join(dir, 'small.json');
  faulty = join(dir, 'faulty.json');
  // Small images: one filemark per image costs more than the image's data on LTO-9.
  await writeFile(
    small,
    JSON.stringify({ name: 'small', images: 400, sizes: { kind: 'fixed', bytes: 1e6 } }),
  );
  await writeFile(
    faulty,
    JSON.stringify({
      name: 'faulty',
      images: 50,
      sizes: { kind: 'fixed', bytes: 1e8 },
      faultRatePerByte: 1e-10,
      history: { bytesWritten: 1e12, errors: 7 },
    }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function summaries(args: string[]): Promise<Summary[]> {
  const io = capture();
  const status = await runCli(['simulate', '--json', '--seeds', '1', ...args], io);
  expect(status, io.stderr).toBe(0);
  return (JSON.parse(io.stdout) as { summaries: Summary[] }).summaries;
}

describe('tapedup simulate', () => {
  it('--pack-images lets small deferred images share fragments: far fewer immediate filemarks', async () => {
    const [plain] = await summaries(['--workload', small, '--policy', 'adaptive']);
    const [packed] = await summaries(['--workload', small, '--policy', 'adaptive', '--pack-images']);
    expect(plain!.images).toBe(400);
    expect(packed!.images).toBe(400);
    expect(plain!.immediateFilemarks).toBeGreaterThan(350);
    expect(packed!.immediateFilemarks).toBeLessThan(plain!.immediateFilemarks / 4);
  }, 60_000);

  it('--history workload starts the drives with the workload history; cold (the default) without', async () => {
    const [cold] = await summaries(['--workload', faulty, '--policy', 'adaptive']);
    const [warm] = await summaries(['--workload', faulty, '--policy', 'adaptive', '--history', 'workload']);
    expect(cold).toMatchObject({ history: 'cold', historyErrors: 0 });
    expect(warm).toMatchObject({ history: 'workload', historyErrors: 7 });
  }, 60_000);

  it('refuses an unknown --history naming the option', async () => {
    const io = capture();
    const status = await runCli(['simulate', '--json', '--workload', small, '--history', 'lukewarm'], io);
    expect(status).not.toBe(0);
    expect(io.stdout + io.stderr).toContain('--history');
  });
});
