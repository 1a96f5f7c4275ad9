/**
 * Running the duplicator process (which spawns and supervises one tape-writer per drive). It is started
 * with the resolved configuration the command validated, written next to the state.
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { renderConfig } from '../config/sample';
import { type TapedupConfig, validateConfig } from '../config/schema';
import { CliError } from '../errors';

const ENTRY = join('packages', 'duplicator', 'dist', 'main.js');

/**
 * The duplicator's built entry point: `TAPEDUP_DUPLICATOR_MAIN` when set, else found by walking up
 * from this module (packages/cli/dist/main.js or packages/cli/src/…) to the repository root.
 */
export function duplicatorEntry(
  env: NodeJS.ProcessEnv = process.env,
  from = fileURLToPath(import.meta.url),
): string {
  const override = env.TAPEDUP_DUPLICATOR_MAIN;
  if (override !== undefined && override !== '') return resolve(override);
  let dir = dirname(from);
  for (;;) {
    const candidate = join(dir, ENTRY);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new CliError(
    'PROCESS_FAILED',
    `cannot find ${ENTRY}: build it with \`pnpm run build\` (or set TAPEDUP_DUPLICATOR_MAIN)`,
  );
}

/**
 * Writes the resolved configuration to `<stateDir>/duplicator.yaml` and returns its path. The text
 * is read back with the duplicator's schema first, so a configuration the duplicator would refuse
 * is refused here (`INVALID_CONFIG`) instead of by a process that exits at start.
 */
export async function writeResolvedConfig(config: TapedupConfig): Promise<string> {
  const file = join(config.stateDir, 'duplicator.yaml');
  const text = renderConfig(config);
  validateConfig(parse(text), config.stateDir, file);
  await mkdir(config.stateDir, { recursive: true });
  await writeFile(file, text);
  return file;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningDuplicator {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** SIGTERM (a graceful stop: writers finish and sync), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<Exit>;
}

export function startDuplicator(
  configFile: string,
  stdio: StdioOptions,
  env: NodeJS.ProcessEnv = process.env,
): RunningDuplicator {
  const entry = duplicatorEntry(env);
  const child = spawn(process.execPath, [entry, '--config', configFile], { stdio, env });
  const exited = new Promise<Exit>((resolveExit, reject) => {
    child.once('error', (cause) =>
      reject(new CliError('PROCESS_FAILED', `cannot start the duplicator: ${cause.message}`, { cause })),
    );
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
  const stop = async (graceMs = 30_000): Promise<Exit> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return { child, exited, stop };
}
