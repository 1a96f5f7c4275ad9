/** `tapedup init`: writes the commented sample configuration (refuses to overwrite without --force). */
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseConfigText } from '../config/load';
import { sampleConfigText } from '../config/sample';
import { CliError } from '../errors';
import { type Io, printJson } from '../output/io';

export async function initCommand(
  io: Io,
  file: string,
  options: { force: boolean; json: boolean },
): Promise<void> {
  const path = resolve(file);
  const text = sampleConfigText();
  // The sample must always be valid: check it before anyone relies on it.
  const config = parseConfigText(text, dirname(path), path);
  try {
    await writeFile(path, text, { flag: options.force ? 'w' : 'wx' });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CliError('INVALID_OPTION', `option --config: ${path} exists (use --force to overwrite)`, {
        field: '--config',
        cause,
      });
    }
    throw cause;
  }
  if (options.json) printJson(io, { config: path, stateDir: config.stateDir, drives: config.drives.length });
  else io.out(`wrote ${path} (state in ${config.stateDir}, ${config.drives.length} virtual drives)`);
}
