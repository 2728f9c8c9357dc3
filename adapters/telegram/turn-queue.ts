// Turns run off the update loop, so a long teach never holds up other chats
// (grammY's simple long polling handles updates one at a time). Within a chat
// turns run in order, so an answer never overtakes an earlier one. The queue
// also knows what is still running, for a shutdown that lets turns finish.

/** Runs tasks in order per key and in parallel across keys. */
export class TurnQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly running = new Set<Promise<void>>();

  /** Queues `task` behind earlier tasks of `key`; a failing task does not stop the queue. */
  run(key: string, task: () => Promise<void>): void {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task).catch(() => undefined);
    this.tails.set(key, next);
    this.running.add(next);
    void next.finally(() => {
      this.running.delete(next);
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
  }

  /** Resolves once the tasks of `key` queued so far have finished; queues nothing itself. */
  after(key: string): Promise<void> {
    return this.tails.get(key) ?? Promise.resolve();
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.running.size;
  }

  /** Resolves once every task queued so far (and any they queue) has finished. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
