/**
 * 2 gateways + 2 workers over PostgreSQL with the queue on Apache Kafka (one KRaft broker) and Redis
 * rate-limit counters; workers SIGKILLed in turn and restarted. A killed worker's partitions move to
 * the other worker once its group session runs out, so the test config sets the adapter's session
 * to its minimum (1 s, heartbeats every 300 ms: cluster.ts). The scenario and its assertions:
 * kill-scenario.ts.
 */
import { test } from "node:test";
import { KAFKA_MISSING, type KafkaProc, kafkaAvailable, startKafka } from "../helpers/kafka.js";
import { postgresAvailable } from "../helpers/postgres.js";
import { redisAvailable } from "../helpers/redis.js";
import { runKillScenario, withInfra } from "./kill-scenario.js";

// Fewer jobs than the NATS and Redis runs (800): the JVM broker shares the 2 cores with
// PostgreSQL, the sim, Redis and 4 Node processes, and each kill costs a group rebalance that stops
// the whole group. With another test file beside it, such a machine drained 500 jobs after the
// kills at 6–25 jobs/s. 300 jobs, spread over 14 s with a 200 ms upstream (so each worker has jobs in
// flight when it dies), still see every kill mid-run and drain within the scenario's cap there;
// `SWITCHYARD_KILL_JOBS` raises the count.
const JOBS = Number(process.env.SWITCHYARD_KILL_JOBS ?? 300);

test(`Kafka queue: ${JOBS} jobs via 2 gateways, 2 workers SIGKILLed in turn: all SUCCESS, none lost, duplicates ≤ kills × concurrency`, {
  timeout: 150_000,
}, async (t) => {
  if (!postgresAvailable(t) || !kafkaAvailable(t) || !redisAvailable(t)) return;
  // The broker's JVM starts while PostgreSQL, Redis and the sim do.
  const starting: Promise<KafkaProc> | undefined = KAFKA_MISSING ? undefined : startKafka();
  starting?.catch(() => {});
  try {
    await withInfra(async (infra) => {
      const kafka = await starting!;
      t.diagnostic("Kafka broker, PostgreSQL, Redis and the sim up");
      await runKillScenario(
        infra,
        "kills_kafka",
        { kind: "kafka", broker: kafka.broker },
        (m) => t.diagnostic(m),
        {
          jobs: JOBS,
          submitOverMs: 14_000,
          upstreamDelayMs: 200,
        },
      );
    });
  } finally {
    await (await starting?.catch(() => undefined))?.cleanup();
  }
});
