/**
 * The tape-writer process (bptm): owns one drive, connects a DEALER to the duplicator's writer
 * ROUTER, runs the engine on the duplicator's commands and sends back its reports and heartbeats.
 *
 *   node packages/tape-writer/dist/main.js --drive-id d0 --drive virtual:/lib#drive0 \
 *     --connect ipc:///run/tapedup/writers.sock --dsu main=/srv/dsu [--clock-scale 50]
 *
 * Exit status: 0 after a shutdown (or when the parent went away), 2 bad options, 3 drive held by
 * another writer, 1 any other failure at start.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  DUPLICATOR_TO_WRITER_TYPES,
  decode,
  encode,
  errorReplyFor,
  isProtocolError,
  type Message,
  makeMessage,
} from '@tapedup/protocol';
import pino from 'pino';
import * as zmq from 'zeromq';
import { WriterEngine } from './engine/engine';
import { type DriveLock, DriveLockedError, lockDrive } from './process/drive-lock';
import { lockPathFor, type OpenedDrive, openDevice } from './process/open-device';
import { parseWriterOptions, USAGE, WriterOptionError, type WriterOptions } from './process/options';
import { DiskSourceOpener } from './sources/disk';
import { SourceRouter, StreamSourceOpener } from './sources/stream';

/** How long a stop waits for the drive command in progress before closing the drive anyway. */
const STOP_GRACE_MS = 10_000;

async function main(argv: string[]): Promise<number> {
  let options: WriterOptions;
  try {
    options = parseWriterOptions(argv);
  } catch (error) {
    if (error instanceof WriterOptionError) {
      process.stderr.write(
        `${JSON.stringify({ code: error.code, option: error.option, message: error.message })}\n${USAGE}\n`,
      );
      return 2;
    }
    throw error;
  }
  const destination =
    options.logFile === undefined
      ? pino.destination(2)
      : pino.destination({ dest: options.logFile, mkdir: true });
  const root = pino(
    { level: options.logLevel, base: { pid: process.pid, driveId: options.driveId } },
    destination,
  );
  const log = root.child({ component: 'tape-writer' });

  let lock: DriveLock;
  try {
    const path = lockPathFor(options.drive);
    await mkdir(dirname(path), { recursive: true });
    lock = await lockDrive(path);
  } catch (error) {
    if (error instanceof DriveLockedError) {
      log.fatal({ code: error.code, lock: error.path, ownerPid: error.ownerPid }, 'drive already in use');
      process.stderr.write(
        `${JSON.stringify({ code: error.code, message: error.message, ownerPid: error.ownerPid })}\n`,
      );
      return 3;
    }
    throw error;
  }
  process.on('exit', () => lock.releaseSync());

  let opened: OpenedDrive;
  try {
    opened = await openDevice(options.drive, {
      clockScale: options.clockScale,
      ...(options.profile === undefined ? {} : { profile: options.profile }),
      logger: root,
      ...(options.faults === undefined ? {} : { faults: options.faults }),
    });
  } catch (error) {
    log.fatal({ err: error }, 'cannot open the drive');
    await lock.release();
    return 1;
  }

  const sources = new SourceRouter({
    disk: new DiskSourceOpener({
      roots: options.dsu,
      readAhead: options.readAhead,
      threads: options.threads,
    }),
    stream: new StreamSourceOpener({ idleTimeoutMs: options.streamIdleMs }),
  });
  const socket = new zmq.Dealer({ routingId: options.driveId, linger: 0 });
  socket.connect(options.connect);

  // Reports leave in order through one sender; a send waits while the socket is at its high-water mark.
  let outgoing: Promise<void> = Promise.resolve();
  const send = (message: Message): void => {
    let frame: Uint8Array;
    try {
      frame = encode(message);
    } catch (error) {
      log.error({ err: error, type: message.type }, 'report does not encode; dropped');
      return;
    }
    outgoing = outgoing
      .then(
        () => socket.send(frame),
        () => socket.send(frame),
      )
      .catch((error: unknown) => {
        if (!socket.closed) log.warn({ err: error, type: message.type }, 'send failed');
      });
  };

  const engine = new WriterEngine({
    driveId: options.driveId,
    device: opened.device,
    // Wall-clock milliseconds with a fraction: pickup latencies are well under a millisecond.
    clock: { now: () => performance.timeOrigin + performance.now() },
    logger: root,
    sources,
    changer: opened.changer,
    report: send,
    appendOnly: options.appendOnly,
    idPrefix: `${options.driveId}.${process.pid}.${Date.now().toString(36)}`,
    ...(options.blockPayloadSize === undefined ? {} : { blockPayloadSize: options.blockPayloadSize }),
    mpxFactor: options.mpx,
    minFragmentMs: options.minFragmentMs,
    ...(options.maxFragmentBytes === undefined ? {} : { maxFragmentBytes: options.maxFragmentBytes }),
    ...(options.maxFragmentImages === undefined ? {} : { maxFragmentImages: options.maxFragmentImages }),
    packImages: options.packImages,
    ...(options.checkpointMs === undefined ? {} : { checkpointMs: options.checkpointMs }),
  });

  let closing: Promise<number> | undefined;
  // The heartbeat carries the protocol's stats; the rest (EH, fragment ends, pickup) goes to the log.
  let beats = 0;
  const heartbeat = setInterval(() => {
    send(engine.heartbeat());
    if (++beats % 10 === 0) {
      const { emptyHeaders, fragmentEnds, pickup, joins } = engine.stats();
      log.info({ emptyHeaders, fragmentEnds, joins, pickup }, 'writer stats');
    }
  }, options.heartbeatMs);
  let running: Promise<void> | undefined;
  const stop = (why: string, code: number): Promise<number> => {
    closing ??= (async () => {
      log.info({ why }, 'stopping');
      clearInterval(heartbeat);
      if (!engine.stopped && running !== undefined) {
        // A signal or a lost parent: nothing new starts, and the drive is closed only after the
        // command in progress returned, so no fragment is cut between its header and its first block.
        engine.handle(
          makeMessage('shutdown', {
            id: `${options.driveId}.${process.pid}.stop`,
            graceful: false,
            reason: why,
          }),
        );
        await Promise.race([running, new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
      }
      log.info({ stats: engine.stats() }, 'final writer stats');
      await Promise.race([outgoing, new Promise((r) => setTimeout(r, 1000).unref())]);
      socket.close();
      await sources.close().catch((error: unknown) => log.warn({ err: error }, 'source pool close failed'));
      await opened.close().catch((error: unknown) => log.warn({ err: error }, 'drive close failed'));
      await lock.release();
      return code;
    })();
    return closing;
  };

  const capabilities = opened.device.capabilities();
  send(
    makeMessage('hello', {
      id: `${options.driveId}.${process.pid}.hello`,
      driveId: options.driveId,
      pid: process.pid,
      drive: opened.spec,
      capabilities: { ...capabilities },
      ...(opened.medium === undefined ? {} : { medium: opened.medium }),
    }),
  );
  log.info({ drive: options.drive, connect: options.connect, medium: opened.medium }, 'writer ready');

  // The parent (the duplicator) went away: nobody will commit anything we write, so stop.
  process.on('disconnect', () => void stop('parent disconnected', 0).then((c) => process.exit(c)));
  process.on('SIGTERM', () => void stop('SIGTERM', 0).then((c) => process.exit(c)));
  process.on('SIGINT', () => void stop('SIGINT', 0).then((c) => process.exit(c)));

  const receive = (async () => {
    for await (const frames of socket) {
      const frame = frames.at(-1) ?? new Uint8Array(0);
      let message: ReturnType<typeof decode<(typeof DUPLICATOR_TO_WRITER_TYPES)[number]>>;
      try {
        message = decode(frame, { accept: DUPLICATOR_TO_WRITER_TYPES });
      } catch (error) {
        if (!isProtocolError(error)) throw error;
        log.warn({ code: error.code, field: error.field }, 'refused frame');
        send(errorReplyFor(error));
        continue;
      }
      if (message.type === 'error') {
        log.warn(
          { code: message.code, re: message.re, message: message.message },
          'duplicator refused a report',
        );
        continue;
      }
      log.debug({ type: message.type, msgId: message.id }, 'command');
      engine.handle(message);
    }
  })();
  receive.catch((error: unknown) => {
    if (!socket.closed) log.error({ err: error }, 'receive loop failed');
  });

  running = engine.start();
  await running;
  return stop('shutdown', 0);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${JSON.stringify({ code: 'WRITER_FAILED', message: String(error instanceof Error ? error.stack : error) })}\n`,
    );
    process.exit(1);
  },
);
