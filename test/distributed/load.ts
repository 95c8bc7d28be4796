/**
 * Steady job submissions for the outage tests: `clients` loops submit one job after another until
 * stopped, each answer recorded with the time it came back.
 */
import { CHAT_JOB, type Submitted, submitJob } from "./cluster.js";

export interface Outcome extends Submitted {
  /** When the answer (or the transport error) came, ms since the epoch. */
  at: number;
  /** The gateway it was sent to. */
  base: string;
  /** Set when no HTTP answer came (connection refused or reset, timeout). */
  transportError?: string;
}

export interface SubmitLoop {
  readonly outcomes: Outcome[];
  /** Stops the loops and waits for the submissions in flight. */
  stop(): Promise<Outcome[]>;
}

/** `clients` loops, client c sending to `targets()[c % n]`, until `stop()`. */
export function submitLoop(targets: () => string[], clients: number): SubmitLoop {
  const outcomes: Outcome[] = [];
  let done = false;
  const loops = Array.from({ length: clients }, async (_, c) => {
    while (!done) {
      const all = targets();
      const base = all[c % all.length]!;
      try {
        outcomes.push({ ...(await submitJob(base, CHAT_JOB, { timeoutMs: 20_000 })), base, at: Date.now() });
      } catch (err) {
        outcomes.push({
          status: 0,
          replayed: false,
          base,
          at: Date.now(),
          transportError: err instanceof Error ? err.message : String(err),
        });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  return {
    outcomes,
    async stop() {
      done = true;
      await Promise.all(loops);
      return outcomes;
    },
  };
}
