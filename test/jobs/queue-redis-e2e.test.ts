/**
 * Jobs through the Redis queue, end to end: one gateway accepts jobs (no workers), another runs them,
 * both on one real redis-server and one store; a Redis outage refuses a submission with 503.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { request } from "undici";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config/load.js";
import { configFor, type Running, startSim } from "../helpers/proc.js";
import { REDIS_SERVER, type RedisProc, redisAvailable, startRedis } from "../helpers/redis.js";

interface JobView {
  id: string;
  status: string;
  result: { choices?: unknown[] } | null;
  error: { code?: string } | null;
}

async function call(base: string, method: "GET" | "POST", path: string, body?: unknown) {
  const res = await request(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

const submission = {
  type: "chat.completion",
  request: { model: "sim-small", messages: [{ role: "user", content: "hi" }], max_tokens: 4 },
};

if (!REDIS_SERVER) {
  test("jobs on the Redis queue", (t) => {
    redisAvailable(t);
  });
} else {
  describe("jobs on the Redis queue", () => {
    let redis: RedisProc;
    let sim: Running;
    const gateways: Gateway[] = [];
    let front: string;

    const gateway = async (url: string, storePath: string, workers: number): Promise<string> => {
      const cfg = parseConfig({
        ...configFor(sim.url),
        logging: { level: "silent", accessLog: false },
        store: { path: storePath },
        jobs: {
          workers,
          leaseMs: 2_000,
          queue: { kind: "redis", url, name: "e2e", commandTimeoutMs: 300 },
        },
      });
      const gw = await createGateway(cfg, { logger: pino({ level: "silent" }) });
      gateways.push(gw);
      return `http://127.0.0.1:${await gw.listen(0, "127.0.0.1")}`;
    };

    before(async () => {
      redis = await startRedis();
      sim = await startSim(["--model", "sim-small:instant"]);
      const storePath = join(mkdtempSync(join(tmpdir(), "switchyard-redis-jobs-")), "jobs.db");
      front = await gateway(redis.url, storePath, 0);
      await gateway(redis.url, storePath, 2);
    });
    after(async () => {
      for (const gw of gateways) await gw.close(500);
      await sim.stop();
      await redis.stop();
    });

    test("a job accepted by one gateway is run by another's workers", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await call(front, "POST", "/v1/jobs", submission);
        assert.equal(r.status, 202, JSON.stringify(r.json));
        ids.push(String(r.json.id));
      }
      for (const id of ids) {
        const end = Date.now() + 10_000;
        let job: JobView;
        for (;;) {
          job = (await call(front, "GET", `/v1/jobs/${id}`)).json as unknown as JobView;
          if (job.status === "SUCCESS" || Date.now() > end) break;
          await sleep(50);
        }
        assert.equal(job.status, "SUCCESS", JSON.stringify(job));
        assert.ok(Array.isArray(job.result?.choices));
      }
    });

    test("with Redis down, a submission is refused with 503 queue_unavailable", async () => {
      await redis.kill();
      try {
        const started = Date.now();
        const r = await call(front, "POST", "/v1/jobs", submission);
        assert.equal(r.status, 503, JSON.stringify(r.json));
        assert.equal((r.json.error as { code?: string }).code, "queue_unavailable");
        assert.ok(Date.now() - started < 2_000);
      } finally {
        await redis.restart();
      }
    });
  });
}
