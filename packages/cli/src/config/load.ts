/** Reading the configuration file: the I/O edge around {@link validateConfig}. */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { CliError } from '../errors';
import { type TapedupConfig, validateConfig } from './schema';

/** Parses YAML text and validates it; paths resolve against `baseDir`. */
export function parseConfigText(text: string, baseDir: string, source = 'config'): TapedupConfig {
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const problem = document.errors[0];
  if (problem !== undefined) {
    throw new CliError('INVALID_CONFIG', `${source}: not valid YAML (${problem.message.split('\n')[0]})`);
  }
  return validateConfig(document.toJS({ maxAliasCount: 100 }), baseDir, source);
}

/** Reads and validates the configuration file `file` (option `--config`). */
export async function loadConfig(file: string): Promise<TapedupConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? ' (create one with `tapedup init`)' : '';
    throw new CliError('INVALID_OPTION', `option --config: cannot read ${path}: ${code ?? 'error'}${hint}`, {
      field: '--config',
      cause,
    });
  }
  return parseConfigText(text, dirname(path), path);
}
