/**
 * Pieces the networked queues (NATS JetStream, Kafka) run alike: receives parked until something
 * arrives, message ids and texts carried in headers, and one timer for the earliest of many deadlines.
 */
import { GatewayError } from "../../core/errors.js";

/** Parked receives: each waits for a time limit, a wake-up or an abort, whichever comes first. */
export class Waiters {
  readonly #parked = new Set<() => void>();

  /** Ends every wait now. */
  wakeAll(): void {
    for (const w of this.#parked) w();
  }

  /** Resolves after `ms`, at the next `wakeAll`, or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#parked.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#parked.add(done);
      signal?.addEventListener("abort", done);
    });
  }
}

const isControl = (ch: string): boolean => {
  const c = ch.charCodeAt(0);
  return c < 0x20 || c === 0x7f;
};

/**
 * Ids travel in headers (and Kafka keys): 1-512 characters, no control characters, no spaces at
 * either end; anything else is `internal_error` naming the queue (`system`, e.g. "NATS").
 */
export function checkHeaderId(id: string, system: string): void {
  if (id.length < 1 || id.length > 512 || id.trim() !== id || [...id].some(isControl)) {
    throw new GatewayError(
      "internal_error",
      `a ${system} queue message id must be 1-512 printable characters`,
    );
  }
}

/** A header value: control characters (line breaks) become spaces; bounded; never empty. */
export function headerText(s: string, max: number): string {
  const clean = [...s].map((ch) => (isControl(ch) ? " " : ch)).join("");
  return clean.trim().slice(0, max) || "-";
}

/**
 * One unref'd timer for the earliest of many deadlines: `at(t)` keeps an earlier timer, replaces a
 * later one, and `at(Infinity)` cancels; `run` is called once the time comes (the timer is then off).
 */
export class EarliestTimer {
  readonly #run: () => void;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  constructor(run: () => void) {
    this.#run = run;
  }

  /** Runs `run` at `next` (epoch ms) unless the timer is set for no later already. */
  at(next: number): void {
    if (next === Number.POSITIVE_INFINITY) {
      this.cancel();
      return;
    }
    if (this.#timer && next >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = next;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.#run();
      },
      Math.max(0, next - Date.now()),
    );
    this.#timer.unref();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }
}
