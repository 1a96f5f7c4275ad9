/**
 * Writer supervision: one tape-writer child per configured drive, restarted with exponential backoff
 * when it exits, and killed when it stops answering heartbeats. The children get an IPC channel so
 * they notice (and exit) when the duplicator dies. Reporting a lost writer to the coordinator, which
 * fails and requeues what it had not committed, is the caller's `onExit`.
 */
import { type ChildProcess, spawn as nodeSpawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

const WRITER_ENTRY = join('packages', 'tape-writer', 'dist', 'main.js');

/**
 * The tape-writer entry point: `override` when given, else packages/tape-writer/dist/main.js of the
 * workspace this module lives in (found by walking up from `from`). Undefined when not built.
 */
export function writerMainPath(override?: string, from = fileURLToPath(import.meta.url)): string | undefined {
  if (override !== undefined) return override;
  let dir = dirname(from);
  for (;;) {
    const candidate = join(dir, WRITER_ENTRY);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export interface BackoffSettings {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** A writer up this long without failing gets its backoff reset. */
  readonly healthyMs: number;
}

/** Delay before restart number `failures` (1 = the first restart after a failure). */
export function restartDelay(failures: number, b: BackoffSettings): number {
  if (failures <= 0) return 0;
  return Math.min(b.maxMs, Math.round(b.initialMs * b.factor ** (failures - 1)));
}

export interface WriterSpec {
  readonly driveId: string;
  readonly args: readonly string[];
}

export interface SupervisorOptions {
  readonly writerMain: string;
  readonly writers: readonly WriterSpec[];
  readonly backoff: BackoffSettings;
  readonly heartbeatTimeoutMs: number;
  /**
   * How long a freshly started writer may stay silent: opening a drive loads and positions a
   * cartridge, which takes tens of seconds on a real (or realistically timed) drive.
   */
  readonly startupTimeoutMs?: number;
  readonly logger: Logger;
  readonly clock?: () => number;
  /** Called when a writer process ended (any reason) while the supervisor runs. */
  readonly onExit: (driveId: string, reason: string) => void;
  readonly spawn?: typeof nodeSpawn;
}

interface Child {
  readonly spec: WriterSpec;
  process: ChildProcess | undefined;
  startedAt: number;
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
  exited: Promise<void>;
  killReason: string | undefined;
}

export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #children = new Map<string, Child>();
  readonly #clock: () => number;
  #stopping = false;

  constructor(options: SupervisorOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
  }

  start(): void {
    for (const spec of this.#o.writers) {
      const child: Child = {
        spec,
        process: undefined,
        startedAt: 0,
        failures: 0,
        restartTimer: undefined,
        exited: Promise.resolve(),
        killReason: undefined,
      };
      this.#children.set(spec.driveId, child);
      this.#spawn(child);
    }
  }

  /** Pid of the drive's writer process, when it runs. */
  pid(driveId: string): number | undefined {
    return this.#children.get(driveId)?.process?.pid;
  }

  /**
   * Kills writers that have been silent longer than the heartbeat timeout (`lastSeen` is the time of
   * their last message, or undefined when none came since they were started).
   */
  checkHeartbeats(lastSeen: (driveId: string) => number | undefined): void {
    const now = this.#clock();
    for (const child of this.#children.values()) {
      const p = child.process;
      if (p === undefined || p.exitCode !== null || p.signalCode !== null || child.killReason !== undefined)
        continue;
      const last = lastSeen(child.spec.driveId);
      const heard = last !== undefined && last >= child.startedAt;
      const seen = heard ? last : child.startedAt;
      const limit = heard
        ? this.#o.heartbeatTimeoutMs
        : (this.#o.startupTimeoutMs ?? this.#o.heartbeatTimeoutMs);
      if (now - seen > limit) {
        child.killReason = `no heartbeat for ${now - seen} ms`;
        this.#o.logger.warn(
          { driveId: child.spec.driveId, pid: p.pid, silentMs: now - seen },
          'writer silent: killing it',
        );
        p.kill('SIGKILL');
      }
    }
  }

  /** Stops restarting; waits up to `timeoutMs` for the writers to exit, then kills the rest. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    for (const child of this.#children.values()) clearTimeout(child.restartTimer);
    const all = Promise.all([...this.#children.values()].map((c) => c.exited));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([all.then(() => 'exited' as const), timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      for (const child of this.#children.values()) child.process?.kill('SIGKILL');
      await all;
    }
  }

  #spawn(child: Child): void {
    const { driveId, args } = child.spec;
    const spawn = this.#o.spawn ?? nodeSpawn;
    const p = spawn(process.execPath, [this.#o.writerMain, ...args], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.process = p;
    child.startedAt = this.#clock();
    child.killReason = undefined;
    child.exited = new Promise<void>((resolve) => {
      p.once('exit', (code, signal) => {
        resolve();
        this.#exited(child, p, code, signal);
      });
      p.once('error', (error) => {
        this.#o.logger.error({ driveId, err: error.message }, 'cannot start writer');
        if (p.pid === undefined) {
          resolve();
          this.#exited(child, p, null, null);
        }
      });
    });
    this.#o.logger.info({ driveId, pid: p.pid, main: this.#o.writerMain }, 'writer started');
  }

  #exited(child: Child, p: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child.process !== p) return;
    child.process = undefined;
    const { driveId } = child.spec;
    const upMs = this.#clock() - child.startedAt;
    const reason = child.killReason ?? `writer exited (code ${code}, signal ${signal})`;
    if (this.#stopping) {
      this.#o.logger.info({ driveId, code, signal }, 'writer stopped');
      this.#o.onExit(driveId, reason);
      return;
    }
    child.failures = upMs >= this.#o.backoff.healthyMs ? 1 : child.failures + 1;
    const delay = restartDelay(child.failures, this.#o.backoff);
    this.#o.logger.warn(
      { driveId, code, signal, upMs, restartInMs: delay, failures: child.failures },
      reason,
    );
    this.#o.onExit(driveId, reason);
    child.restartTimer = setTimeout(() => {
      child.restartTimer = undefined;
      if (!this.#stopping) this.#spawn(child);
    }, delay);
  }
}
