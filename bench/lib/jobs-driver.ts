import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { nowUs } from "./stats.js";

/**
 * End-to-end jobs (issue 7): submit `count` jobs from `concurrency` clients, wait until no job is
 * PENDING or RUNNING, then page through the SUCCESS list for those jobs (by the ids the submissions
 * answered): their count and their last `finished_at`. Completed jobs/s = succeeded ÷ (last
 * finished_at − first submission). Waiting polls two one-item
 * list pages every 50 ms, so the poll costs the gateway next to nothing.
 *
 * Before that, batches of jobs run end to end (submitted, then drained) for `warmupSeconds`, as wrk
 * warms each target up before its measured runs: connections, the JIT and SQLite's pages are warm
 * when the measured run starts. Warm-up jobs are not counted.
 */
export interface JobsOptions {
  port: number;
  count: number;
  concurrency: number;
  body: string;
  /** Seconds of the measured run before it counts as timed out (the warm-up has its own). */
  timeoutSeconds: number;
  /** Seconds of unreported warm-up batches (at least one batch runs). */
  warmupSeconds: number;
}

export interface JobsResult {
  submitted: number;
  accepted: number;
  submitErrors: number;
  submitSeconds: number;
  submitsPerSecond: number;
  succeeded: number;
  failed: number;
  timedOut: boolean;
  /** First submission to the last job's finished_at. */
  endToEndSeconds: number;
  completedPerSecond: number;
}

interface Page {
  data: Array<{ id: string; finished_at: string | null }>;
  has_more: boolean;
  last_id: string | null;
}

async function getJson(pool: Pool, path: string): Promise<Page> {
  const res = await pool.request({ path, method: "GET" });
  const text = await res.body.text();
  if (res.statusCode !== 200)
    throw new Error(`GET ${path} answered ${res.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Page;
}

async function submit(
  pool: Pool,
  opts: JobsOptions,
  n: number,
): Promise<{ ok: number; errors: number; ids: Set<string> }> {
  let next = 0;
  let ok = 0;
  let errors = 0;
  const ids = new Set<string>();
  const headers = { "content-type": "application/json" };
  const client = async () => {
    while (next < n) {
      next++;
      try {
        const res = await pool.request({ path: "/v1/jobs", method: "POST", headers, body: opts.body });
        const text = await res.body.text();
        if (res.statusCode !== 202) {
          errors++;
          continue;
        }
        ids.add((JSON.parse(text) as { id: string }).id); // a 202 without a job id throws: an error
        ok++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, client));
  return { ok, errors, ids };
}

/** Waits until no job is PENDING or RUNNING; false when the deadline passed first. */
async function drained(pool: Pool, deadlineUs: number): Promise<boolean> {
  while (nowUs() < deadlineUs) {
    const [pending, running] = await Promise.all([
      getJson(pool, "/v1/jobs?status=PENDING&limit=1"),
      getJson(pool, "/v1/jobs?status=RUNNING&limit=1"),
    ]);
    if (pending.data.length === 0 && running.data.length === 0) return true;
    await sleep(50);
  }
  return false;
}

/**
 * Jobs of the measured batch (`ids`) with `status`, and the latest finished_at among them (epoch ms).
 * Counting by id keeps out warm-up jobs that a slow queue only finishes during the measured run.
 */
async function tally(
  pool: Pool,
  status: string,
  ids: Set<string>,
): Promise<{ count: number; lastFinishedMs: number }> {
  let count = 0;
  let lastFinishedMs = 0;
  let after: string | null = null;
  for (;;) {
    const page: Page = await getJson(
      pool,
      `/v1/jobs?status=${status}&limit=100${after === null ? "" : `&after=${after}`}`,
    );
    for (const j of page.data) {
      if (!ids.has(j.id)) continue;
      count++;
      if (j.finished_at !== null) lastFinishedMs = Math.max(lastFinishedMs, Date.parse(j.finished_at));
    }
    if (!page.has_more || page.last_id === null) return { count, lastFinishedMs };
    after = page.last_id;
  }
}

export async function runJobs(opts: JobsOptions): Promise<JobsResult> {
  const pool = new Pool(`http://127.0.0.1:${opts.port}`, { connections: opts.concurrency + 2 });
  try {
    const batch = Math.min(200, Math.ceil(opts.count / 10));
    const warmupUntil = nowUs() + opts.warmupSeconds * 1e6;
    do {
      await submit(pool, opts, batch); // connections, JIT, SQLite pages; not counted
      if (!(await drained(pool, nowUs() + opts.timeoutSeconds * 1e6))) break;
    } while (nowUs() < warmupUntil);
    const deadlineUs = nowUs() + opts.timeoutSeconds * 1e6;
    const startMs = Date.now();
    const t0 = nowUs();
    const { ok, errors, ids } = await submit(pool, opts, opts.count);
    const submitSeconds = (nowUs() - t0) / 1e6;
    const timedOut = !(await drained(pool, deadlineUs));
    const success = await tally(pool, "SUCCESS", ids);
    const failed = await tally(pool, "FAILED", ids);
    const succeeded = success.count;
    const endMs = timedOut ? Date.now() : success.lastFinishedMs;
    const endToEndSeconds = Math.max(0.001, (endMs - startMs) / 1000);
    return {
      submitted: opts.count,
      accepted: ok,
      submitErrors: errors,
      submitSeconds,
      submitsPerSecond: ok / submitSeconds,
      succeeded,
      failed: failed.count,
      timedOut,
      endToEndSeconds,
      completedPerSecond: succeeded / endToEndSeconds,
    };
  } finally {
    await pool.destroy();
  }
}
