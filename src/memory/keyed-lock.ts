// A per-key async mutex: tasks on one key run one after another in arrival
// order, tasks on different keys run freely. The store locks a scope around
// every read-check-write so version checks and name checks cannot interleave.

/** Serializes async tasks that share a key. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `task` once every earlier task on `key` has settled. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Resolves when every task queued so far has settled. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }
}
