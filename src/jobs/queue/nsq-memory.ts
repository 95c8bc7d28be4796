/**
 * The ids an NSQ queue handle published, so that publishing one again is a no-op while its message
 * may still be queued. NSQ cannot look a message up by id, so this is the handle's own memory: it
 * holds an id until this handle acks or dead-letters that message, `ttlMs` passes, or the nsqd that
 * took it restarted (its start time changed: a message held in memory may be gone, so a publish
 * goes out again). Bounded to `size` ids; the oldest go first. Another process does not see it.
 */

interface Entry {
  /** HTTP address of the nsqd that took the message. */
  readonly node: string;
  /** That nsqd's start time (epoch seconds) read before the publish. */
  readonly startTime: number;
  readonly at: number;
}

export class PublishMemory {
  readonly #entries = new Map<string, Entry>();
  readonly #size: number;
  readonly #ttlMs: number;

  constructor(size: number, ttlMs: number) {
    this.#size = size;
    this.#ttlMs = ttlMs;
  }

  get enabled(): boolean {
    return this.#size > 0 && this.#ttlMs > 0;
  }

  remember(id: string, node: string, startTime: number): void {
    if (!this.enabled) return;
    this.#entries.delete(id);
    this.#entries.set(id, { node, startTime, at: Date.now() });
    while (this.#entries.size > this.#size) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** The entry for `id` while it is fresh. */
  recall(id: string): Entry | undefined {
    const e = this.#entries.get(id);
    if (!e) return undefined;
    if (Date.now() - e.at < this.#ttlMs) return e;
    this.#entries.delete(id);
    return undefined;
  }

  forget(id: string): void {
    this.#entries.delete(id);
  }
}
