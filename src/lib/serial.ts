/**
 * Runs async tasks one after another, in the order they were asked for: a failed task does not
 * stop the ones queued behind it (each caller still sees its own task's rejection).
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
