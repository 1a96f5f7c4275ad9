/** `tapedup submit`: builds the image list, submits it, and with `--wait` follows it to the end. */
import { readFile } from 'node:fs/promises';
import type { ImageSpec } from '@tapedup/protocol';
import type { ProgressTracker } from '../client/progress';
import { SchedulerClient } from '../client/scheduler-client';
import { type FollowResult, type SubmitMessage, submitAndFollow, submitRequest } from '../client/submission';
import type { TapedupConfig } from '../config/schema';
import { CliError, EXIT } from '../errors';
import { specsFromDirectory, specsFromList } from '../images/resolve';
import { parseFileList, parseImageJson } from '../images/sources';
import { formatBytes, formatDuration } from '../output/format';
import { type Io, printJson } from '../output/io';
import type { SubmitPlan } from './submit-options';

async function readSource(file: string, option: string): Promise<string> {
  try {
    return file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (cause) {
    throw new CliError(
      'INVALID_OPTION',
      `option ${option}: cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      {
        field: option,
        cause,
      },
    );
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The image specs the plan names. */
export async function buildImages(plan: SubmitPlan, config: TapedupConfig): Promise<ImageSpec[]> {
  const dsus = Object.keys(config.dsu);
  const options = { idPrefix: plan.idPrefix };
  switch (plan.source.kind) {
    case 'list': {
      const text = await readSource(plan.source.file, '--list');
      return specsFromList(parseFileList(text, dsus, plan.source.file), config.dsu, options);
    }
    case 'dir':
      return specsFromDirectory(plan.source.dsu, plan.source.subdir, config.dsu, options);
    case 'json':
      return parseImageJson(await readSource(plan.source.file, '--json'), dsus, plan.source.file);
  }
}

export function submitMessage(id: string, plan: SubmitPlan, images: ImageSpec[]): SubmitMessage {
  const message: SubmitMessage = {
    v: 1,
    type: 'submit',
    id,
    images,
    copies: plan.copies,
    pool: plan.pool,
    priority: plan.priority,
  };
  if (plan.deadline !== undefined) message.deadline = plan.deadline;
  if (plan.policy !== undefined) message.policy = plan.policy;
  return message;
}

export interface SubmitOutput {
  requestId: string;
  images: number;
  copies: number;
  bytes: number;
  /** Present with --wait. */
  outcome?: string;
  committed?: number;
  failed?: number;
  cancelled?: number;
  retries?: number;
  bytesCommitted?: number;
  elapsedMs?: number;
}

/** A progress printer: a redrawn line on a terminal, a line per 10 % otherwise. */
export function progressPrinter(
  io: Io,
  started: number,
  now: () => number,
): (tracker: ProgressTracker) => void {
  let lastDecile = -1;
  return (tracker) => {
    const line = tracker.line(now() - started);
    if (io.live) {
      io.err(`\r${line}\u001b[K`);
      return;
    }
    const c = tracker.counts;
    const decile = c.copies === 0 ? 10 : Math.floor((10 * c.committed) / c.copies);
    if (decile !== lastDecile) {
      lastDecile = decile;
      io.err(`${line}\n`);
    }
  };
}

export async function submitCommand(
  io: Io,
  config: TapedupConfig,
  plan: SubmitPlan,
  options: { wait: boolean; json: boolean; timeoutMs: number },
): Promise<number> {
  const images = await buildImages(plan, config);
  const client = new SchedulerClient({
    scheduler: config.endpoints.scheduler,
    events: options.wait ? config.endpoints.events : undefined,
    timeoutMs: options.timeoutMs,
  });
  try {
    await client.ready();
    const message = submitMessage(client.nextId(), plan, images);
    const bytes = images.reduce((sum, i) => sum + i.sizeBytes, 0);
    const base = { images: images.length, copies: plan.copies, bytes };
    if (!options.wait) {
      const requestId = await submitRequest(client, message);
      const out: SubmitOutput = { requestId, ...base };
      if (options.json) printJson(io, out);
      else
        io.out(
          `accepted ${requestId}: ${images.length} images × ${plan.copies} copies, ${formatBytes(bytes)}`,
        );
      return EXIT.ok;
    }
    const started = Date.now();
    const result: FollowResult = await submitAndFollow(client, message, {
      onProgress: options.json ? undefined : progressPrinter(io, started, Date.now),
    });
    if (io.live && !options.json) io.err('\n');
    const out: SubmitOutput = {
      requestId: result.requestId,
      ...base,
      outcome: result.outcome,
      committed: result.committed,
      failed: result.failed,
      cancelled: result.cancelled,
      retries: result.tracker.counts.retries,
      bytesCommitted: result.bytesCommitted,
      elapsedMs: Date.now() - started,
    };
    if (options.json) printJson(io, out);
    else
      io.out(
        `${result.requestId} ${result.outcome}: ${result.committed} committed, ${result.failed} failed, ${result.cancelled} cancelled, ${out.retries} retries, ${formatBytes(result.bytesCommitted)} in ${formatDuration(out.elapsedMs ?? 0)}`,
      );
    return result.failed > 0 || result.outcome !== 'done' ? EXIT.failed : EXIT.ok;
  } finally {
    client.close();
  }
}
