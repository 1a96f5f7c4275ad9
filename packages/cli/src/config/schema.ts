/**
 * The installation's configuration (tapedup.yaml). The command reads the very schema the duplicator
 * process reads (`validateConfig` of @tapedup/duplicator): one shape, one set of defaults. This module
 * only adapts it to the command: refusals become `CliError` `INVALID_CONFIG` naming the same option,
 * and the library directory of a `virtual:` drive spec is resolved against the file's directory like
 * every other path, so the resolved configuration means the same whatever the working directory.
 */
import { isAbsolute, resolve } from 'node:path';
import {
  ConfigError,
  type DuplicatorConfig,
  policy,
  validateConfig as validateDuplicatorConfig,
} from '@tapedup/duplicator';
import { parseVirtualDriveSpec } from '@tapedup/virtual-drive';
import { CliError } from '../errors';

export { LOG_LEVELS } from '@tapedup/duplicator';

/** The sync-deferral policies `policy.policy` and `submit --policy` accept. */
export const POLICY_NAMES = policy.POLICY_NAMES;

/** A validated configuration with every path absolute and every default filled in. */
export type TapedupConfig = DuplicatorConfig;

function configError(option: string, message: string, source: string): CliError {
  const where = option === '' ? '' : `key ${option} `;
  return new CliError('INVALID_CONFIG', `${source}: config ${where}${message}`, {
    field: option || undefined,
  });
}

/** The reason of a refusal without the duplicator's own `config option <name>:` prefix. */
function reason(error: ConfigError): string {
  const prefix = error.option === '' ? 'config: ' : `config option ${error.option}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/**
 * Validates a parsed configuration document with the duplicator's schema. Relative paths (and the
 * library directory of `virtual:` drive specs) are resolved against `baseDir`. Throws `CliError`
 * `INVALID_CONFIG` whose `field` is the dotted option at fault (e.g. `drives.1.spec`) and whose
 * message names it and `source`.
 */
export function validateConfig(document: unknown, baseDir: string, source = 'config'): TapedupConfig {
  let config: DuplicatorConfig;
  try {
    config = validateDuplicatorConfig(document, baseDir);
  } catch (error) {
    if (error instanceof ConfigError) throw configError(error.option, reason(error), source);
    throw error;
  }
  const specs = new Set<string>();
  const drives = config.drives.map((d, i) => {
    if (!d.spec.startsWith('virtual:')) return d;
    let spec: ReturnType<typeof parseVirtualDriveSpec>;
    try {
      spec = parseVirtualDriveSpec(d.spec);
    } catch (error) {
      throw configError(`drives.${i}.spec`, (error as Error).message, source);
    }
    const dir = isAbsolute(spec.libraryDir) ? spec.libraryDir : resolve(baseDir, spec.libraryDir);
    const resolved = `virtual:${dir}#${spec.drive}`;
    // Two spellings of one path are one drive once resolved.
    if (specs.has(resolved)) throw configError(`drives.${i}.spec`, 'names a drive listed twice', source);
    specs.add(resolved);
    return { ...d, spec: resolved };
  });
  return { ...config, drives };
}
