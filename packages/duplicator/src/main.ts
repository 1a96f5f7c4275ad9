/**
 * The duplicator process: `node packages/duplicator/dist/main.js --config <file.yaml|file.json>`.
 * Exit status 0 after a graceful stop (SIGINT / SIGTERM), 2 for a bad command line or configuration,
 * 1 when it cannot start.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import { ConfigError, type DuplicatorConfig, validateConfig } from './config';
import { DuplicatorServer } from './server';

function fail(status: number, message: string): never {
  process.stderr.write(`tapedup-duplicator: ${message}\n`);
  process.exit(status);
}

function loadConfig(argv: readonly string[]): DuplicatorConfig {
  const at = argv.indexOf('--config');
  const file = at === -1 ? undefined : argv[at + 1];
  if (file === undefined || file.startsWith('--')) fail(2, 'usage: main.js --config <file.yaml|file.json>');
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    fail(2, `option --config: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let document: unknown;
  try {
    // YAML is a superset of JSON: one parser for both.
    document = parse(text, { uniqueKeys: true });
  } catch (error) {
    fail(
      2,
      `option --config: ${path} is not valid YAML or JSON (${(error as Error).message.split('\n')[0]})`,
    );
  }
  try {
    return validateConfig(document, dirname(path));
  } catch (error) {
    if (error instanceof ConfigError) fail(2, `${path}: ${error.message}`);
    throw error;
  }
}

const config = loadConfig(process.argv.slice(2));
const logger = pino(
  { level: config.logLevel, base: { proc: 'duplicator', pid: process.pid } },
  pino.destination(2),
);
let server: DuplicatorServer;
try {
  server = await DuplicatorServer.start({ config, logger });
} catch (error) {
  logger.fatal({ err: (error as Error).message, code: (error as { code?: unknown }).code }, 'cannot start');
  fail(1, `cannot start: ${(error as Error).message}`);
}
let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  signals += 1;
  if (signals > 1) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(130);
  }
  server
    .stop(`signal ${signal}`)
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      logger.error({ err: (error as Error).message }, 'stop failed');
      process.exit(1);
    });
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
