/**
 * examples/distributed.yaml: it parses with its environment variables, names the ones it needs, and
 * runs as docs/distributed.md says: 2 `switchyard serve` + 2 `switchyard worker` on that one file,
 * against a real PostgreSQL, nats-server (with a password) and redis-server, and a sim as the model.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError, loadConfigFile } from "../../src/config/load.js";
import { type NatsProc, natsAvailable, startNats } from "../helpers/nats.js";
import { type PostgresProc, postgresAvailable, startPostgres } from "../helpers/postgres.js";
import { type Running, startCli, startSim } from "../helpers/proc.js";
import { type RedisProc, redisAvailable, startRedis } from "../helpers/redis.js";
import { CHAT_JOB, statusCounts, submitJob, waitFor } from "./cluster.js";

const EXAMPLE = join(import.meta.dirname, "..", "..", "examples", "distributed.yaml");

test("examples/distributed.yaml parses: postgres store, nats queue, redis limits, secrets from the environment", () => {
  const env = { PG_PASSWORD: "pw-1", NATS_PASSWORD: "nats-pw-2", PG_HOST: "db.internal" };
  const cfg = loadConfigFile(EXAMPLE, env);
  assert.equal(cfg.store.kind, "postgres");
  assert.ok(
    cfg.store.kind === "postgres" &&
      cfg.store.url === "postgres://switchyard:pw-1@db.internal:5432/switchyard",
  );
  assert.equal(cfg.jobs.queue.kind, "nats");
  assert.ok(cfg.jobs.queue.kind === "nats" && cfg.jobs.queue.password === "nats-pw-2");
  assert.equal(cfg.jobs.workers, 0);
  assert.equal(cfg.limits.store.kind, "redis");
  assert.throws(
    () => loadConfigFile(EXAMPLE, { NATS_PASSWORD: "x" }),
    (err: unknown) => err instanceof ConfigError && /PG_PASSWORD is not set/.test(err.message),
  );
});

test("examples/distributed.yaml runs: 2 gateways + 2 workers on one machine complete jobs", {
  timeout: 90_000,
}, async (t) => {
  if (!postgresAvailable(t) || !natsAvailable(t) || !redisAvailable(t)) return;
  let pg: PostgresProc | undefined;
  let nats: NatsProc | undefined;
  let redis: RedisProc | undefined;
  let sim: Running | undefined;
  const procs: Running[] = [];
  try {
    [pg, nats, redis, sim] = await Promise.all([
      startPostgres({ database: "switchyard" }),
      startNats({ user: "switchyard", password: "nats-secret", jetstream: "sync_interval: always" }),
      startRedis({ appendfsync: "always" }),
      startSim(["--model", "sim-small:instant"]),
    ]);
    const env = {
      PG_USER: "postgres",
      PG_PASSWORD: "unused-with-trust-auth",
      PG_PORT: String(pg.port),
      NATS_URL: nats.url,
      NATS_PASSWORD: "nats-secret",
      REDIS_URL: redis.url,
      MODEL_URL: `${sim.url}/v1`,
    };
    const serve = ["serve", "--config", EXAMPLE, "--port", "0", "--host", "127.0.0.1", "--grpc-port", "0"];
    const worker = ["worker", "--config", EXAMPLE, "--concurrency", "4"];
    procs.push(await startCli(serve, "switchyard listening", env));
    const rest = await Promise.all([
      startCli(serve, "switchyard listening", env),
      startCli(worker, "switchyard worker started", env),
      startCli(worker, "switchyard worker started", env),
    ]);
    procs.push(...rest);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await submitJob(procs[i % 2]!.url, CHAT_JOB);
      assert.equal(r.status, 202, JSON.stringify(r));
      ids.push(r.id!);
    }
    await waitFor(
      async () => (await statusCounts(pg!)).SUCCESS === ids.length,
      30_000,
      async () => JSON.stringify(await statusCounts(pg!)),
    );
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all([sim?.stop(), redis?.stop(), nats?.cleanup(), pg?.cleanup()]);
  }
});
