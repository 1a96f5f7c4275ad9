/**
 * For duplicator process tests: builds the entry points when missing, writes a config into a temp
 * dir, starts `node packages/duplicator/dist/main.js --config …` as a child, and talks to it over
 * real sockets (a scheduler DEALER, an events SUB, and raw writer DEALERs).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  DUPLICATOR_EVENT_TYPES,
  DUPLICATOR_REPLY_TYPES,
  type DuplicatorEvent,
  type DuplicatorReply,
  decode,
  encode,
  type Message,
} from '@tapedup/protocol';
import * as zmq from 'zeromq';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');
export const DUPLICATOR_MAIN = join(ROOT, 'packages/duplicator/dist/main.js');
export const LOOPBACK_WRITER = join(ROOT, 'packages/duplicator/dist/testing/loopback-writer.js');
export const TAPE_WRITER = join(ROOT, 'packages/tape-writer/dist/main.js');

/** Builds the bundled entry points unless they are there already. */
export function ensureBuilt(): void {
  if (existsSync(DUPLICATOR_MAIN) && existsSync(LOOPBACK_WRITER)) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
}

export interface Installation {
  dir: string;
  configFile: string;
  scheduler: string;
  events: string;
  dsu: string;
}

/** A temp installation: state dir, DSU with `files` (name → bytes), config JSON. */
export async function makeInstallation(
  files: Record<string, Buffer>,
  overrides: Record<string, unknown> = {},
): Promise<Installation> {
  const dir = await mkdtemp(join(tmpdir(), 'tdd-'));
  const dsu = join(dir, 'dsu');
  await mkdir(dsu, { recursive: true });
  for (const [name, data] of Object.entries(files)) {
    await mkdir(join(dsu, name, '..'), { recursive: true });
    await writeFile(join(dsu, name), data);
  }
  // ipc endpoints inside the temp dir: unlike TCP ports they cannot collide between test files
  // running in parallel.
  const scheduler = `ipc://${join(dir, 's.sock')}`;
  const events = `ipc://${join(dir, 'e.sock')}`;
  const config = {
    stateDir: join(dir, 'state'),
    logLevel: 'info',
    endpoints: { scheduler, events, writers: `ipc://${join(dir, 'w.sock')}` },
    drives: [
      { id: 'd0', spec: `virtual:${join(dir, 'lib')}#drive0` },
      { id: 'd1', spec: `virtual:${join(dir, 'lib')}#drive1` },
    ],
    library: { pools: { default: { cartridges: 4, capacityBytes: 18_000_000_000_000 } } },
    dsu: { dsu1: dsu },
    policy: { policy: 'fixed', fixedBatchImages: 8 },
    heartbeat: { intervalMs: 200, timeoutMs: 3000 },
    restart: { initialMs: 100, maxMs: 1000, factor: 2, healthyMs: 60_000 },
    writerMain: LOOPBACK_WRITER,
    tickMs: 50,
    shutdownTimeoutMs: 5000,
    ...overrides,
  };
  const configFile = join(dir, 'config.json');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  return { dir, configFile, scheduler, events, dsu };
}

export interface RunningDuplicator {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line (already logged or still to come) that matches. */
  waitForLog: (match: (line: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
}

export function startDuplicator(configFile: string, env: NodeJS.ProcessEnv = {}): RunningDuplicator {
  const child = spawn(process.execPath, [DUPLICATOR_MAIN, '--config', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 4_000_000) err = err.slice(-2_000_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.once('exit', (code, signal) => ok({ code, signal })),
  );
  const waitForLog = (match: (line: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = (): boolean => {
        const hit = logLines(err).find(match);
        if (hit === undefined) return false;
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
        resolve(hit);
        return true;
      };
      const onData = () => void check();
      const onExit = () => {
        if (!check()) reject(new Error(`duplicator exited before the awaited log line: ${err.slice(-2000)}`));
      };
      if (check()) return;
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
    });
  return { child, stderr: () => err, exited, waitForLog };
}

/** Log lines (pino JSON) of the duplicator and its writers, parsed where they are JSON. */
export function logLines(stderr: string): Record<string, unknown>[] {
  return stderr.split('\n').flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** A scheduler: DEALER for requests, SUB for every event, both awaiting their handshake. */
export class TestScheduler {
  readonly dealer = new zmq.Dealer({ linger: 0 });
  readonly sub = new zmq.Subscriber({ linger: 0 });
  readonly events: DuplicatorEvent[] = [];
  readonly #replies: DuplicatorReply[] = [];
  readonly #waiters: (() => void)[] = [];
  readonly ready: Promise<void>;
  #seq = 0;

  constructor(inst: Installation) {
    const hs = (s: zmq.Socket) =>
      new Promise<void>((ok) => {
        const done = () => {
          s.events.off('handshake', done);
          ok();
        };
        s.events.on('handshake', done);
      });
    const handshakes = [hs(this.dealer), hs(this.sub)];
    this.sub.subscribe();
    this.dealer.connect(inst.scheduler);
    this.sub.connect(inst.events);
    this.ready = Promise.all(handshakes).then(() => undefined);
    void this.#readReplies();
    void this.#readEvents();
  }

  nextId(): string {
    this.#seq += 1;
    return `t${this.#seq}`;
  }

  /** Sends raw frames on the scheduler socket. */
  async sendRaw(frame: Uint8Array | Buffer): Promise<void> {
    await this.dealer.send(frame);
  }

  async request(m: Message): Promise<DuplicatorReply> {
    await this.dealer.send(encode(m));
    return this.reply((r) => 're' in r && r.re === m.id);
  }

  /** The first reply (already received or coming) matching `pred`. */
  reply(pred: (r: DuplicatorReply) => boolean): Promise<DuplicatorReply> {
    return this.#until(() => this.#replies.find(pred));
  }

  /** Resolves when `pred` holds over the events received so far. */
  waitEvents<T>(pick: (events: DuplicatorEvent[]) => T | undefined): Promise<T> {
    return this.#until(() => pick(this.events));
  }

  #until<T>(probe: () => T | undefined): Promise<T> {
    const now = probe();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((ok) => {
      const check = () => {
        const v = probe();
        if (v === undefined) {
          this.#waiters.push(check);
          return;
        }
        ok(v);
      };
      this.#waiters.push(check);
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  async #readReplies(): Promise<void> {
    try {
      for await (const frames of this.dealer) {
        this.#replies.push(decode(frames.at(-1)!, { accept: DUPLICATOR_REPLY_TYPES }));
        this.#wake();
      }
    } catch {
      // closed
    }
  }

  async #readEvents(): Promise<void> {
    try {
      for await (const frames of this.sub) {
        this.events.push(decode(frames.at(-1)!, { accept: DUPLICATOR_EVENT_TYPES }));
        this.#wake();
      }
    } catch {
      // closed
    }
  }

  close(): void {
    this.dealer.close();
    this.sub.close();
  }
}

/** `frame` with the first occurrence of the ASCII text `from` replaced by `to` (same length). */
export function patchFrame(frame: Uint8Array, from: string, to: string): Buffer {
  const buf = Buffer.from(frame);
  const at = buf.indexOf(Buffer.from(from, 'latin1'));
  if (at === -1 || from.length !== to.length) throw new Error(`cannot patch ${from} -> ${to}`);
  buf.write(to, at, 'latin1');
  return buf;
}

/** A raw DEALER on the writers socket under `routingId`. */
export function writerDealer(routingId: string, endpoint: string): zmq.Dealer {
  const d = new zmq.Dealer({ linger: 0, routingId });
  d.connect(endpoint);
  return d;
}
