/**
 * Steady job submissions for the outage tests: `clients` loops submit one job after another until
 * stopped, each answer recorded with the time it came back; and an outage in the middle of them.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { PostgresProc } from "../helpers/postgres.js";
import { CHAT_JOB, pgQuery, type Submitted, submitJob, waitFor } from "./cluster.js";

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

export interface Outage {
  /** What goes down, for messages ("PostgreSQL", "nats-server"). */
  name: string;
  /** Takes it down, keeps it down, and brings it back. */
  run: () => Promise<void>;
  /** True once the submissions show the service back (accepted again after `upAt`). */
  recovered: (outcomes: readonly Outcome[], upAt: number) => boolean;
}

export interface OutageRun {
  outcomes: Outcome[];
  /** When the outage began and ended, ms since the epoch. */
  downAt: number;
  upAt: number;
}

/**
 * Steady submissions (8 clients over `gateways`) for 3 s, then the outage, then on until the service
 * is back (at most 20 s) and 2 s more; returns every answer.
 */
export async function loadThroughOutage(
  gateways: string[],
  outage: Outage,
  note: (msg: string) => void,
): Promise<OutageRun> {
  const load = submitLoop(() => gateways, 8);
  let outcomes: Outcome[] | undefined;
  try {
    await sleep(3_000);
    const downAt = Date.now();
    await outage.run();
    const upAt = Date.now();
    note(`${outage.name} down for ${upAt - downAt} ms`);
    await waitFor(
      async () => outage.recovered(load.outcomes, upAt),
      20_000,
      () => `no submission accepted after ${outage.name} came back`,
    );
    await sleep(2_000);
    outcomes = await load.stop();
    return { outcomes, downAt, upAt };
  } finally {
    if (!outcomes) await load.stop();
  }
}

/**
 * Every refused submission is a 503 with `code` and a `retry-after`, and there was at least one (else
 * the outage proved nothing).
 */
export function assertRefusals(refused: readonly Outcome[], code: string, what: string): void {
  for (const o of refused) {
    assert.equal(o.status, 503, JSON.stringify(o));
    assert.equal(o.code, code, JSON.stringify(o));
    assert.match(o.retryAfter ?? "", /^[1-9]\d*$/, `503 without retry-after: ${JSON.stringify(o)}`);
  }
  assert.ok(refused.length > 0, `no submission was refused ${what}: the test proved little`);
}

/**
 * After an outage: the store holds exactly the jobs whose submission got a 202 (none lost, none left
 * behind by a refused submission), and every one of them is SUCCESS.
 */
export async function assertAcceptedAllSucceeded(
  pg: PostgresProc,
  accepted: readonly string[],
  database?: string,
): Promise<void> {
  const rows = await pgQuery<{ id: string; status: string }>(pg, "SELECT id, status FROM jobs", database);
  assert.deepEqual(
    rows.map((r) => r.id).sort(),
    [...accepted].sort(),
    "the store holds exactly the accepted jobs: none lost, none left by a refused submission",
  );
  assert.deepEqual(
    rows.filter((r) => r.status !== "SUCCESS"),
    [],
    "every accepted job is SUCCESS",
  );
}
