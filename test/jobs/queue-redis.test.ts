/** The Redis Streams queue against a real redis-server: conformance, takeover, outages, durability. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { defaultConfigInput, parseConfig } from "../../src/config/load.js";
import { isGatewayError } from "../../src/core/errors.js";
import { openRedisQueue, type RedisQueue } from "../../src/jobs/queue/redis.js";
import { type RedisQueueConfigInput, redisQueueConfigSchema } from "../../src/jobs/queue/redis-config.js";
import { REDIS_SERVER, type RedisProc, redisAvailable, startRedis } from "../helpers/redis.js";
import { queueConformance } from "./queue-conformance.js";

let queueNo = 0;
const servers: RedisProc[] = [];
const queues: RedisQueue[] = [];

async function server(opts?: Parameters<typeof startRedis>[0]): Promise<RedisProc> {
  const r = await startRedis(opts);
  servers.push(r);
  return r;
}

async function open(
  url: string,
  over: Partial<RedisQueueConfigInput> = {},
  pollIntervalMs = 50,
): Promise<RedisQueue> {
  const cfg = redisQueueConfigSchema.parse({ kind: "redis", url, name: `q${queueNo}`, ...over });
  const q = await openRedisQueue(cfg, { pollIntervalMs });
  queues.push(q);
  return q;
}

function isUnavailable(err: unknown): boolean {
  return isGatewayError(err) && err.code === "queue_unavailable" && err.status === 503;
}

after(async () => {
  for (const q of queues) await q.close();
  for (const s of servers) await s.stop();
});

if (!REDIS_SERVER) {
  test("Redis queue", (t) => {
    redisAvailable(t);
  });
} else {
  let shared: Promise<RedisProc> | undefined;
  queueConformance("redis", async () => {
    shared ??= server();
    const { url } = await shared;
    const name = `conf${++queueNo}`;
    return { open: () => open(url, { name }), cleanup: async () => {} };
  });

  describe("Redis queue", () => {
    test("a consumer that dies without ack loses its message to another after the lease", async () => {
      const r = await server();
      queueNo++;
      const a = await open(r.url);
      const b = await open(r.url);
      await a.publish("m", "p");
      const [first] = await a.receive({ max: 1, leaseMs: 300, waitMs: 0 });
      assert.equal(first?.deliveries, 1);
      const took = Date.now();
      await a.close(); // its connections are gone; the lease stays in Redis and runs out
      const [again] = await b.receive({ max: 1, leaseMs: 5_000, waitMs: 3_000 });
      assert.equal(again?.id, "m");
      assert.equal(again?.deliveries, 2);
      assert.ok(Date.now() - took >= 250, "taken over before the lease ran out");
      // The group's pending list agrees: one entry, now owned by the new consumer, delivered twice.
      const raw = new Redis(r.url);
      try {
        const [entry] = (await raw.xpending(
          `switchyard:queue:{q${queueNo}}:s:0`,
          "switchyard",
          "-",
          "+",
          10,
        )) as [string, string, number, number][];
        assert.equal(entry?.[3], 2);
        const summary = (await raw.xpending(`switchyard:queue:{q${queueNo}}:s:0`, "switchyard")) as [
          number,
          string,
          string,
          [string, string][],
        ];
        assert.equal(summary[0], 1);
      } finally {
        raw.disconnect();
      }
      assert.equal(await b.ack(again!), true);
      assert.deepEqual(await b.stats(), { ready: 0, leased: 0, dead: 0 });
    });

    test("delayed nack delivers after the delay, not before", async () => {
      const r = await server();
      queueNo++;
      const q = await open(r.url);
      await q.publish("m", "p");
      const [d] = await q.receive({ max: 1, leaseMs: 5_000, waitMs: 0 });
      const nacked = Date.now();
      assert.equal(await q.nack(d!, 700), true);
      assert.equal(await q.ack(d!), false, "the nacked lease is no longer the caller's");
      await sleep(300);
      assert.equal((await q.receive({ max: 1, leaseMs: 5_000, waitMs: 0 })).length, 0);
      assert.deepEqual(await q.stats(), { ready: 1, leased: 0, dead: 0 });
      const [again] = await q.receive({ max: 1, leaseMs: 5_000, waitMs: 3_000 });
      const waited = Date.now() - nacked;
      assert.equal(again?.id, "m");
      assert.equal(again?.deliveries, 2);
      assert.ok(waited >= 650, `delivered after ${waited} ms, before its 700 ms delay`);
      assert.ok(waited < 2_000, `delivered only after ${waited} ms`);
      // A future notBefore on publish is kept the same way.
      await q.publish("later", "x", { notBefore: Date.now() + 400 });
      assert.equal((await q.receive({ max: 1, leaseMs: 5_000, waitMs: 0 })).length, 0);
      const [later] = await q.receive({ max: 1, leaseMs: 5_000, waitMs: 3_000 });
      assert.equal(later?.id, "later");
    });

    test("a consumer waiting on another connection gets a delayed message on time, not by polling", async () => {
      const r = await server();
      queueNo++;
      const producer = await open(r.url);
      const waiter = await open(r.url, {}, 10_000);
      const started = Date.now();
      const waiting = waiter.receive({ max: 1, leaseMs: 5_000, waitMs: 5_000 });
      await sleep(50);
      await producer.publish("soon", "p", { notBefore: started + 400 });
      const [got] = await waiting;
      const took = Date.now() - started;
      assert.equal(got?.id, "soon");
      assert.ok(took >= 380 && took < 1_500, `delivered after ${took} ms for a 400 ms delay`);
    });

    test("publish while Redis is down or hung rejects with queue_unavailable within the timeout", async () => {
      const r = await server();
      queueNo++;
      const q = await open(r.url, { commandTimeoutMs: 300 });
      const waiter = await open(r.url, {}, 10_000);
      await q.publish("before", "p");
      await r.kill();
      let started = Date.now();
      await assert.rejects(q.publish("down", "p"), isUnavailable);
      assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
      // receive waits out its waitMs (no error, no busy loop) and returns nothing.
      started = Date.now();
      assert.deepEqual(await q.receive({ max: 1, leaseMs: 1_000, waitMs: 600 }), []);
      const waited = Date.now() - started;
      assert.ok(waited >= 550 && waited < 2_000, `receive returned after ${waited} ms`);
      // The client reconnects by itself once the server is back (empty: this one keeps no data).
      await r.restart();
      await eventually(() => q.publish("after", "p"));
      const [got] = await q.receive({ max: 1, leaseMs: 1_000, waitMs: 1_000 });
      assert.equal(got?.id, "after");
      // Wake-ups work again too: a waiter with a 10 s poll gets a new message at once.
      const raw = new Redis(r.url);
      await eventually(async () => {
        const [, subscribers] = (await raw.pubsub("NUMSUB", `switchyard:queue:{q${queueNo}}:wake`)) as [
          string,
          number,
        ];
        assert.equal(subscribers, 2);
      }).finally(() => raw.disconnect());
      const waiting = waiter.receive({ max: 1, leaseMs: 1_000, waitMs: 5_000 });
      await sleep(300);
      started = Date.now();
      await q.publish("woken", "p");
      assert.equal((await waiting)[0]?.id, "woken");
      assert.ok(Date.now() - started < 1_000, `woke after ${Date.now() - started} ms`);
      // A hung server (SIGSTOP) is cut off by commandTimeoutMs.
      r.pause();
      try {
        started = Date.now();
        await assert.rejects(q.publish("hung", "p"), isUnavailable);
        const took = Date.now() - started;
        assert.ok(took >= 250 && took < 1_500, `took ${took} ms`);
      } finally {
        r.resume();
      }
    });

    test("with appendfsync always, messages survive a SIGKILL of redis-server", async () => {
      const r = await server({ appendfsync: "always" });
      queueNo++;
      const q = await open(r.url);
      for (let i = 0; i < 20; i++) await q.publish(`m${i}`, String(i), { priority: i % 3 });
      await q.publish("delayed", "d", { notBefore: Date.now() + 1_500 });
      const [leased, dead] = await q.receive({ max: 2, leaseMs: 2_000, waitMs: 0 });
      assert.equal(await q.deadLetter(dead!, "bad"), true);
      await r.kill();
      await r.restart();
      await q.close();
      const q2 = await open(r.url);
      assert.deepEqual(await q2.stats(), { ready: 19, leased: 1, dead: 1 });
      assert.deepEqual(
        (await q2.deadLetters(10)).map((x) => [x.id, x.reason, x.deliveries]),
        [[dead!.id, "bad", 1]],
      );
      const seen = new Map<string, number>();
      const until = Date.now() + 8_000;
      while (seen.size < 20 && Date.now() < until) {
        for (const d of await q2.receive({ max: 10, leaseMs: 5_000, waitMs: 500 })) {
          seen.set(d.id, d.deliveries);
          assert.equal(await q2.ack(d), true);
        }
      }
      assert.equal(seen.size, 20, `got ${[...seen.keys()].join(",")}`);
      assert.equal(seen.get(leased!.id), 2, "the lease held at the crash ran out and was delivered again");
      assert.ok(seen.has("delayed"));
      assert.equal(seen.has(dead!.id), false);
    });

    test("stats, dead-letter idempotency and a flushed script cache", async () => {
      const r = await server();
      queueNo++;
      const q = await open(r.url);
      await q.publish("a", "1", { priority: 2 });
      await q.publish("b", "2");
      await q.publish("c", "3", { notBefore: Date.now() + 60_000 });
      const [d] = await q.receive({ max: 1, leaseMs: 5_000, waitMs: 0 });
      assert.equal(d?.id, "a");
      assert.equal(d?.priority, 2);
      assert.deepEqual(await q.stats(), { ready: 2, leased: 1, dead: 0 });
      assert.equal(await q.deadLetter(d!, "poison"), true);
      await q.publish("a", "again"); // still known (as a dead letter): a no-op
      assert.deepEqual(await q.stats(), { ready: 2, leased: 0, dead: 1 });
      const raw = new Redis(r.url);
      await raw.script("FLUSH");
      raw.disconnect();
      const [b] = await q.receive({ max: 5, leaseMs: 5_000, waitMs: 0 });
      assert.equal(b?.id, "b");
      assert.equal(await q.extend(b!, 10_000), true);
      assert.equal(await q.ack(b!), true);
      assert.deepEqual(await q.stats(), { ready: 1, leased: 0, dead: 1 });
    });

    test("close leaves the consumer group where it holds nothing, and only there", async () => {
      const r = await server();
      queueNo++;
      const idle = await open(r.url);
      const holder = await open(r.url);
      await idle.publish("m1", "p");
      await idle.publish("m2", "p");
      const [d1] = await idle.receive({ max: 1, leaseMs: 5_000, waitMs: 0 });
      assert.equal(await idle.ack(d1!), true);
      assert.equal((await holder.receive({ max: 1, leaseMs: 5_000, waitMs: 0 }))[0]?.id, "m2");
      const raw = new Redis(r.url);
      const consumers = async () =>
        ((await raw.xinfo("CONSUMERS", `switchyard:queue:{q${queueNo}}:s:0`, "switchyard")) as unknown[])
          .length;
      try {
        assert.equal(await consumers(), 2);
        await idle.close();
        assert.equal(await consumers(), 1);
        await holder.close(); // still holds m2: stays listed until another consumer takes it over
        assert.equal(await consumers(), 1);
      } finally {
        raw.disconnect();
      }
    });

    test("rediss:// with tls.caFile talks TLS; without the CA the certificate is refused", async (t) => {
      const pki = makeCerts();
      if (!pki) {
        const msg = "openssl not installed: the TLS test needs it to make a certificate";
        if (process.env.CI) assert.fail(msg);
        t.skip(msg);
        return;
      }
      t.after(() => rmSync(dirname(pki.caFile), { recursive: true, force: true }));
      const r = await server({ tls: pki });
      queueNo++;
      const q = await open(r.url, { tls: { caFile: pki.caFile } });
      await q.publish("m", "over tls");
      const [d] = await q.receive({ max: 1, leaseMs: 1_000, waitMs: 0 });
      assert.equal(d?.payload, "over tls");
      const untrusted = await open(r.url, { connectTimeoutMs: 500 });
      await assert.rejects(untrusted.publish("x", "p"), isUnavailable);
    });

    test("dead letters beyond deadLetterMaxLen drop the oldest", async () => {
      const r = await server();
      queueNo++;
      const q = await open(r.url, { deadLetterMaxLen: 3 });
      for (let i = 0; i < 5; i++) await q.publish(`m${i}`, String(i));
      for (const d of await q.receive({ max: 5, leaseMs: 5_000, waitMs: 0 })) await q.deadLetter(d, "x");
      assert.deepEqual(
        (await q.deadLetters(10)).map((x) => x.id),
        ["m2", "m3", "m4"],
      );
      await q.publish("m0", "new"); // its dead letter was dropped: the id is free again
      const [again] = await q.receive({ max: 1, leaseMs: 5_000, waitMs: 0 });
      assert.deepEqual([again?.id, again?.payload, again?.deliveries], ["m0", "new", 1]);
    });
  });
}

describe("Redis queue config", () => {
  test("jobs.queue kind redis with defaults and ${ENV} in the url", () => {
    const cfg = parseConfig(
      {
        ...defaultConfigInput(),
        jobs: { queue: { kind: "redis", url: "redis://:${REDIS_PASSWORD}@redis:6379/2" } },
      },
      { REDIS_PASSWORD: "s3cret" },
    );
    assert.deepEqual(cfg.jobs.queue, {
      kind: "redis",
      url: "redis://:s3cret@redis:6379/2",
      keyPrefix: "switchyard:queue:",
      name: "jobs",
      commandTimeoutMs: 1_000,
      connectTimeoutMs: 2_000,
      deadLetterMaxLen: 100_000,
      promoteBatch: 1_000,
    });
  });

  test("bad values are refused", () => {
    const bad = [
      { url: "http://redis:6379" },
      { url: "redis://r", keyPrefix: "a{b}" },
      { url: "redis://r", name: "with space" },
      { url: "redis://r", extra: 1 },
      { url: "redis://r", tls: { caFile: "/ca.pem" } },
    ];
    for (const b of bad)
      assert.equal(redisQueueConfigSchema.safeParse({ kind: "redis", ...b }).success, false);
  });
});

/** A CA and a server certificate for 127.0.0.1 in a temp folder, or undefined without openssl. */
function makeCerts(): { certFile: string; keyFile: string; caFile: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-tls-"));
  const f = (n: string) => join(dir, n);
  const ossl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  try {
    ossl("version");
  } catch {
    return undefined;
  }
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ossl(
    "req",
    "-x509",
    ...key,
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.crt"),
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
  );
  ossl("req", ...key, "-keyout", f("srv.key"), "-out", f("srv.csr"), "-subj", "/CN=localhost");
  writeFileSync(f("ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  const ca = ["-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial"];
  ossl("x509", "-req", "-in", f("srv.csr"), ...ca, "-out", f("srv.crt"), "-days", "1", "-extfile", f("ext"));
  return { certFile: f("srv.crt"), keyFile: f("srv.key"), caFile: f("ca.crt") };
}

async function eventually(fn: () => Promise<unknown>, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      await fn();
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await sleep(100);
    }
  }
}
