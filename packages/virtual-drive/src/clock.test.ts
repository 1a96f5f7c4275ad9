import { describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from './clock';

describe('VirtualClock', () => {
  it('wakes waiters in time order, then registration order, advancing time to each', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    const a = clock.sleep(30).then(() => order.push(`a@${clock.now()}`));
    const b = clock.sleep(10).then(() => order.push(`b@${clock.now()}`));
    const c = clock.until(10).then(() => order.push(`c@${clock.now()}`));
    await Promise.all([a, b, c]);
    expect(order).toEqual(['b@10', 'c@10', 'a@30']);
  });

  it('lets a woken waiter schedule an earlier event before later ones fire', async () => {
    const clock = new VirtualClock();
    const order: number[] = [];
    const late = clock.sleep(100).then(() => order.push(clock.now()));
    const chain = clock.sleep(10).then(async () => {
      order.push(clock.now());
      await clock.sleep(5);
      order.push(clock.now());
    });
    await Promise.all([late, chain]);
    expect(order).toEqual([10, 15, 100]);
  });

  it('never wakes an aborted sleep and does not advance time for it', async () => {
    const clock = new VirtualClock();
    const abort = new AbortController();
    let woke = false;
    void clock.sleep(1000, abort.signal).then(() => {
      woke = true;
    });
    abort.abort();
    await clock.sleep(10);
    await clock.runUntilIdle();
    expect(woke).toBe(false);
    expect(clock.now()).toBe(10);
  });

  it('holds time still while io() work is pending', async () => {
    const clock = new VirtualClock();
    let release!: () => void;
    const work = new Promise<void>((resolve) => {
      release = resolve;
    });
    const io = clock.io(work);
    let timerAt: number | undefined;
    const timer = clock.sleep(50).then(() => {
      timerAt = clock.now();
    });
    // Several turns of the event loop: the timer must not fire while I/O is in flight.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(timerAt).toBeUndefined();
    release();
    await io;
    await timer;
    expect(timerAt).toBe(50);
  });

  it('advances only on request when autoAdvance is off', async () => {
    const clock = new VirtualClock({ autoAdvance: false, start: 100 });
    let fired = 0;
    void clock.sleep(10).then(() => fired++);
    void clock.sleep(20).then(() => fired++);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(fired).toBe(0);
    await clock.advanceTo(115);
    expect(fired).toBe(1);
    expect(clock.now()).toBe(115);
    await clock.runUntilIdle();
    expect(fired).toBe(2);
    expect(clock.now()).toBe(120);
    expect(clock.pending).toBe(0);
  });
});

describe('RealClock', () => {
  it('runs model time faster by the scale factor', async () => {
    const clock = new RealClock({ scale: 200 });
    const t = clock.now();
    const wall = performance.now();
    await clock.sleep(2000);
    expect(clock.now() - t).toBeGreaterThanOrEqual(1990);
    expect(performance.now() - wall).toBeLessThan(1000);
  });

  it('validates the scale', () => {
    expect(() => new RealClock({ scale: 0 })).toThrow(/"scale"/);
  });
});
