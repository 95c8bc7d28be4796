import type { KeyRepository, UsageDelta, UsageEntry } from "./types.js";

const DAY_MS = 86_400_000;

export interface UsageRecorderOptions {
  /** How often buffered usage is written (one transaction per flush). */
  flushIntervalMs?: number;
  /** Called when a flush fails (the batch is kept and retried at the next flush). */
  onError?: (err: unknown) => void;
}

interface Pending {
  keyId: string;
  atMs: number;
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

/**
 * Buffers per-request key usage in memory and writes it in one transaction per interval, so the
 * request path never waits for a disk sync. At most one interval of usage is lost if the process
 * dies; budgets are enforced by the limits module, not by these totals.
 */
export class UsageRecorder {
  readonly #keys: KeyRepository;
  readonly #onError: (err: unknown) => void;
  readonly #timer: NodeJS.Timeout;
  #pending = new Map<string, Pending>();
  #flushing: Promise<void> | undefined;

  constructor(keys: KeyRepository, opts: UsageRecorderOptions = {}) {
    this.#keys = keys;
    this.#onError = opts.onError ?? (() => {});
    this.#timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 1_000);
    this.#timer.unref();
  }

  /** Adds one request's usage to the buffer (cheap: no I/O). */
  record(keyId: string, delta: UsageDelta, atMs: number = Date.now()): void {
    const slot = `${keyId}|${Math.floor(atMs / DAY_MS)}`;
    const p = this.#pending.get(slot);
    if (p) {
      p.requests += delta.requests;
      p.promptTokens += delta.promptTokens;
      p.completionTokens += delta.completionTokens;
      p.atMs = Math.max(p.atMs, atMs);
    } else {
      this.#pending.set(slot, { keyId, atMs, ...delta });
    }
  }

  /** Writes everything buffered so far; concurrent calls share one write. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const entries: UsageEntry[] = [...batch.values()].map((p) => ({
      keyId: p.keyId,
      atMs: p.atMs,
      delta: { requests: p.requests, promptTokens: p.promptTokens, completionTokens: p.completionTokens },
    }));
    this.#flushing = this.#keys.addUsageBatch(entries).then(
      () => undefined,
      (err: unknown) => {
        for (const e of entries) this.record(e.keyId, e.delta, e.atMs);
        this.#onError(err);
      },
    );
    try {
      await this.#flushing;
    } finally {
      this.#flushing = undefined;
    }
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
