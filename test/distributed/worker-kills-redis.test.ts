/**
 * 2 gateways + 2 workers over PostgreSQL with the queue on Redis Streams (AOF, `appendfsync always`)
 * and Redis rate-limit counters (another redis-server); workers SIGKILLed in turn and restarted.
 * The scenario and its assertions: kill-scenario.ts.
 */
import { test } from "node:test";
import { postgresAvailable } from "../helpers/postgres.js";
import { type RedisProc, redisAvailable, startRedis } from "../helpers/redis.js";
import { JOBS, runKillScenario, SCENARIO_TIMEOUT_MS, withInfra } from "./kill-scenario.js";

test(`Redis Streams queue: ${JOBS} jobs via 2 gateways, 2 workers SIGKILLed in turn: all SUCCESS, none lost, duplicates ≤ kills × concurrency`, {
  timeout: SCENARIO_TIMEOUT_MS,
}, async (t) => {
  if (!postgresAvailable(t) || !redisAvailable(t)) return;
  await withInfra(async (infra) => {
    let broker: RedisProc | undefined;
    try {
      broker = await startRedis({ appendfsync: "always" });
      await runKillScenario(infra, "kills_redis", { kind: "redis", url: broker.url }, (m) => t.diagnostic(m));
    } finally {
      await broker?.stop();
    }
  });
});
