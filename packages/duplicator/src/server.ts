/**
 * The duplicator process's edge: the sockets (scheduler ROUTER, events PUB, writers ROUTER), the
 * timer tick, the writer supervisor, the virtual library, and the catalog file. Every inbound frame
 * is decoded with the protocol codec; anything refused gets a typed `error` reply and the process
 * goes on. All decisions are the coordinator core's.
 */
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import {
  decode,
  encode,
  errorReplyFor,
  isProtocolError,
  type Message,
  PROTOCOL_VERSION,
  ProtocolError,
  SCHEDULER_REQUEST_TYPES,
  WRITER_TO_DUPLICATOR_TYPES,
} from '@tapedup/protocol';
import { type FaultPlan, parseVirtualDriveSpec, VirtualLibrary } from '@tapedup/virtual-drive';
import type { Logger } from 'pino';
import * as zmq from 'zeromq';
import { Catalog } from './catalog';
import type { DuplicatorConfig, WriterSettings } from './config';
import { Coordinator, type Output } from './coordinator';
import { Supervisor, writerMainPath } from './supervisor';

/** Serialises sends on one socket: zeromq.js allows one send in progress per socket. */
class Outbox {
  #chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly socket: zmq.Writable,
    private readonly log: Logger,
    private readonly name: string,
  ) {}

  send(frames: (Buffer | Uint8Array | string)[]): Promise<void> {
    this.#chain = this.#chain
      .then(() => this.socket.send(frames))
      .catch((error: unknown) => {
        this.log.warn({ socket: this.name, err: (error as Error).message }, 'send failed');
      });
    return this.#chain;
  }
}

export interface ServerOptions {
  readonly config: DuplicatorConfig;
  readonly logger: Logger;
  /** Override the writer entry point (tests); default from the config or the workspace. */
  readonly writerMain?: string;
}

export class DuplicatorServer {
  readonly #config: DuplicatorConfig;
  readonly #log: Logger;
  readonly #catalog: Catalog;
  readonly #coordinator: Coordinator;
  readonly #scheduler: zmq.Router;
  readonly #events: zmq.Publisher;
  readonly #writers: zmq.Router;
  readonly #toScheduler: Outbox;
  readonly #toEvents: Outbox;
  readonly #toWriters: Outbox;
  readonly #libraries: VirtualLibrary[];
  #supervisor: Supervisor | undefined;
  #tick: NodeJS.Timeout | undefined;
  #stopped: Promise<void> | undefined;
  #ackWaiters: (() => void)[] = [];

  private constructor(options: ServerOptions, libraries: VirtualLibrary[], catalog: Catalog) {
    const c = options.config;
    this.#config = c;
    this.#log = options.logger;
    this.#libraries = libraries;
    this.#catalog = catalog;
    this.#coordinator = new Coordinator({
      catalog,
      clock: Date.now,
      logger: this.#log,
      settings: {
        drives: c.drives,
        pools: Object.keys(c.library.pools),
        dsu: c.dsu,
        policy: c.policy,
        poolPolicy: c.poolPolicy,
        maxAttempts: c.retry.maxAttempts,
        retryBackoffMs: c.retry.backoffMs,
        retryMaxBackoffMs: c.retry.maxBackoffMs,
        windowImages: c.writerWindow.images,
        windowBytes: c.writerWindow.bytes,
        freezeAfterMediumErrors: c.freezeAfterMediumErrors,
        defaultRateBytesPerSec: c.defaultDriveRateBytesPerSec,
        startupSettleMs: c.startupSettleMs,
        streamDir: c.streamDir,
      },
      inspectSource: (path) => {
        try {
          const st = statSync(path);
          return st.isFile() ? { size: st.size } : undefined;
        } catch {
          return undefined;
        }
      },
    });
    // Frames up to 4× the decode limit are read and refused with FRAME_TOO_LARGE; beyond that the
    // transport drops the connection, so no peer can make the process buffer without bound.
    const maxMessageSize = c.maxFrameBytes * 4 + 1024;
    const curve =
      c.endpoints.curve === undefined
        ? {}
        : {
            curveServer: true,
            curveSecretKey: c.endpoints.curve.secretKey,
            curvePublicKey: c.endpoints.curve.publicKey,
          };
    this.#scheduler = new zmq.Router({ linger: 0, maxMessageSize, ...curve });
    this.#events = new zmq.Publisher({ linger: 0, ...curve });
    // A restarted writer reconnects with the same routing id: it takes over the old connection.
    this.#writers = new zmq.Router({ linger: 0, maxMessageSize, handover: true });
    this.#toScheduler = new Outbox(this.#scheduler, this.#log, 'scheduler');
    this.#toEvents = new Outbox(this.#events, this.#log, 'events');
    this.#toWriters = new Outbox(this.#writers, this.#log, 'writers');
  }

  /** Opens the catalog and library, recovers, binds the sockets and starts the writers. */
  static async start(options: ServerOptions): Promise<DuplicatorServer> {
    const c = options.config;
    await mkdir(c.stateDir, { recursive: true });
    // The writers bind the stream copies' ipc endpoints here.
    if (c.streamDir !== undefined) await mkdir(c.streamDir, { recursive: true });
    const libraries = await openLibraries(c);
    const catalog = new Catalog({
      path: c.catalog,
      logger: options.logger,
      maxAttempts: c.retry.maxAttempts,
    });
    try {
      for (const library of libraries) await registerMedia(library, catalog);
      registerLoadedMedia(c, catalog);
    } catch (error) {
      catalog.close();
      throw error;
    }
    const server = new DuplicatorServer(options, libraries, catalog);
    await server.#open(options.writerMain);
    return server;
  }

  async #open(writerMainOverride: string | undefined): Promise<void> {
    const c = this.#config;
    this.#dispatch(this.#coordinator.start());
    await this.#scheduler.bind(c.endpoints.scheduler);
    await this.#events.bind(c.endpoints.events);
    await this.#writers.bind(c.endpoints.writers);
    void this.#schedulerLoop();
    void this.#writerLoop();
    this.#tick = setInterval(() => this.#onTick(), c.tickMs);
    const writerMain = writerMainPath(writerMainOverride ?? c.writerMain);
    if (writerMain === undefined) {
      this.#log.error(
        'packages/tape-writer/dist/main.js not found: no writer started (build it, or set writerMain)',
      );
    } else {
      this.#supervisor = new Supervisor({
        writerMain,
        writers: c.drives.map((d) => ({ driveId: d.id, args: writerArgs(c, d) })),
        backoff: c.restart,
        heartbeatTimeoutMs: c.heartbeat.timeoutMs,
        startupTimeoutMs: c.heartbeat.startupTimeoutMs,
        logger: this.#log,
        onExit: (driveId, reason) => {
          this.#dispatch(this.#coordinator.writerLost(driveId, 'WRITER_DIED', reason));
          this.#wakeAckWaiters();
        },
      });
      this.#supervisor.start();
    }
    this.#log.info(
      {
        scheduler: c.endpoints.scheduler,
        events: c.endpoints.events,
        writers: c.endpoints.writers,
        drives: c.drives.length,
      },
      'duplicator ready',
    );
  }

  /** Pid of a drive's writer (tests kill it to check supervision). */
  writerPid(driveId: string): number | undefined {
    return this.#supervisor?.pid(driveId);
  }

  /**
   * Graceful stop: no new work, `shutdown` to every writer, wait for their acknowledgements and exit
   * (bounded by `shutdownTimeoutMs`), then close the sockets and the catalog.
   */
  stop(reason = 'duplicator stopping'): Promise<void> {
    this.#stopped ??= this.#stop(reason);
    return this.#stopped;
  }

  async #stop(reason: string): Promise<void> {
    clearInterval(this.#tick);
    this.#log.info({ reason }, 'stopping');
    this.#dispatch(this.#coordinator.shutdown(reason));
    const deadline = Date.now() + this.#config.shutdownTimeoutMs;
    while (this.#coordinator.awaitingShutdownAck().length > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.#ackWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await this.#supervisor?.stop(Math.max(0, deadline - Date.now()));
    this.#scheduler.close();
    this.#events.close();
    this.#writers.close();
    this.#catalog.close();
    this.#log.info('stopped');
  }

  #wakeAckWaiters(): void {
    const waiters = this.#ackWaiters.splice(0);
    for (const w of waiters) w();
  }

  #onTick(): void {
    try {
      this.#supervisor?.checkHeartbeats((driveId) =>
        this.#coordinator.isConnected(driveId) ? this.#coordinator.lastSeen(driveId) : undefined,
      );
      this.#dispatch(this.#coordinator.tick());
    } catch (error) {
      this.#log.error({ err: (error as Error).message, stack: (error as Error).stack }, 'tick failed');
    }
  }

  async #schedulerLoop(): Promise<void> {
    try {
      for await (const frames of this.#scheduler) {
        const [identity, ...rest] = frames;
        if (identity === undefined) continue;
        const envelope = rest.length === 2 && rest[0]?.length === 0 ? [identity, rest[0]!] : [identity];
        const reply = (m: Message) => this.#send(this.#toScheduler, envelope, m);
        const frame = rest.at(-1);
        if (frame === undefined || rest.length > envelope.length) {
          reply(errorReplyFor(new ProtocolError('NOT_A_MESSAGE', 'a control message is exactly one frame')));
          continue;
        }
        let out: Output[];
        try {
          const m = decode(frame, {
            accept: SCHEDULER_REQUEST_TYPES,
            maxFrameBytes: this.#config.maxFrameBytes,
          });
          out =
            m.type === 'submit'
              ? this.#coordinator.submit(m)
              : m.type === 'cancel'
                ? this.#coordinator.cancel(m)
                : this.#coordinator.status(m);
        } catch (error) {
          if (isProtocolError(error)) {
            this.#log.info({ code: error.code, field: error.field }, 'scheduler frame refused');
            reply(errorReplyFor(error));
            continue;
          }
          this.#log.error(
            { err: (error as Error).message, stack: (error as Error).stack },
            'scheduler request failed',
          );
          reply({
            v: PROTOCOL_VERSION,
            type: 'error',
            id: `de-${Date.now()}`,
            code: 'INTERNAL',
            message: 'internal error',
          });
          continue;
        }
        for (const o of out) if (o.kind === 'reply') reply(o.message);
        this.#dispatch(out.filter((o) => o.kind !== 'reply'));
      }
    } catch (error) {
      if (!this.#scheduler.closed)
        this.#log.error({ err: (error as Error).message }, 'scheduler socket failed');
    }
  }

  async #writerLoop(): Promise<void> {
    try {
      for await (const frames of this.#writers) {
        const [identity, ...rest] = frames;
        if (identity === undefined) continue;
        const driveId = identity.toString('utf8');
        const reply = (m: Message) => this.#send(this.#toWriters, [identity], m);
        if (!this.#coordinator.isKnownDrive(driveId)) {
          this.#log.warn({ identity: driveId.slice(0, 64) }, 'frame from an unknown writer refused');
          reply({
            v: PROTOCOL_VERSION,
            type: 'error',
            id: `dw-${Date.now()}`,
            code: 'UNKNOWN_WRITER',
            message: 'routing id is not a configured drive',
          });
          continue;
        }
        const frame = rest.at(-1);
        if (frame === undefined || rest.length !== 1) {
          reply(errorReplyFor(new ProtocolError('NOT_A_MESSAGE', 'a control message is exactly one frame')));
          continue;
        }
        try {
          const decoded = decode(frame, {
            accept: WRITER_TO_DUPLICATOR_TYPES,
            maxFrameBytes: this.#config.maxFrameBytes,
          });
          const m = decoded.type === 'hello' ? this.#withLoadedMedium(driveId, decoded) : decoded;
          if (
            (m.type === 'hello' || m.type === 'heartbeat' || m.type === 'drive-error') &&
            m.driveId !== driveId
          ) {
            reply({
              v: PROTOCOL_VERSION,
              type: 'error',
              id: `dw-${Date.now()}`,
              re: m.id,
              code: 'INVALID_FIELD',
              message: `driveId ${m.driveId} is not this writer's routing id`,
              field: 'driveId',
            });
            continue;
          }
          this.#dispatch(this.#coordinator.writerMessage(driveId, m));
          if (m.type === 'shutdown-ack') this.#wakeAckWaiters();
        } catch (error) {
          if (isProtocolError(error)) {
            this.#log.info({ driveId, code: error.code, field: error.field }, 'writer frame refused');
            reply(errorReplyFor(error));
            continue;
          }
          this.#log.error(
            { driveId, err: (error as Error).message, stack: (error as Error).stack },
            'writer report failed',
          );
        }
      }
    } catch (error) {
      if (!this.#writers.closed) this.#log.error({ err: (error as Error).message }, 'writer socket failed');
    }
  }

  /**
   * A standalone drive's writer cannot tell which cartridge is loaded (a real drive reports no
   * barcode): its `hello` is completed with the one the configuration names, so the coordinator
   * keeps that drive on it. A writer that names a cartridge itself is believed.
   */
  #withLoadedMedium(driveId: string, m: Extract<Message, { type: 'hello' }>): typeof m {
    if (m.medium !== undefined) return m;
    const loaded = this.#config.drives.find((d) => d.id === driveId)?.medium;
    return loaded === undefined ? m : { ...m, medium: loaded.barcode };
  }

  #send(outbox: Outbox, envelope: Buffer[], m: Message): void {
    let frame: Uint8Array;
    try {
      frame = encode(m, { maxFrameBytes: 64 * 1024 * 1024 });
    } catch (error) {
      this.#log.error({ type: m.type, err: (error as Error).message }, 'refusing to send an invalid message');
      return;
    }
    void outbox.send([...envelope, frame]);
  }

  #dispatch(out: readonly Output[]): void {
    for (const o of out) {
      switch (o.kind) {
        case 'event':
          // The topic frame is the event type, so subscribers can filter by prefix.
          this.#sendEvent(o.message);
          break;
        case 'writer':
          this.#send(this.#toWriters, [Buffer.from(o.driveId)], o.message);
          break;
        case 'medium-state':
          for (const library of this.#libraries) {
            library.setState(o.barcode, o.state, o.reason).catch(() => undefined);
          }
          break;
        case 'reply':
          this.#log.error({ type: o.message.type }, 'reply with no request to answer dropped');
          break;
      }
    }
  }

  #sendEvent(m: Message): void {
    let frame: Uint8Array;
    try {
      frame = encode(m);
    } catch (error) {
      this.#log.error(
        { type: m.type, err: (error as Error).message },
        'refusing to publish an invalid event',
      );
      return;
    }
    void this.#toEvents.send([m.type, frame]);
  }
}

/** The writer's command line for one drive. */
export function writerArgs(
  c: DuplicatorConfig,
  d: {
    id: string;
    spec: string;
    profile?: string | undefined;
    faults?: FaultPlan | undefined;
    writer?: WriterSettings | undefined;
  },
): string[] {
  const args = ['--drive-id', d.id, '--drive', d.spec, '--connect', c.endpoints.writers];
  if (d.profile !== undefined) args.push('--profile', d.profile);
  for (const [name, root] of Object.entries(c.dsu)) args.push('--dsu', `${name}=${root}`);
  args.push('--clock-scale', String(c.clockScale), '--log-level', d.writer?.logLevel ?? c.logLevel);
  args.push('--heartbeat-ms', String(c.heartbeat.intervalMs));
  if (d.faults !== undefined) args.push('--faults', JSON.stringify(d.faults));
  const w = d.writer ?? {};
  const mpx = w.mpx ?? c.policy.mpxFactor;
  if (mpx !== undefined) args.push('--mpx', String(mpx));
  if (w.minFragmentMs !== undefined) args.push('--min-fragment-ms', String(w.minFragmentMs));
  if (w.maxFragmentBytes !== undefined) args.push('--max-fragment-size', String(w.maxFragmentBytes));
  if (w.maxFragmentImages !== undefined) args.push('--max-fragment-images', String(w.maxFragmentImages));
  if (w.packImages === true) args.push('--pack-images');
  if (w.checkpointMs !== undefined) args.push('--checkpoint-ms', String(w.checkpointMs));
  if (w.streamIdleMs !== undefined) args.push('--stream-idle-ms', String(w.streamIdleMs));
  if (w.appendOnly === true) args.push('--append-only');
  if (w.logFile !== undefined) args.push('--log-file', w.logFile);
  return args;
}

/** Opens (creating on first use) every virtual library the drive specs name. */
async function openLibraries(c: DuplicatorConfig): Promise<VirtualLibrary[]> {
  const byDir = new Map<string, string[]>();
  for (const d of c.drives) {
    if (!d.spec.startsWith('virtual:')) continue;
    const spec = parseVirtualDriveSpec(d.spec);
    byDir.set(spec.libraryDir, [...(byDir.get(spec.libraryDir) ?? []), spec.drive]);
  }
  const pools = Object.fromEntries(Object.entries(c.library.pools).map(([name, p]) => [name, p.cartridges]));
  const capacityBytes = Math.max(...Object.values(c.library.pools).map((p) => p.capacityBytes));
  const libraries: VirtualLibrary[] = [];
  for (const [dir, drives] of byDir)
    libraries.push(await VirtualLibrary.open(dir, { pools, capacityBytes, drives }));
  return libraries;
}

/** Makes every cartridge of the library known to the catalog (the catalog keeps its own state). */
async function registerMedia(library: VirtualLibrary, catalog: Catalog): Promise<void> {
  const known = new Set(catalog.listMedia({ limit: 1_000_000 }).map((m) => m.barcode));
  for (const cartridge of await library.list()) {
    if (!known.has(cartridge.barcode)) catalog.addMedium(cartridge.barcode, cartridge.pool, cartridge.state);
  }
}

/**
 * Makes the cartridges loaded in standalone drives known to the catalog, active in their pool: each
 * is its drive's medium from the first request on. One the catalog already knows keeps its state.
 */
function registerLoadedMedia(c: DuplicatorConfig, catalog: Catalog): void {
  for (const d of c.drives) {
    if (d.medium === undefined) continue;
    try {
      catalog.getMedium(d.medium.barcode);
    } catch {
      catalog.addMedium(d.medium.barcode, d.medium.pool, 'active');
    }
  }
}
