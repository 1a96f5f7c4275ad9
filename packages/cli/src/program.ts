/**
 * The `tapedup` command line: commander wiring only. Each action validates its options, loads the
 * configuration and calls one command module; the exit status is returned, never `process.exit`ed here.
 */
import { Command, CommanderError, Option } from 'commander';
import { catalogCommand, parseCatalogView } from './commands/catalog';
import { initCommand } from './commands/init';
import { printRebuilt, rebuildCommand } from './commands/rebuild';
import { printRestore, restoreCommand } from './commands/restore';
import { simulateCommand } from './commands/simulate';
import { startCommand } from './commands/start';
import { fetchStatus, printStatus } from './commands/status';
import { submitCommand } from './commands/submit';
import { intOption, parseSubmitOptions, type RawSubmitOptions } from './commands/submit-options';
import { printVerify, verifyAgainstCatalog } from './commands/verify';
import { loadConfig } from './config/load';
import { POLICY_NAMES } from './config/schema';
import { DEMO_DEFAULTS, demoCommand } from './demo/run';
import { CliError, EXIT, invalidOption } from './errors';
import type { Io } from './output/io';

const DEFAULT_CONFIG = 'tapedup.yaml';

interface Common {
  config: string;
  json?: boolean;
}

function positiveNumber(option: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw invalidOption(option, `must be a positive number, got ${JSON.stringify(value)}`);
  return n;
}

function nonNegativeNumber(option: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw invalidOption(option, `must be a number >= 0, got ${JSON.stringify(value)}`);
  return n;
}

/** Runs the command line `argv` (without node and script); resolves with the exit status. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let status: number = EXIT.ok;
  let json = argv.includes('--json');
  const program = new Command('tapedup')
    .description(
      'Duplicate backup images from disk to tape at streaming speed, with deferred synchronisation.',
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError(false);

  const configOption = () => new Option('-c, --config <file>', 'configuration file').default(DEFAULT_CONFIG);

  program
    .command('init')
    .description('write a commented sample configuration')
    .addOption(configOption())
    .option('--force', 'overwrite an existing file', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (o: Common & { force: boolean }) => {
      await initCommand(io, o.config, { force: o.force, json: o.json === true });
    });

  program
    .command('start')
    .description('run the duplicator and its tape writers in the foreground')
    .addOption(configOption())
    .action(async (o: Common) => {
      status = await startCommand(io, await loadConfig(o.config));
    });

  program
    .command('submit')
    .description('submit images for duplication')
    .addOption(configOption())
    .option('--list <file>', 'file list: one dsu:relative/path per line ("-" for stdin)')
    .option('--dir <dsu[:subdir]>', 'every file under a DSU directory')
    .option('--json-file <file>', 'JSON array of protocol ImageSpecs ("-" for stdin)')
    .option('--copies <n>', 'tape copies per image, 1..8', '1')
    .option('--priority <n>', 'request priority, 0..100', '50')
    .option('--pool <name>', 'media pool (default: the first configured pool)')
    .option('--policy <name>', `sync-deferral policy: ${POLICY_NAMES.join(', ')}`)
    .option('--deadline <when>', 'ISO date-time, epoch ms or +30m / +2h / +1d')
    .option('--id-prefix <prefix>', 'prefix of derived backup ids (default "<dsu>:")')
    .option('--wait', 'follow the request to its end, with progress', false)
    .option('--timeout <seconds>', 'reply timeout', '30')
    .option('--json', 'print the result as JSON', false)
    .action(
      async (
        o: Common & Omit<RawSubmitOptions, 'json'> & { jsonFile?: string; wait: boolean; timeout: string },
      ) => {
        const config = await loadConfig(o.config);
        const plan = parseSubmitOptions(
          { ...o, json: o.jsonFile },
          { pools: Object.keys(config.library.pools), dsus: Object.keys(config.dsu), now: Date.now() },
        );
        status = await submitCommand(io, config, plan, {
          wait: o.wait,
          json: o.json === true,
          timeoutMs: positiveNumber('--timeout', o.timeout) * 1000,
        });
      },
    );

  program
    .command('status')
    .description('state of one request or of every request the duplicator remembers')
    .argument('[requestId]')
    .addOption(configOption())
    .option('--timeout <seconds>', 'reply timeout', '10')
    .option('--json', 'print as JSON', false)
    .action(async (requestId: string | undefined, o: Common & { timeout: string }) => {
      const config = await loadConfig(o.config);
      printStatus(
        io,
        await fetchStatus(config, requestId, positiveNumber('--timeout', o.timeout) * 1000),
        o.json === true,
      );
    });

  program
    .command('catalog')
    .description('list catalog records: images, copies, media or fragments (read-only)')
    .argument('<what>', 'images | copies | media | fragments')
    .addOption(configOption())
    .option('--request <id>', 'only this request')
    .option('--medium <barcode>', 'only this medium')
    .option('--state <state>', 'only copies in this state')
    .option('--backup <id>', 'only this backup id (fragments)')
    .option('--json', 'print as JSON', false)
    .action(
      async (
        what: string,
        o: Common & { request?: string; medium?: string; state?: string; backup?: string },
      ) => {
        const view = parseCatalogView(what);
        const config = await loadConfig(o.config);
        catalogCommand(
          io,
          config,
          view,
          { requestId: o.request, medium: o.medium, state: o.state, backupId: o.backup },
          o.json === true,
        );
      },
    );

  program
    .command('verify')
    .description('read cartridges back and check every committed copy against the catalog')
    .addOption(configOption())
    .option('--medium <barcode>', 'only this medium')
    .option('--all', 'every medium holding committed copies (the default)', false)
    .option('--json', 'print as JSON', false)
    .action(async (o: Common & { medium?: string; all: boolean }) => {
      if (o.all && o.medium !== undefined) throw invalidOption('--all', 'cannot be combined with --medium');
      const outcome = await verifyAgainstCatalog(await loadConfig(o.config), { medium: o.medium });
      printVerify(io, outcome, o.json === true);
      status = outcome.ok ? EXIT.ok : EXIT.failed;
    });

  program
    .command('restore')
    .description('restore one committed image copy from tape to a file')
    .argument('<backupId>')
    .addOption(configOption())
    .option('--copy <n>', 'copy number (default: the lowest committed)')
    .requiredOption('--out <file>', 'where to write the image')
    .option('--json', 'print as JSON', false)
    .action(async (backupId: string, o: Common & { copy?: string; out: string }) => {
      const config = await loadConfig(o.config);
      const copy = o.copy === undefined ? undefined : intOption('--copy', o.copy, 1, 8);
      printRestore(io, await restoreCommand(config, { backupId, copy, out: o.out }), o.json === true);
    });

  program
    .command('rebuild-catalog')
    .description('rebuild catalog records from the tapes alone')
    .addOption(configOption())
    .option('--medium <barcode...>', 'only these media, in order (default: every written cartridge)')
    .option('--json', 'print as JSON', false)
    .action(async (o: Common & { medium?: string[] }) => {
      const config = await loadConfig(o.config);
      printRebuilt(io, await rebuildCommand(config, o.medium), o.json === true);
    });

  program
    .command('demo')
    .description('the whole pipeline on sample data: duplicate, read back, verify, summarise')
    .option('--dir <dir>', 'working directory', DEMO_DEFAULTS.dir)
    .option('--images <n>', 'number of sample images, 1..10000', String(DEMO_DEFAULTS.images))
    .option('--seed <n>', 'seed of the sample data', String(DEMO_DEFAULTS.seed))
    .option(
      '--clock-scale <x>',
      'model time runs this many times faster than wall time',
      String(DEMO_DEFAULTS.clockScale),
    )
    .option(
      '--copies <n>',
      'tape copies per image, 1..8 (at most the number of drives)',
      String(DEMO_DEFAULTS.copies),
    )
    .option('--drives <n>', 'virtual drives, 1..8', String(DEMO_DEFAULTS.drives))
    .option('--policy <name>', `sync-deferral policy: ${POLICY_NAMES.join(', ')} (default adaptive)`)
    .option('--timeout <seconds>', 'longest the duplication may take', String(DEMO_DEFAULTS.timeoutMs / 1000))
    .option('--json', 'print the summary as JSON', false)
    .action(
      async (o: {
        dir: string;
        images: string;
        seed: string;
        clockScale: string;
        copies: string;
        drives: string;
        policy?: string;
        timeout: string;
        json: boolean;
      }) => {
        if (o.policy !== undefined && !(POLICY_NAMES as readonly string[]).includes(o.policy)) {
          throw invalidOption(
            '--policy',
            `must be one of ${POLICY_NAMES.join(', ')}, got ${JSON.stringify(o.policy)}`,
          );
        }
        const drives = intOption('--drives', o.drives, 1, 8);
        const copies = intOption('--copies', o.copies, 1, 8);
        if (copies > drives)
          throw invalidOption(
            '--copies',
            `must not exceed --drives (${drives}): each copy goes to its own drive`,
          );
        status = await demoCommand(io, {
          dir: o.dir,
          images: intOption('--images', o.images, 1, 10_000),
          seed: intOption('--seed', o.seed, 0, 0xffff_ffff),
          clockScale: positiveNumber('--clock-scale', o.clockScale),
          copies,
          drives,
          policy: o.policy as (typeof POLICY_NAMES)[number] | undefined,
          json: o.json,
          timeoutMs: positiveNumber('--timeout', o.timeout) * 1000,
        });
      },
    );

  program
    .command('simulate')
    .description('discrete-event simulation of the sync policies on virtual drives (model time)')
    .option('--workload <W1..W5|file.json>', 'preset workload or a JSON workload file', 'W1')
    .option('--policy <name|all>', 'sync-every, fixed, cta, adaptive, oracle, a comma list, or all', 'all')
    .option('--seeds <n>', "seeds 1..n (default: the workload's)")
    .option('--profile <name>', "drive profile: LTO-7, LTO-8, LTO-9 (default: the workload's)")
    .option('--fault-rate <x>', "random media errors per byte written (default: the workload's)")
    .option(
      '--history <cold|workload>',
      "drives start with no error history (cold) or with the workload's (as the catalog would hold it)",
      'cold',
    )
    .option('--pack-images', 'the writer packs small deferred images into shared fragments (MPX 1)', false)
    .option('--json', 'print the summaries and every run as JSON', false)
    .action(
      async (o: {
        workload: string;
        policy: string;
        seeds?: string;
        profile?: string;
        faultRate?: string;
        history: string;
        packImages: boolean;
        json: boolean;
      }) => {
        status = await simulateCommand(io, {
          workload: o.workload,
          policy: o.policy,
          seeds: o.seeds === undefined ? undefined : intOption('--seeds', o.seeds, 1, 1000),
          profile: o.profile,
          faultRate: o.faultRate === undefined ? undefined : nonNegativeNumber('--fault-rate', o.faultRate),
          history: o.history,
          packImages: o.packImages,
          json: o.json,
        });
      },
    );

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return status;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; commander already printed its message.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    json ||= false;
    return reportError(io, error, json);
  }
}

/** Prints an error (as JSON with --json) and returns its exit status. */
export function reportError(io: Io, error: unknown, json: boolean): number {
  if (error instanceof CliError) {
    if (json) io.out(`${JSON.stringify(error.toJSON(), null, 2)}\n`);
    else
      io.err(`tapedup: ${error.code}${error.remoteCode ? ` ${error.remoteCode}` : ''}: ${error.message}\n`);
    return error.exitCode;
  }
  const e = error as { code?: unknown; message?: unknown; field?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'INTERNAL';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const field = typeof e?.field === 'string' ? e.field : undefined;
  if (json) io.out(`${JSON.stringify({ error: { code, message, ...(field ? { field } : {}) } }, null, 2)}\n`);
  else io.err(`tapedup: ${code}: ${message}${field ? ` (field ${field})` : ''}\n`);
  return EXIT.failed;
}
