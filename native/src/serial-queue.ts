/**
 * Runs async jobs strictly one after another in call order (the TapeDevice contract: a caller may
 * issue the next command before the previous one settled, and the device queues it). A failed job
 * does not stop the ones queued behind it.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(job, job);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
