/**
 * 2 gateways + 2 workers over PostgreSQL with the queue on NATS JetStream (file storage) and Redis
 * rate-limit counters; workers SIGKILLed in turn and restarted. nats-server itself is not killed
 * here, so it runs with its default sync interval (nats-outage.test.ts kills it, with
 * `sync_interval: always`). The scenario and its assertions: kill-scenario.ts.
 */
import { test } from "node:test";
import { type NatsProc, natsAvailable, startNats } from "../helpers/nats.js";
import { postgresAvailable } from "../helpers/postgres.js";
import { redisAvailable } from "../helpers/redis.js";
import { JOBS, runKillScenario, SCENARIO_TIMEOUT_MS, withInfra } from "./kill-scenario.js";

test(`NATS queue: ${JOBS} jobs via 2 gateways, 2 workers SIGKILLed in turn: all SUCCESS, none lost, duplicates ≤ kills × concurrency`, {
  timeout: SCENARIO_TIMEOUT_MS,
}, async (t) => {
  if (!postgresAvailable(t) || !natsAvailable(t) || !redisAvailable(t)) return;
  await withInfra(async (infra) => {
    let nats: NatsProc | undefined;
    try {
      nats = await startNats();
      await runKillScenario(infra, "kills_nats", { kind: "nats", url: nats.url, ackWaitMs: 3_000 }, (m) =>
        t.diagnostic(m),
      );
    } finally {
      await nats?.cleanup();
    }
  });
});
