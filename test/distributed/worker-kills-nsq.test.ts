/**
 * 2 gateways + 2 workers over PostgreSQL with the queue on NSQ (one nsqd, default settings: it is not
 * killed here) and Redis rate-limit counters; workers SIGKILLed in turn and restarted. nsqd hands a
 * dead worker's messages out again after `msgTimeoutMs` (2 s here). The scenario and its
 * assertions: kill-scenario.ts.
 */
import { test } from "node:test";
import { type NsqdProc, nsqAvailable, startNsqd } from "../helpers/nsq.js";
import { postgresAvailable } from "../helpers/postgres.js";
import { redisAvailable } from "../helpers/redis.js";
import { runKillScenario, withInfra } from "./kill-scenario.js";

// Fewer jobs than the NATS and Redis runs (1,500), to keep this file near a minute on a loaded
// 2-core machine: 500 jobs, spread over 14 s with a 200 ms upstream (so each worker has jobs in
// flight when it dies), still span several kills on a fast machine. Spreading them also keeps the
// queue's backlog shorter than `jobs.leaseMs`, so the stale-PENDING repair does not publish copies
// from other processes (NSQ de-duplicates per process only: docs/queue-nsq.md), which could run a
// job twice without a kill. `SWITCHYARD_KILL_JOBS` raises the count.
const JOBS = Number(process.env.SWITCHYARD_KILL_JOBS ?? 500);

test(`NSQ queue: ${JOBS} jobs via 2 gateways, 2 workers SIGKILLed in turn: all SUCCESS, none lost, duplicates ≤ kills × concurrency`, {
  timeout: 150_000,
}, async (t) => {
  if (!postgresAvailable(t) || !nsqAvailable(t) || !redisAvailable(t)) return;
  await withInfra(async (infra) => {
    let nsqd: NsqdProc | undefined;
    try {
      nsqd = await startNsqd();
      await runKillScenario(
        infra,
        "kills_nsq",
        { kind: "nsq", tcpAddress: nsqd.tcpAddress, httpAddress: nsqd.httpAddress, msgTimeoutMs: 2_000 },
        (m) => t.diagnostic(m),
        { jobs: JOBS, submitOverMs: 14_000, upstreamDelayMs: 200 },
      );
    } finally {
      await nsqd?.cleanup();
    }
  });
});
