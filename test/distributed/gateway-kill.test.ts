/**
 * A gateway SIGKILLed in the middle of submissions (2 gateways, 2 workers, PostgreSQL store, NATS
 * queue, Redis rate-limit counters). Every submission carries an Idempotency-Key (also copied into
 * the job's metadata, to find its jobs in the store). Half of the clients retry a failed submission
 * on the other gateway with the same key and body, as a careful client does; the other half give up
 * on the first error. Afterwards: each client either got an error or a job id that completes; a key
 * never names two jobs (the store is checked too); jobs whose answer was lost with the gateway still
 * run (the surviving processes re-publish PENDING jobs that have no queue message).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Running } from "../helpers/proc.js";
import { CHAT_JOB, pgQuery, statusCounts, submitJob } from "./cluster.js";
import { settled, waitForCounts, withNatsCluster } from "./nats-cluster.js";

const CLIENTS = 16;

interface KeyResult {
  key: string;
  retries: boolean;
  /** Job ids of every answer with one (202, or 200 for a replay). */
  ids: string[];
  errors: string[];
  replayed: boolean;
}

/** One key: a submission to `first`, retried on `second` (same key and body) when `retries`. */
async function submitKey(first: Running, second: Running, key: string, retries: boolean): Promise<KeyResult> {
  const body = { ...CHAT_JOB, metadata: { key } };
  const out: KeyResult = { key, retries, ids: [], errors: [], replayed: false };
  for (let attempt = 0; attempt < 6; attempt++) {
    try {
      const r = await submitJob((attempt === 0 ? first : second).url, body, { key, timeoutMs: 10_000 });
      if (r.status === 202 || r.status === 200) {
        out.ids.push(r.id!);
        out.replayed ||= r.replayed;
        return out;
      }
      out.errors.push(`${r.status} ${r.code}`);
    } catch (err) {
      out.errors.push(err instanceof Error ? err.message : String(err));
    }
    if (!retries) return out;
    await sleep(100);
  }
  return out;
}

test("a gateway SIGKILLed mid-submit: every client has an error or a job that completes, one job per key", {
  timeout: 100_000,
}, async (t) => {
  // A PENDING job untouched for 2 s is re-published within 1 s more by any process.
  const opts = { jobs: { leaseMs: 2_000, purgeIntervalMs: 1_000 } };
  await withNatsCluster(t, opts, async ({ infra, cluster }) => {
    const [a, b] = cluster.gateways as [Running, Running];
    const results: KeyResult[] = [];
    let stop = false;
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      for (let n = 0; !stop; n++) {
        // Clients start on gateway A; once it is gone, new submissions go to B.
        const alive = a.proc.exitCode === null && a.proc.signalCode === null;
        results.push(await submitKey(alive ? a : b, b, `c${c}-${n}`, c % 2 === 0));
      }
    });
    await sleep(2_500);
    a.proc.kill("SIGKILL");
    await a.exited;
    await sleep(2_000);
    stop = true;
    await Promise.all(clients);

    const withError = results.filter((r) => r.ids.length === 0);
    const withId = results.filter((r) => r.ids.length > 0);
    t.diagnostic(
      `${results.length} keys: ${withId.length} with a job id (${withId.filter((r) => r.replayed).length} replayed by B), ${withError.length} errors only`,
    );
    assert.ok(
      results.some((r) => r.errors.length > 0),
      "no submission was cut by the kill: the test proved little",
    );
    for (const r of results) {
      if (r.retries)
        assert.equal(r.ids.length, 1, `a retrying client ends with a job id: ${JSON.stringify(r)}`);
    }
    // Every job in the store, including those whose answer died with gateway A, completes.
    await waitForCounts(infra.pg, settled);
    const rows = await pgQuery<{ id: string; status: string; metadata: string }>(
      infra.pg,
      "SELECT id, status, metadata FROM jobs",
    );
    assert.ok(
      rows.every((r) => r.status === "SUCCESS"),
      JSON.stringify(await statusCounts(infra.pg)),
    );
    const byKey = new Map<string, string[]>();
    for (const r of rows) {
      const key = (JSON.parse(r.metadata) as { key: string }).key;
      byKey.set(key, [...(byKey.get(key) ?? []), r.id]);
    }
    for (const [key, ids] of byKey) assert.equal(ids.length, 1, `key ${key} made ${ids.length} jobs`);
    for (const r of withId) assert.deepEqual(byKey.get(r.key), r.ids, `the job given for ${r.key}`);
    const orphans = rows.length - withId.length;
    t.diagnostic(`${orphans} jobs completed whose client saw only an error`);
  });
});
