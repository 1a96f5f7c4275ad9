/**
 * `tapedup demo`, the whole pipeline on the embedded defaults: a sample DSU, a configuration with two
 * virtual LTO-9 drives on a scaled real clock, the supervised duplicator and writers, a submit over
 * the scheduler socket as an upstream scheduler sends it, progress from the events, every committed
 * copy read back and checked against the catalog and the source digests, and a summary.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ImageSpec, SyncPolicyName } from '@tapedup/protocol';
import { LTO9 } from '@tapedup/virtual-drive';
import { CatalogReader } from '../catalog/reader';
import { SchedulerClient } from '../client/scheduler-client';
import { submitAndFollow } from '../client/submission';
import { progressPrinter } from '../commands/submit';
import { verifyAgainstCatalog } from '../commands/verify';
import { parseConfigText } from '../config/load';
import { sampleConfigText } from '../config/sample';
import { CliError, EXIT } from '../errors';
import { formatBytes } from '../output/format';
import { type Io, printJson } from '../output/io';
import { duplicatorEntry, type Exit, startDuplicator, writeResolvedConfig } from '../process/duplicator';
import { writeDemoDsu } from './dsu';
import { sampleImages } from './sample-set';
import { buildSummary, type DemoSummary, renderSummary } from './summary';

export interface DemoOptions {
  dir: string;
  images: number;
  seed: number;
  clockScale: number;
  copies: number;
  drives: number;
  policy?: SyncPolicyName | undefined;
  json: boolean;
  timeoutMs: number;
}

export const DEMO_DEFAULTS = Object.freeze({
  dir: './.tapedup-demo',
  images: 300,
  seed: 20_240_601,
  clockScale: 20,
  copies: 1,
  drives: 2,
  timeoutMs: 600_000,
});

async function tail(file: string, lines = 20): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function runDemo(io: Io, options: DemoOptions): Promise<DemoSummary> {
  const t0 = Date.now();
  // Fail before writing hundreds of megabytes when the processes are not built.
  duplicatorEntry();
  const dir = resolve(options.dir);
  const stateDir = join(dir, 'state');
  const dsuRoot = join(dir, 'dsu');
  const say = (text: string) => {
    if (!options.json) io.err(`${text}\n`);
  };

  // A fresh installation every run (catalog, library, sockets); the sample DSU is kept when it matches.
  await rm(stateDir, { recursive: true, force: true });
  await mkdir(stateDir, { recursive: true });
  const samples = sampleImages({ count: options.images, seed: options.seed });
  const { files, reused } = await writeDemoDsu(dsuRoot, samples, options.seed);
  const bytes = files.reduce((s, f) => s + f.sizeBytes, 0);
  say(
    `demo: ${reused ? 'reusing' : 'wrote'} ${files.length} sample images, ${formatBytes(bytes)}, in ${dsuRoot}`,
  );

  const configText = sampleConfigText({
    stateDir: './state',
    dsu: { demo: './dsu' },
    drives: options.drives,
    clockScale: options.clockScale,
  });
  const configFile = join(dir, 'tapedup.yaml');
  await writeFile(configFile, configText);
  const parsed = parseConfigText(configText, dir, configFile);
  const config =
    options.policy === undefined
      ? parsed
      : { ...parsed, policy: { ...parsed.policy, policy: options.policy } };
  const resolvedFile = await writeResolvedConfig(config);
  const prepareMs = Date.now() - t0;

  const logFile = join(stateDir, 'duplicator.log');
  const log = createWriteStream(logFile);
  await new Promise<void>((ok) => log.once('open', () => ok()));
  const duplicator = startDuplicator(resolvedFile, ['ignore', log, log]);
  // The duplicator must outlive the run; if it exits first, the run fails with its log.
  const died = duplicator.exited.then(async (exit: Exit): Promise<never> => {
    throw new CliError(
      'PROCESS_FAILED',
      `the duplicator exited early (code ${exit.code}, signal ${exit.signal}); last lines of ${logFile}:\n${await tail(logFile)}`,
    );
  });
  died.catch(() => undefined);

  const client = new SchedulerClient({
    scheduler: config.endpoints.scheduler,
    events: config.endpoints.events,
    timeoutMs: options.timeoutMs,
  });
  const t1 = Date.now();
  let follow: Awaited<ReturnType<typeof submitAndFollow>>;
  try {
    await Promise.race([client.ready(60_000), died]);
    say(
      `demo: duplicator up (pid ${duplicator.child.pid}), ${options.drives} virtual LTO-9 drives at clock scale ${options.clockScale}; submitting`,
    );
    const images: ImageSpec[] = files.map((f) => ({
      backupId: f.backupId,
      sizeBytes: f.sizeBytes,
      source: { kind: 'disk', dsu: 'demo', path: f.path },
    }));
    const message = {
      v: 1 as const,
      type: 'submit' as const,
      id: client.nextId(),
      images,
      copies: options.copies,
      pool: 'default',
      priority: 50,
      ...(options.policy === undefined ? {} : { policy: { policy: options.policy } }),
    };
    follow = await Promise.race([
      submitAndFollow(client, message, {
        onProgress: options.json ? undefined : progressPrinter(io, t1, Date.now),
      }),
      died,
    ]);
    if (io.live && !options.json) io.err('\n');
  } catch (error) {
    client.close();
    await duplicator.stop(10_000);
    log.end();
    throw error;
  }
  const duplicateMs = Date.now() - t1;
  client.close();
  // A graceful stop: the writers close their cartridges before they are read back.
  await duplicator.stop();
  log.end();

  say('demo: reading every committed copy back');
  const t2 = Date.now();
  const sources = new Map(files.map((f) => [f.backupId, f.sha256]));
  const verification = await verifyAgainstCatalog(config, { sources });
  const verifyMs = Date.now() - t2;

  const catalog = CatalogReader.open(config.catalog);
  let activity: ReturnType<CatalogReader['driveActivity']>;
  let retries: number;
  try {
    activity = catalog.driveActivity();
    retries = catalog.retries();
  } finally {
    catalog.close();
  }
  return buildSummary({
    requestId: follow.requestId,
    outcome: follow.outcome,
    policy: config.policy.policy ?? 'adaptive',
    images: files.length,
    copies: options.copies,
    bytes,
    committed: follow.committed,
    abandoned: follow.failed,
    retries: Math.max(retries, follow.tracker.counts.retries),
    activity,
    model: LTO9,
    clockScale: options.clockScale,
    wallMs: { total: Date.now() - t0, prepare: prepareMs, duplicate: duplicateMs, verify: verifyMs },
    verification: {
      checked: verification.checked,
      verified: verification.verified,
      bytesVerified: verification.bytesVerified,
      mismatches: verification.mismatches,
    },
    dir,
  });
}

export async function demoCommand(io: Io, options: DemoOptions): Promise<number> {
  const summary = await runDemo(io, options);
  if (options.json) printJson(io, summary);
  else io.out(renderSummary(summary));
  return summary.ok ? EXIT.ok : EXIT.failed;
}
