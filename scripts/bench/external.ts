/**
 * Benchmarks that already exist as scripts, run as child processes and parsed: the catalog timings
 * (packages/duplicator/src/catalog/bench-catalog.ts) and the iSCSI figure (scripts/bench-iscsi.ts).
 * Each returns its figures or the reason it did not run.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

export type Outcome<T> =
  | { readonly ran: true; readonly value: T }
  | { readonly ran: false; readonly reason: string };

export interface CatalogFigures {
  readonly copies: number;
  readonly submit100kMs: number;
  readonly statusAllMs: number;
  readonly statusOneMs: number;
}

export async function catalogBench(copies: number): Promise<Outcome<CatalogFigures>> {
  const script = join(ROOT, 'packages/duplicator/src/catalog/bench-catalog.ts');
  if (!existsSync(script)) return { ran: false, reason: 'bench-catalog.ts not found' };
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script, String(copies)], {
      cwd: ROOT,
      maxBuffer: 1 << 20,
    });
    const fields = new Map(
      stdout
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/) as [string, string]),
    );
    const num = (k: string) => Number(fields.get(k));
    return {
      ran: true,
      value: {
        copies: num('copies'),
        submit100kMs: num('submit100kMedianMs'),
        statusAllMs: num('statusAllMedianMs'),
        statusOneMs: num('statusOneMedianMs'),
      },
    };
  } catch (error) {
    return { ran: false, reason: `bench-catalog failed: ${(error as Error).message.split('\n')[0]}` };
  }
}

export interface IscsiFigures {
  readonly cLoopMBps: number;
  readonly typescriptMBps: number;
  readonly ratio: number;
}

export async function iscsiBench(): Promise<Outcome<IscsiFigures>> {
  if (!existsSync('/usr/sbin/tgtd')) return { ran: false, reason: 'tgtd is not installed' };
  if (!existsSync(join(ROOT, 'native/build/Release/tapedup_native.node'))) {
    return { ran: false, reason: 'the native addon is not built' };
  }
  try {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts/bench-iscsi.ts')],
      {
        cwd: ROOT,
        timeout: 240_000,
      },
    );
    const c = /C loop[^:]*: ([\d.]+) MB\/s/.exec(stdout)?.[1];
    const ts = /TypeScript[^:]*: ([\d.]+) MB\/s/.exec(stdout)?.[1];
    if (c === undefined || ts === undefined)
      return { ran: false, reason: `unexpected output: ${stdout.slice(0, 200)}` };
    return {
      ran: true,
      value: { cLoopMBps: Number(c), typescriptMBps: Number(ts), ratio: Number(ts) / Number(c) },
    };
  } catch (error) {
    return { ran: false, reason: `bench-iscsi failed: ${(error as Error).message.split('\n')[0]}` };
  }
}
