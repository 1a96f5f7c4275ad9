import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { restartDelay, Supervisor } from './supervisor';

/** A child process double: records kills, exits when killed. */
class FakeChild extends EventEmitter {
  static next = 100;
  readonly pid = FakeChild.next++;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly kills: string[] = [];
  /** When set, a kill ends the process as the OS would. */
  exitOnKill = false;
  kill(signal: NodeJS.Signals): boolean {
    this.kills.push(signal);
    if (this.exitOnKill) {
      this.signalCode = signal;
      setImmediate(() => this.emit('exit', null, signal));
    }
    return true;
  }
}

function setup() {
  let now = 1_000;
  const children: FakeChild[] = [];
  const exits: string[] = [];
  const sup = new Supervisor({
    writerMain: '/nonexistent/main.js',
    writers: [{ driveId: 'd0', args: [] }],
    backoff: { initialMs: 10, maxMs: 100, factor: 2, healthyMs: 60_000 },
    heartbeatTimeoutMs: 5_000,
    startupTimeoutMs: 60_000,
    logger: pino({ level: 'silent' }),
    clock: () => now,
    onExit: (id, reason) => exits.push(`${id}: ${reason}`),
    spawn: (() => {
      const c = new FakeChild();
      children.push(c);
      return c as unknown as ChildProcess;
    }) as never,
  });
  return { sup, children, exits, advance: (ms: number) => (now += ms), now: () => now };
}

describe('Supervisor heartbeat watch', () => {
  it('gives a new writer the startup grace before its first message, then the heartbeat timeout', () => {
    const { sup, children, advance, now } = setup();
    sup.start();
    const first = children[0]!;
    let last: number | undefined;
    advance(30_000); // opening its drive: silent, but within the startup grace
    sup.checkHeartbeats(() => last);
    expect(first.kills).toEqual([]);
    last = now(); // hello arrives
    advance(4_000);
    sup.checkHeartbeats(() => last);
    expect(first.kills).toEqual([]);
    advance(2_000); // 6 s without a heartbeat after it spoke: dead
    sup.checkHeartbeats(() => last);
    expect(first.kills).toEqual(['SIGKILL']);
  });

  it('kills a writer that never speaks once the startup grace is over', () => {
    const { sup, children, advance } = setup();
    sup.start();
    advance(60_001);
    sup.checkHeartbeats(() => undefined);
    expect(children[0]!.kills).toEqual(['SIGKILL']);
  });

  it('does not count a message from the previous process as the new one speaking', async () => {
    const { sup, children, advance, now, exits } = setup();
    sup.start();
    const heardAt = now();
    advance(10_000);
    children[0]!.exitCode = 1;
    children[0]!.emit('exit', 1, null);
    expect(exits).toEqual(['d0: writer exited (code 1, signal null)']);
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const wait = () => {
        if (children.length > 1) resolve();
        else if (Date.now() - started > 5_000) reject(new Error(`no restart; children=${children.length}`));
        else setTimeout(wait, 5);
      };
      wait();
    });
    // The restarted writer is silent for 30 s: the old heartbeat must not make it look dead.
    advance(30_000);
    sup.checkHeartbeats(() => heardAt);
    expect(children[1]!.kills).toEqual([]);
    children[1]!.exitOnKill = true;
    await sup.stop(0);
    expect(children[1]!.kills).toEqual(['SIGKILL']);
    expect(children).toHaveLength(2);
  });
});

describe('restartDelay', () => {
  it('backs off exponentially up to the cap', () => {
    const b = { initialMs: 500, maxMs: 4_000, factor: 2, healthyMs: 0 };
    expect([0, 1, 2, 3, 4, 5].map((f) => restartDelay(f, b))).toEqual([0, 500, 1_000, 2_000, 4_000, 4_000]);
  });
});
