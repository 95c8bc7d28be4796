// biome-ignore-all lint/suspicious/noExplicitAny: API answers are read as loose JSON in these tests
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { request } from "undici";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config/load.js";
import { isPrivateAddress } from "../../src/jobs/webhooks.js";
import { configFor, type Running, startSim } from "../helpers/proc.js";

const SECRET = `whsec_${Buffer.from("0123456789abcdef0123").toString("base64")}`;

function gatewayConfig(simUrl: string, extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-jobs-"));
  const tolerant = { breaker: { enabled: false }, outlier: { enabled: false }, retry: { maxAttempts: 1 } };
  return parseConfig({
    ...configFor(simUrl),
    models: {
      "sim-small": { endpoints: [{ kind: "openai", url: `${simUrl}/v1` }], ...tolerant },
    },
    logging: { level: "silent", accessLog: false },
    store: { path: join(dir, "jobs.db") },
    jobs: {
      workers: 4,
      backoff: { baseMs: 20, maxMs: 100 },
      webhooks: { secret: SECRET, allowPrivate: true, backoffBaseMs: 20, backoffMaxMs: 50 },
      ...extra,
    },
  });
}

const chatReq = (content = "hello") => ({
  model: "sim-small",
  messages: [{ role: "user", content }],
  max_tokens: 8,
});

describe("jobs API", () => {
  let sim: Running;
  let gw: Gateway;
  let base: string;
  before(async () => {
    sim = await startSim(["--model", "sim-small:instant"]);
    gw = await createGateway(gatewayConfig(sim.url), { logger: pino({ level: "silent" }) });
    base = `http://127.0.0.1:${await gw.listen(0, "127.0.0.1")}`;
  });
  after(async () => {
    await gw.close(1000);
    await sim.stop();
  });

  async function call(method: "GET" | "POST" | "PUT", path: string, body?: unknown, headers = {}) {
    const res = await request(`${path.startsWith("http") ? "" : base}${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      json: text ? (JSON.parse(text) as any) : undefined,
    };
  }

  async function until(id: string, want: (j: any) => boolean, ms = 5000): Promise<any> {
    const end = Date.now() + ms;
    for (;;) {
      const r = await call("GET", `/v1/jobs/${id}`);
      if (want(r.json)) return r.json;
      if (Date.now() > end) throw new Error(`job ${id}: ${JSON.stringify(r.json)}`);
      await sleep(20);
    }
  }

  test("submit → 202 PENDING → SUCCESS with the result; list and paging", async () => {
    const r = await call("POST", "/v1/jobs", { type: "chat.completion", request: chatReq() });
    assert.equal(r.status, 202);
    assert.equal(r.json.status, "PENDING");
    assert.match(r.json.id, /^job_/);
    const done = await until(r.json.id, (j) => j.status === "SUCCESS");
    assert.equal(done.attempts, 1);
    assert.equal(done.result.object, "chat.completion");
    for (let i = 0; i < 3; i++)
      await call("POST", "/v1/jobs", { type: "chat.completion", request: chatReq() });
    const p1 = await call("GET", "/v1/jobs?limit=2");
    assert.equal(p1.json.data.length, 2);
    assert.equal(p1.json.has_more, true);
    const p2 = await call("GET", `/v1/jobs?limit=2&after=${p1.json.last_id}`);
    assert.ok(p2.json.data.every((j: any) => j.id < p1.json.last_id));
    const bad = await call("GET", "/v1/jobs?status=NOPE");
    assert.equal(bad.status, 400);
  });

  test("the request is validated like the sync API; stream: true is refused", async () => {
    const r1 = await call("POST", "/v1/jobs", { type: "chat.completion", request: { model: "sim-small" } });
    assert.equal(r1.status, 400);
    assert.equal(r1.json.error.param, "messages");
    const r2 = await call("POST", "/v1/jobs", {
      type: "chat.completion",
      request: { ...chatReq(), stream: true },
    });
    assert.equal(r2.status, 400);
    assert.equal(r2.json.error.param, "request.stream");
    const r3 = await call("POST", "/v1/jobs", { type: "bogus", request: chatReq() });
    assert.equal(r3.status, 400);
    const r4 = await call("POST", "/v1/jobs", {
      type: "chat.completion",
      request: { ...chatReq(), model: "nope" },
    });
    assert.equal(r4.status, 404);
    const r5 = await call("GET", "/v1/jobs/job_missing");
    assert.equal(r5.status, 404);
    assert.equal(r5.json.error.code, "job_not_found");
  });

  test("times: past year 9999 is 400 and makes no job; fractional epoch seconds are kept to the ms", async () => {
    const count = async () => (await call("GET", "/v1/jobs?limit=100")).json.data.length as number;
    const n = await count();
    for (const [k, v] of [
      ["run_after", 1e20],
      ["deadline", 9_999_999_999_999],
      ["run_after", "+275760-09-13T00:00:00.000Z"],
    ] as const) {
      const r = await call("POST", "/v1/jobs", { type: "chat.completion", request: chatReq(), [k]: v });
      assert.equal(r.status, 400, `${k}=${v}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.param, k);
    }
    assert.equal(await count(), n, "no job was stored for a refused time");
    const frac = await call("POST", "/v1/jobs", {
      type: "chat.completion",
      request: chatReq(),
      run_after: 0.999999995,
    });
    assert.equal(frac.status, 202, JSON.stringify(frac.json));
    assert.equal(frac.json.run_after, "1970-01-01T00:00:01.000Z");
  });

  test("metadata is kept as sent; a key __proto__ is refused with 400, never dropped", async () => {
    const ok = await call("POST", "/v1/jobs", {
      type: "chat.completion",
      request: chatReq(),
      metadata: { team: "a", constructor: "b", toString: "c" },
    });
    assert.equal(ok.status, 202, JSON.stringify(ok.json));
    const got = await call("GET", `/v1/jobs/${ok.json.id}`);
    assert.deepEqual(got.json.metadata, { team: "a", constructor: "b", toString: "c" });
    // JSON.parse keeps `__proto__` as an ordinary key: the body below carries it.
    const body = JSON.parse('{"type":"chat.completion","metadata":{"__proto__":"x","team":"a"}}');
    const bad = await call("POST", "/v1/jobs", { ...body, request: chatReq() });
    assert.equal(bad.status, 400, JSON.stringify(bad.json));
    assert.equal(bad.json.error.code, "invalid_request");
    assert.match(bad.json.error.param, /^metadata/);
    assert.match(bad.json.error.message, /__proto__/);
  });

  test("20 concurrent identical submissions with one Idempotency-Key make one job; another body is 422", async () => {
    const body = { type: "chat.completion", request: chatReq("idem") };
    const headers = { "idempotency-key": `k-${Date.now()}` };
    const all = await Promise.all(Array.from({ length: 20 }, () => call("POST", "/v1/jobs", body, headers)));
    const ids = new Set(all.map((r) => r.json.id));
    assert.equal(ids.size, 1);
    assert.equal(all.filter((r) => r.status === 202).length, 1);
    assert.equal(all.filter((r) => r.status === 200).length, 19);
    const other = await call("POST", "/v1/jobs", { ...body, priority: 3 }, headers);
    assert.equal(other.status, 422);
    assert.equal(other.json.error.code, "idempotency_key_reused");
  });

  test("cancel of a running job aborts the upstream call within 100 ms", async () => {
    await call("PUT", `${sim.url}/sim/faults`, { hangRate: 1 });
    try {
      const r = await call("POST", "/v1/jobs", { type: "chat.completion", request: chatReq("hang") });
      const id = r.json.id as string;
      await until(id, (j) => j.status === "RUNNING");
      for (;;) {
        const s = await request(`${sim.url}/sim/requests/${id}`);
        if (s.statusCode === 200) {
          await s.body.dump();
          break;
        }
        await s.body.dump();
        await sleep(5);
      }
      const cancelledAt = Date.now();
      const c = await call("POST", `/v1/jobs/${id}/cancel`);
      assert.equal(c.json.status, "CANCELLED");
      let rec: any;
      for (let i = 0; i < 100; i++) {
        const s = await request(`${sim.url}/sim/requests/${id}`);
        rec = await s.body.json();
        if (rec.closedByClientAt) break;
        await sleep(10);
      }
      assert.ok(rec.closedByClientAt, "upstream never saw the close");
      assert.ok(
        rec.closedByClientAt - cancelledAt < 100,
        `closed after ${rec.closedByClientAt - cancelledAt} ms`,
      );
      await sleep(100);
      assert.equal((await call("GET", `/v1/jobs/${id}`)).json.status, "CANCELLED");
    } finally {
      await request(`${sim.url}/sim/faults`, { method: "DELETE" }).then((r) => r.body.dump());
    }
  });

  test("a failed job is FAILED with every attempt's error, then retry runs it again", async () => {
    await call("PUT", `${sim.url}/sim/faults`, { errorRate: 1, errorStatus: 500 });
    let id: string;
    try {
      const r = await call("POST", "/v1/jobs", {
        type: "chat.completion",
        request: chatReq("fail"),
        max_attempts: 2,
      });
      id = r.json.id;
      const failed = await until(id, (j) => j.status === "FAILED");
      assert.equal(failed.attempts, 2);
      assert.equal(failed.attempt_errors.length, 2);
      assert.equal(failed.error.code, "upstream_error");
      const dead = await call("GET", "/v1/jobs?status=FAILED");
      assert.ok(dead.json.data.some((j: any) => j.id === id));
    } finally {
      await request(`${sim.url}/sim/faults`, { method: "DELETE" }).then((r) => r.body.dump());
    }
    const again = await call("POST", `/v1/jobs/${id}/retry`);
    assert.equal(again.status, 202);
    const ok = await until(id, (j) => j.status === "SUCCESS");
    assert.equal(ok.attempts, 3);
    const twice = await call("POST", `/v1/jobs/${id}/retry`);
    assert.equal(twice.status, 409);
  });

  test("events stream state changes until the job ends", async () => {
    const r = await call("POST", "/v1/jobs", { type: "chat.completion", request: chatReq() });
    const res = await request(`${base}/v1/jobs/${r.json.id}/events`);
    assert.equal(res.statusCode, 200);
    const text = await res.body.text();
    const states = [...text.matchAll(/"status":"([A-Z]+)"/g)].map((m) => m[1]);
    assert.equal(states.at(-1), "SUCCESS");
    assert.ok(text.endsWith("data: [DONE]\n\n"));
  });

  test("webhook: fails twice, the third delivery carries a valid signature", async () => {
    const got: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
    const srv = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        got.push({ headers: req.headers, body });
        res.statusCode = got.length <= 2 ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as { port: number }).port;
    try {
      const r = await call("POST", "/v1/jobs", {
        type: "chat.completion",
        request: chatReq(),
        webhook: `http://127.0.0.1:${port}/hook`,
      });
      const id = r.json.id;
      const job = await until(id, (j) => j.webhook?.delivery?.status === "delivered");
      assert.equal(job.webhook.delivery.attempts, 3);
      assert.equal(got.length, 3);
      const last = got[2]!;
      const wid = last.headers["webhook-id"] as string;
      const ts = last.headers["webhook-timestamp"] as string;
      const key = Buffer.from(SECRET.slice("whsec_".length), "base64");
      const want = createHmac("sha256", key).update(`${wid}.${ts}.${last.body}`).digest("base64");
      assert.equal(last.headers["webhook-signature"], `v1,${want}`);
      assert.equal(JSON.parse(last.body).data.id, id);
    } finally {
      srv.close();
    }
  });

  test("sync Idempotency-Key: the retry gets the stored answer, not a second upstream call", async () => {
    const key = `sync-${Date.now()}`;
    const body = chatReq("sync idem");
    const before = (await call("GET", `${sim.url}/sim/stats`)).json.requests;
    const [a, b] = await Promise.all([
      call("POST", "/v1/chat/completions", body, { "idempotency-key": key }),
      call("POST", "/v1/chat/completions", body, { "idempotency-key": key }),
    ]);
    const c = await call("POST", "/v1/chat/completions", body, { "idempotency-key": key });
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, b.json);
    assert.deepEqual(a.json, c.json);
    const afterCount = (await call("GET", `${sim.url}/sim/stats`)).json.requests;
    assert.equal(afterCount - before, 1);
    const other = await call("POST", "/v1/chat/completions", chatReq("other"), { "idempotency-key": key });
    assert.equal(other.status, 422);
  });

  test("a malformed Idempotency-Key is 400 invalid_header on jobs and sync calls alike, and runs nothing", async () => {
    const before = (await call("GET", `${sim.url}/sim/stats`)).json.requests;
    const bad = { "idempotency-key": "x".repeat(256) };
    for (const [path, body] of [
      ["/v1/jobs", { type: "chat.completion", request: chatReq("bad key") }],
      ["/v1/chat/completions", chatReq("bad key")],
    ] as const) {
      const res = await call("POST", path, body, bad);
      assert.equal(res.status, 400, path);
      assert.equal(res.json.error.code, "invalid_header", path);
      assert.equal(res.json.error.param, "Idempotency-Key", path);
    }
    assert.equal((await call("GET", `${sim.url}/sim/stats`)).json.requests, before);
  });
});

describe("webhook SSRF guard", () => {
  test("the default refuses loopback and private addresses", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-jobs-"));
    const config = parseConfig({
      logging: { level: "silent", accessLog: false },
      store: { path: join(dir, "j.db") },
      models: { "sim-small": { endpoints: [{ kind: "sim", sim: { preset: "instant" } }] } },
      jobs: { workers: 0, webhooks: { secret: SECRET } },
    });
    const gw = await createGateway(config, { logger: pino({ level: "silent" }) });
    const base = `http://127.0.0.1:${await gw.listen(0, "127.0.0.1")}`;
    try {
      for (const url of [
        "http://127.0.0.1:9/x",
        "http://[::1]/x",
        "http://10.1.2.3/",
        "http://169.254.169.254/",
        "ftp://example.com/",
        // Other spellings of loopback, and the IPv6 forms that carry an IPv4 address inside.
        "http://0x7f.1/",
        "http://2130706433/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::127.0.0.1]/",
        "http://[::ffff:0:7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[64:ff9b::a00:1]/",
        // Documentation, discard-only, deprecated site-local and Teredo ranges: not reachable publicly.
        "http://192.0.2.1/",
        "http://203.0.113.9/",
        "http://[2001:db8::1]/",
        "http://[100::1]/",
        "http://[fec0::1]/",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
      ]) {
        const res = await request(`${base}/v1/jobs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ type: "chat.completion", request: chatReq(), webhook: url }),
        });
        const j = (await res.body.json()) as any;
        assert.equal(res.statusCode, 400, url);
        assert.equal(j.error.code, "webhook_url_refused", url);
      }
    } finally {
      await gw.close(500);
    }
  });

  test("public addresses pass the address check (6to4 of a public IPv4 included)", () => {
    for (const a of ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"])
      assert.equal(isPrivateAddress(a), false, a);
    for (const a of ["2002:a00:1::", "::ffff:7f00:1", "198.51.100.7"])
      assert.equal(isPrivateAddress(a), true, a);
  });
});
