import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { nowUs, summarize } from "./stats.js";
import type { OpenLoopResult } from "./types.js";

export interface OpenLoopOptions {
  port: number;
  rate: number;
  seconds: number;
  /** Seconds sent at the same rate first and not recorded (connections, JIT, caches). */
  warmupSeconds: number;
  body: string;
  connections: number;
}

interface Tally {
  latency: number[];
  lag: number[];
  ok: number;
  errors: number;
}

const PATH = "/v1/chat/completions";
const HEADERS = { "content-type": "application/json" };

/** One request; latency runs from the moment it is handed to the pool, so queueing anywhere counts. */
async function fire(pool: Pool, body: string, t: Tally | undefined): Promise<void> {
  const start = nowUs();
  try {
    const res = await pool.request({ path: PATH, method: "POST", headers: HEADERS, body });
    await res.body.text();
    if (t === undefined) return;
    if (res.statusCode === 200) {
      t.ok++;
      t.latency.push(nowUs() - start);
    } else {
      t.errors++;
    }
  } catch {
    if (t !== undefined) t.errors++;
  }
}

/** How long every connection of the driver's pool sends back to back before the schedule starts. */
const PREWARM_MS = 1_000;

/**
 * Opens every connection of the pool and warms the driver's own code: each connection sends one
 * request after another for PREWARM_MS. Without it the first seconds of the schedule measured the
 * driver opening 64 connections and compiling its code on a CPU it shares with the sim: every
 * target, direct excepted, showed a backlog of ~0.5 s that the schedule's warm-up did not cover.
 */
async function prewarm(pool: Pool, body: string, connections: number): Promise<void> {
  const until = nowUs() + PREWARM_MS * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (nowUs() < until) await fire(pool, body, undefined);
    }),
  );
}

/**
 * Fixed arrival rate: request i is due at start + i / rate whether or not earlier ones have
 * answered, so a slow target cannot slow the sender down (no coordinated omission). A 1 ms timer
 * sends everything that has fallen due; the lag against the schedule is reported too.
 */
export async function runOpenLoop(opts: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = new Pool(`http://127.0.0.1:${opts.port}`, { connections: opts.connections, pipelining: 1 });
  await prewarm(pool, opts.body, opts.connections);
  const t: Tally = { latency: [], lag: [], ok: 0, errors: 0 };
  const warmup = Math.round(opts.rate * opts.warmupSeconds);
  const total = warmup + Math.max(1, Math.round(opts.rate * opts.seconds));
  const intervalUs = 1e6 / opts.rate;
  const inFlight: Promise<void>[] = [];
  const startUs = nowUs();
  let sent = 0;
  while (sent < total) {
    const now = nowUs();
    while (sent < total && startUs + sent * intervalUs <= now) {
      const recorded = sent >= warmup;
      if (recorded) t.lag.push(now - (startUs + sent * intervalUs));
      inFlight.push(fire(pool, opts.body, recorded ? t : undefined));
      sent++;
    }
    await sleep(1);
  }
  const elapsedUs = nowUs() - startUs - opts.warmupSeconds * 1e6;
  await Promise.race([Promise.allSettled(inFlight), sleep(10_000)]);
  await pool.destroy();
  sent -= warmup;
  return {
    rate: opts.rate,
    seconds: opts.seconds,
    sent,
    ok: t.ok,
    errors: t.errors + (sent - t.ok - t.errors),
    achievedRps: t.ok / (elapsedUs / 1e6),
    latencyUs: summarize(t.latency),
    scheduleLagUs: summarize(t.lag),
  };
}
