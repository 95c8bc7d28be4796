import type { Cancellation } from "../core/context.js";
import { GatewayError } from "../core/errors.js";

export type Priority = "high" | "default" | "low";
const RANK: Record<Priority, number> = { high: 0, default: 1, low: 2 };

export function parsePriority(value: string | undefined): Priority {
  return value === "high" || value === "low" ? value : "default";
}

interface Waiter {
  rank: number;
  seq: number;
  resolve: () => void;
  reject: (err: GatewayError) => void;
  cleanup: () => void;
  /** Called when the request is cancelled while it waits. */
  handleEvent: () => void;
}

export interface AdmissionSettings {
  maxInFlight: number;
  maxQueue: number;
  queueTimeoutMs: number;
}

/**
 * A per-pool cap on requests in flight with a bounded waiting queue. Higher priorities are served
 * first; when the queue is full, the newest waiter of the lowest priority is shed (if the newcomer
 * outranks it) or the newcomer is refused — memory never grows without bound.
 */
export class Admission {
  private inFlight = 0;
  private seq = 0;
  private readonly queue: Waiter[] = [];

  constructor(private readonly s: AdmissionSettings) {}

  get waiting(): number {
    return this.queue.length;
  }

  get running(): number {
    return this.inFlight;
  }

  /**
   * Holds a slot at once (undefined) or returns a promise that resolves when one is held; call
   * `release` exactly once afterwards. A request that is cancelled while it waits leaves the queue.
   */
  acquire(priority: Priority, cancel: Cancellation): Promise<void> | undefined {
    if (this.s.maxInFlight === 0 || this.inFlight < this.s.maxInFlight) {
      this.inFlight++;
      return undefined;
    }
    const rank = RANK[priority];
    if (this.queue.length >= this.s.maxQueue) {
      const victim = this.lowestRanked();
      if (!victim || victim.rank <= rank) return Promise.reject(overloaded("the admission queue is full"));
      this.remove(victim);
      victim.reject(overloaded("shed for a request of higher priority"));
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.remove(waiter);
        reject(overloaded(`no slot within ${this.s.queueTimeoutMs} ms`));
      }, this.s.queueTimeoutMs);
      const waiter: Waiter = {
        rank,
        seq: this.seq++,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          cancel.offAbort(waiter);
        },
        handleEvent: () => {
          this.remove(waiter);
          reject(cancel.reason as GatewayError);
        },
      };
      if (cancel.aborted) {
        clearTimeout(timer);
        reject(cancel.reason as GatewayError);
        return;
      }
      cancel.onAbort(waiter);
      this.insert(waiter);
    });
  }

  release(): void {
    const next = this.queue.shift();
    if (next) {
      next.cleanup();
      next.resolve();
    } else {
      this.inFlight--;
    }
  }

  private insert(w: Waiter): void {
    let i = this.queue.length;
    while (i > 0 && (this.queue[i - 1] as Waiter).rank > w.rank) i--;
    this.queue.splice(i, 0, w);
  }

  private lowestRanked(): Waiter | undefined {
    return this.queue[this.queue.length - 1];
  }

  private remove(w: Waiter): void {
    const i = this.queue.indexOf(w);
    if (i >= 0) this.queue.splice(i, 1);
    w.cleanup();
  }
}

function overloaded(why: string): GatewayError {
  return new GatewayError("overloaded", `The model is overloaded: ${why}.`, { retryAfterSeconds: 1 });
}
