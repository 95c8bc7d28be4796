import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import OpenAI from "openai";
import { Client, request } from "undici";
import { CLI, type Running, startGateway, startSim } from "../helpers/proc.js";
import { type RedisProc, redisAvailable, startRedis } from "../helpers/redis.js";

type Json = Record<string, unknown>;

function keysCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "keys", ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function post(url: string, body: Json, headers: Record<string, string> = {}) {
  const res = await request(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as Json, text };
}

/** `switchyard_rate_limit_decisions_total` by outcome, from the gateway's /metrics. */
async function limitDecisions(url: string): Promise<Record<string, number>> {
  const text = await (await request(`${url}/metrics`)).body.text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^switchyard_rate_limit_decisions_total\{outcome="(\w+)"\} (\d+)$/gm))
    out[m[1] as string] = Number(m[2]);
  return out;
}

const chat = (model = "sim-small", extra: Json = {}) => ({
  model,
  messages: [{ role: "user", content: "hi" }],
  max_tokens: 4,
  ...extra,
});
const upstreams = (sim: Running) => ({
  "sim-small": { endpoints: [{ kind: "openai", url: `${sim.url}/v1` }], retry: { maxAttempts: 1 } },
  "sim-embed": { type: "embedding", endpoints: [{ kind: "openai", url: `${sim.url}/v1` }] },
});

describe("virtual keys", () => {
  let sim: Running;
  let gw: Running;
  let db: string;
  const ADMIN = "admin-key-for-tests-0123456789";
  before(async () => {
    db = join(mkdtempSync(join(tmpdir(), "switchyard-keys-")), "keys.db");
    sim = await startSim(["--model", "sim-small:instant", "--model", "sim-embed:embedding"]);
    gw = await startGateway({
      auth: { mode: "keys", adminKey: ADMIN },
      store: { path: db },
      models: upstreams(sim),
    });
  });
  after(async () => {
    await gw.stop();
    await sim.stop();
  });

  test("a key from the CLI works, is limited to its models, and fails within a second of revocation", async () => {
    const created = keysCli(["create", "--name", "team-a", "--models", "sim-small", "--db", db, "--json"]);
    assert.equal(created.status, 0, created.stderr);
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
    assert.match(key, /^sk-sy-[A-Za-z0-9_-]{43}$/);

    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
    const ok = await client.chat.completions.create(chat() as never);
    assert.ok(ok.choices.length > 0);
    await assert.rejects(client.embeddings.create({ model: "sim-embed", input: "x" }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.PermissionDeniedError);
      assert.equal(err.code, "model_not_allowed");
      return true;
    });
    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    assert.deepEqual(models, ["sim-small"]);

    const nokey = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "sk-sy-not-a-real-key", maxRetries: 0 });
    await assert.rejects(nokey.chat.completions.create(chat() as never), (err: unknown) => {
      assert.ok(err instanceof OpenAI.AuthenticationError);
      assert.equal(err.code, "invalid_api_key");
      return true;
    });
    const missing = await post(gw.url, chat());
    assert.equal(missing.status, 401);

    assert.equal(keysCli(["revoke", id, "--db", db]).status, 0);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 3000) {
      status = (await post(gw.url, chat(), { authorization: `Bearer ${key}` })).status;
      if (status === 200) await sleep(50);
    }
    assert.equal(status, 401);
    assert.ok(Date.now() - revokedAt <= 1100, `revocation took ${Date.now() - revokedAt} ms`);

    const listed = keysCli(["list", "--db", db, "--json"]);
    const rows = JSON.parse(listed.stdout) as Array<{
      id: string;
      status: string;
      usage: { requests: number };
    }>;
    const row = rows.find((r) => r.id === id);
    assert.equal(row?.status, "revoked");
  });

  test("keys taking turns on one keep-alive connection each get their own answer", async () => {
    const create = (name: string, models: string) => {
      const r = keysCli(["create", "--name", name, "--models", models, "--db", db, "--json"]);
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as { key: string }).key;
    };
    const a = create("conn-a", "sim-small");
    const b = create("conn-b", "sim-embed");
    const unknown = `sk-sy-${"x".repeat(43)}`;
    const client = new Client(gw.url, { pipelining: 1 });
    let connects = 0;
    client.on("connect", () => connects++);
    const send = async (key: string | undefined, body: Json = chat()) => {
      const res = await client.request({
        method: "POST",
        path: body.input === undefined ? "/v1/chat/completions" : "/v1/embeddings",
        headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify(body),
      });
      const json = (await res.body.json()) as { error?: { code?: string } };
      return `${res.statusCode} ${json.error?.code ?? "ok"}`;
    };
    try {
      const seen = [];
      for (const key of [a, b, a, unknown, a, undefined, a, b]) seen.push(await send(key));
      seen.push(await send(b, { model: "sim-embed", input: "x" }));
      seen.push(await send(a, { model: "sim-embed", input: "x" }));
      assert.deepEqual(seen, [
        "200 ok",
        "403 model_not_allowed",
        "200 ok",
        "401 invalid_api_key",
        "200 ok",
        "401 invalid_api_key",
        "200 ok",
        "403 model_not_allowed",
        "200 ok",
        "403 model_not_allowed",
      ]);
      assert.equal(connects, 1, "every request went over the one connection");
    } finally {
      await client.close();
    }
  });

  test("the admin API creates, lists and revokes keys, behind the admin key", async () => {
    const url = `${gw.url}/admin/keys`;
    const denied = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(denied.statusCode, 401);
    await denied.body.dump();
    const auth = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
    const bad = await request(url, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "x", rpm: -1 }),
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(((await bad.body.json()) as { error: { param: string } }).error.param, "rpm");
    // As in `switchyard keys create --expires`: a key that would be born expired is refused.
    const past = await request(url, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "old", expiresAt: "2020-01-01T00:00:00Z" }),
    });
    const pastBody = (await past.body.json()) as { error: { param: string; message: string } };
    assert.equal(past.statusCode, 400);
    assert.equal(pastBody.error.param, "expiresAt");
    assert.match(pastBody.error.message, /not in the future/);
    const res = await request(url, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "svc", rpm: 2 }),
    });
    assert.equal(res.statusCode, 201);
    const made = (await res.body.json()) as { id: string; key: string; warnings?: string[] };
    assert.equal(made.warnings, undefined, "no models named, nothing to warn of");
    // A model the config does not serve is kept (a reload may add it) and named in a warning.
    const typo = await request(url, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "typo", models: ["sim-small", "sim-smal"] }),
    });
    assert.equal(typo.statusCode, 201);
    const typoKey = (await typo.body.json()) as { models: string[]; warnings?: string[] };
    assert.deepEqual(typoKey.models, ["sim-small", "sim-smal"]);
    assert.deepEqual(typoKey.warnings, [
      "model 'sim-smal' is not configured: the key cannot call it until the config serves it",
    ]);

    const first = await post(gw.url, chat(), { authorization: `Bearer ${made.key}` });
    assert.equal(first.status, 200);
    assert.equal(first.headers["x-ratelimit-limit-requests"], "2");
    assert.equal(first.headers["x-ratelimit-remaining-requests"], "1");
    assert.equal((await post(gw.url, chat(), { authorization: `Bearer ${made.key}` })).status, 200);
    const limited = await post(gw.url, chat(), { authorization: `Bearer ${made.key}` });
    assert.equal(limited.status, 429);
    assert.equal((limited.json.error as Json).code, "rate_limited");
    assert.ok(Number(limited.headers["retry-after"]) >= 1);
    assert.equal(limited.headers["x-ratelimit-remaining-requests"], "0");

    const list = await request(url, { headers: auth });
    const listed = (await list.body.json()) as { data: Array<{ id: string; key?: string }> };
    assert.ok(listed.data.some((k) => k.id === made.id));
    assert.ok(
      listed.data.every((k) => k.key === undefined),
      "secrets are never listed",
    );
    const del = await request(`${url}/${made.id}`, { method: "DELETE", headers: auth });
    assert.equal(del.statusCode, 200);
    await del.body.dump();
    const gone = await request(`${url}/key_nope`, { method: "DELETE", headers: auth });
    assert.equal(gone.statusCode, 404);
    await gone.body.dump();
  });
});

describe("token limits settle to real usage", () => {
  test("a failed request's reserved tokens are refunded, so the next one fits", async () => {
    const sim = await startSim(["--model", "sim-small:instant"]);
    const gw = await startGateway({ limits: { global: { tpm: 260 } }, models: upstreams(sim) });
    try {
      const body = chat("sim-small", { max_tokens: 200 });
      const failed = await post(gw.url, body, { "x-sim-fault": "status=500" });
      assert.equal(failed.status, 502);
      assert.equal(failed.headers["x-ratelimit-limit-tokens"], "260");
      await sleep(100);
      const ok = await post(gw.url, body);
      assert.equal(ok.status, 200, "the refund made room");
      const over = await post(gw.url, body);
      assert.equal(over.status, 429, "the real usage of the second request stays charged");
      assert.equal((over.json.error as Json).code, "rate_limited");
      assert.deepEqual(await limitDecisions(gw.url), { allowed: 2, rejected: 1 });
    } finally {
      await gw.stop();
      await sim.stop();
    }
  });

  test("a dry-run limit lets everything through and logs what it would have rejected", async () => {
    const sim = await startSim(["--model", "sim-small:instant"]);
    const gw = await startGateway({ limits: { global: { rpm: 1, dryRun: true } }, models: upstreams(sim) });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await post(gw.url, chat())).status, 200);
      assert.deepEqual(await limitDecisions(gw.url), { allowed: 1, dry_run_would_block: 2 });
      await sleep(300);
      assert.ok(gw.lines.some((l) => l.msg === "dry-run limit would have rejected a request"));
    } finally {
      await gw.stop();
      await sim.stop();
    }
  });
});

describe("one limit shared by three gateways through Redis", () => {
  let redis: RedisProc | undefined;
  let sim: Running;
  const gws: Running[] = [];
  const N = 60;
  before(async (t) => {
    if (!redisAvailable(t as never)) return;
    redis = await startRedis();
    sim = await startSim(["--model", "sim-small:instant"]);
    for (const failureMode of ["open", "open", "closed"]) {
      gws.push(
        await startGateway({
          logging: { level: "warn" },
          limits: {
            // Generous: on a busy machine a slow answer must not look like a Redis outage.
            store: { kind: "redis", url: redis.url, commandTimeoutMs: 1500 },
            failureMode,
            global: { rpm: N },
          },
          models: upstreams(sim),
        }),
      );
    }
  });
  after(async () => {
    await Promise.all(gws.map((g) => g.stop()));
    await sim?.stop();
    await redis?.stop();
  });

  test("a burst spread over the gateways admits N and rejects the rest with a correct retry-after", async (t) => {
    if (!redis) return t.skip("redis-server not installed");
    const results = await Promise.all(
      Array.from({ length: 150 }, (_, i) => post((gws[i % 3] as Running).url, chat())),
    );
    const ok = results.filter((r) => r.status === 200).length;
    assert.ok(Math.abs(ok - N) <= Math.ceil(N * 0.01), `admitted ${ok} of 150 for a limit of ${N}`);
    for (const r of results.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 429);
      const retry = Number(r.headers["retry-after"]);
      assert.ok(retry >= 1 && retry <= 60, `retry-after ${retry}`);
    }
  });

  test("Redis down: fail-open gateways let requests through, fail-closed answers 503; both recover", async (t) => {
    if (!redis) return t.skip("redis-server not installed");
    await redis.kill();
    const open = await post((gws[0] as Running).url, chat());
    assert.equal(open.status, 200, open.text);
    const closed = await post((gws[2] as Running).url, chat());
    assert.equal(closed.status, 503);
    assert.equal((closed.json.error as Json).code, "rate_limit_store_unavailable");
    await redis.restart();
    let status = 503;
    for (let i = 0; i < 50 && status === 503; i++) {
      status = (await post((gws[2] as Running).url, chat())).status;
      if (status === 503) await sleep(100);
    }
    assert.equal(status, 200, "the fail-closed gateway serves again once Redis is back");
    const burst = await Promise.all(
      Array.from({ length: N + 10 }, () => post((gws[2] as Running).url, chat())),
    );
    assert.ok(
      burst.some((r) => r.status === 429),
      "and the limit applies again",
    );
    for (const g of gws) assert.equal(g.proc.exitCode, null, "no gateway crashed");
  });
});

describe("JWT bearer tokens at the gateway", () => {
  test("a valid token is accepted with its claims; expired, wrong-audience and alg none are 401", async () => {
    const { SignJWT, UnsecuredJWT } = await import("jose");
    const secret = "a-shared-secret-of-at-least-32-bytes!!";
    const key = new TextEncoder().encode(secret);
    const sim = await startSim(["--model", "sim-small:instant", "--model", "sim-embed:embedding"]);
    const gw = await startGateway(
      {
        auth: {
          mode: "jwt",
          jwt: {
            issuer: "https://idp.test",
            audience: "switchyard",
            algorithms: ["HS256"],
            secret: "${JWT_SECRET}",
          },
        },
        models: upstreams(sim),
      },
      { JWT_SECRET: secret },
    );
    const sign = (claims: Json, exp: string | number = "5m", aud = "switchyard") =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("https://idp.test")
        .setAudience(aud)
        .setSubject("user-1")
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(key);
    try {
      const good = await sign({ models: ["sim-small"] });
      assert.equal((await post(gw.url, chat(), { authorization: `Bearer ${good}` })).status, 200);
      const embed = await request(`${gw.url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${good}` },
        body: JSON.stringify({ model: "sim-embed", input: "x" }),
      });
      assert.equal(embed.statusCode, 403, "the models claim limits the token");
      await embed.body.dump();
      const expired = await sign({}, Math.floor(Date.now() / 1000) - 3600);
      const wrongAud = await sign({}, "5m", "someone-else");
      const none = new UnsecuredJWT({ sub: "x" })
        .setIssuer("https://idp.test")
        .setAudience("switchyard")
        .encode();
      for (const token of [expired, wrongAud, none, `${good.slice(0, -4)}AAAA`]) {
        const r = await post(gw.url, chat(), { authorization: `Bearer ${token}` });
        assert.equal(r.status, 401, token);
        assert.equal((r.json.error as Json).code, "invalid_api_key");
      }
    } finally {
      await gw.stop();
      await sim.stop();
    }
  });
});

describe("early start with Redis limits", () => {
  let redis: RedisProc | undefined;
  let sim: Running;
  let gw: Running;
  before(async (t) => {
    if (!redisAvailable(t as never)) return;
    redis = await startRedis();
    sim = await startSim(["--model", "sim-small:instant"]);
    gw = await startGateway({
      logging: { level: "warn" },
      limits: {
        store: { kind: "redis", url: redis.url, commandTimeoutMs: 1500 },
        global: { rpm: 20 },
      },
      models: upstreams(sim),
    });
  });
  after(async () => {
    await gw?.stop();
    await sim?.stop();
    await redis?.stop();
  });

  async function simSaw(id: string): Promise<Json | undefined> {
    const res = await request(`${sim.url}/sim/requests/${id}`);
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    return (await res.body.json()) as Json;
  }

  test("a call started early is cancelled when Redis refuses it; with no room left none starts", async (t) => {
    if (!redis) return t.skip("redis-server not installed");
    // Another gateway's store, connected first: what follows must fit in the second for which this
    // gateway trusts its last answer from Redis.
    const { RedisRateLimitStore } = await import("../../src/limits/redis.js");
    const other = new RedisRateLimitStore({
      url: redis.url,
      keyPrefix: "switchyard:rl:",
      commandTimeoutMs: 1500,
    });
    t.after(() => other.close());
    await other.ready();
    const first = await post(gw.url, chat());
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers["x-ratelimit-remaining-requests"], "19");
    // The other gateway takes the other 19 requests of the minute; this one's last answer said 19 left.
    const took = await other.reserve({
      buckets: [
        {
          key: "rpm:global",
          kind: "requests",
          capacity: 20,
          refill: { type: "rate", periodMs: 60_000 },
          cost: 19,
          mode: "enforce",
        },
      ],
    });
    assert.equal(took.allowed, true);
    // This gateway starts the call (slowed to 2 s upstream) before Redis answers; Redis refuses.
    const id = `early-${Date.now()}`;
    const started = Date.now();
    const refused = await post(gw.url, chat(), { "x-request-id": id, "x-sim-fault": "delay=2000" });
    assert.equal(refused.status, 429, refused.text);
    assert.equal((refused.json.error as Json).code, "rate_limited");
    assert.ok(Number(refused.headers["retry-after"]) >= 1);
    assert.ok(Date.now() - started < 1_500, "answered at the refusal, not after the upstream");
    // The sim saw the call arrive and its client (the gateway) go away before it answered.
    let rec: Json | undefined;
    for (let i = 0; i < 100 && !(rec?.aborted === true); i++) {
      rec = await simSaw(id);
      if (rec?.aborted !== true) await sleep(20);
    }
    assert.equal(rec?.aborted, true, `sim record: ${JSON.stringify(rec)}`);
    assert.equal(rec?.completed, false);
    // The refusal's answer showed no room: the next request waits for Redis and never reaches the sim.
    const id2 = `late-${Date.now()}`;
    const again = await post(gw.url, chat(), { "x-request-id": id2 });
    assert.equal(again.status, 429);
    await sleep(200);
    assert.equal(await simSaw(id2), undefined, "a request without room never reaches the upstream");
  });
});
