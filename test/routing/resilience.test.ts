import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { call, type Json } from "../helpers/http.js";
import { load } from "../helpers/load.js";
import { type Running, startGateway, startSim } from "../helpers/proc.js";

// Several `switchyard sim` processes with fault injection behind one gateway process.

const chat = (extra: Json = {}) => ({
  model: "m",
  messages: [{ role: "user", content: "hi" }],
  max_tokens: 4,
  ...extra,
});

const setFaults = (sim: Running, faults: Json) =>
  call(sim.url, "/sim/faults", { method: "PUT", body: faults });
const clearFaults = (sim: Running) => call(sim.url, "/sim/faults", { method: "DELETE" });
const resetStats = (sim: Running) => call(sim.url, "/sim/stats/reset", { method: "POST" });
async function received(sim: Running): Promise<number> {
  const { json } = await call(sim.url, "/sim/stats");
  return Number(json.requests ?? 0);
}
async function attempts(sim: Running, id: string): Promise<number> {
  const { status, json } = await call(sim.url, `/sim/requests/${id}`);
  return status === 200 ? Number(json.attempts) : 0;
}

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(0.99 * s.length))] as number;
}

const endpoint = (sim: Running) => ({ kind: "openai", url: `${sim.url}/v1` });

describe("resilience with three replicas", () => {
  const sims: Running[] = [];
  let gw: Running;
  before(async () => {
    for (let i = 0; i < 3; i++) sims.push(await startSim(["--model", "m:instant"]));
    gw = await startGateway({
      logging: { level: "warn" },
      models: {
        m: {
          endpoints: sims.map(endpoint),
          healthCheck: { enabled: false },
          breaker: { failureThreshold: 3, openMs: 1500, halfOpenProbes: 1 },
          outlier: { consecutiveFailures: 3, baseEjectionMs: 1500, maxEjectionPercent: 50 },
          retry: { maxAttempts: 3, budgetRatio: 1, backoffBaseMs: 1 },
        },
      },
    });
  });
  after(async () => {
    await gw.stop();
    await Promise.all(sims.map((s) => s.stop()));
  });

  test("a failing replica is taken out, traffic moves, and it comes back when it heals", async () => {
    const bad = sims[1] as Running;
    await setFaults(bad, { errorRate: 1, errorStatus: 503 });
    await Promise.all(sims.map(resetStats));
    for (let i = 0; i < 60; i++) {
      const r = await call(gw.url, "/v1/chat/completions", { body: chat() });
      assert.equal(r.status, 200, r.text);
    }
    // It sees a few requests until three failures in a row take it out, and perhaps one half-open probe.
    assert.ok((await received(bad)) <= 6, `the failing replica got ${await received(bad)} requests`);
    const state = await call(gw.url, "/admin/state");
    const eps = ((state.json.pools as Json[])[0] as { endpoints: Json[] }).endpoints;
    const badState = eps.find((e) => String(e.id).endsWith(`:${bad.port}`)) as Json;
    assert.ok(badState.breaker === "open" || badState.ejected === true, JSON.stringify(badState));
    assert.equal(badState.available, false);

    await clearFaults(bad);
    await sleep(3200);
    await resetStats(bad);
    for (let i = 0; i < 30; i++)
      assert.equal((await call(gw.url, "/v1/chat/completions", { body: chat() })).status, 200);
    assert.ok((await received(bad)) >= 5, "the healed replica takes traffic again");
    const after = await call(gw.url, "/admin/state");
    const healed = ((after.json.pools as Json[])[0] as { endpoints: Json[] }).endpoints.find((e) =>
      String(e.id).endsWith(`:${bad.port}`),
    ) as Json;
    assert.equal(healed.breaker, "closed");
  });

  test("a 400 from the upstream is returned once, never retried", async () => {
    const id = `no-retry-${Date.now()}`;
    const r = await call(gw.url, "/v1/chat/completions", {
      body: chat(),
      headers: { "x-request-id": id, "x-sim-fault": "status=400" },
    });
    assert.equal(r.status, 400);
    const counts = await Promise.all(sims.map((s) => attempts(s, id)));
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      1,
    );
  });

  test("a stream is never retried after its first chunk; it ends with the typed error event", async () => {
    const id = `stream-cut-${Date.now()}`;
    const r = await call(gw.url, "/v1/chat/completions", {
      body: chat({ stream: true, max_tokens: 20 }),
      headers: { "x-request-id": id, "x-sim-fault": "reset-after=3" },
    });
    assert.equal(r.status, 200);
    assert.match(r.text, /"code":"stream_interrupted"/);
    assert.ok(!r.text.includes("[DONE]"));
    const counts = await Promise.all(sims.map((s) => attempts(s, id)));
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      1,
    );
  });

  test("a stream whose upstream dies before the first token moves to another endpoint", async () => {
    const dying = sims[2] as Running;
    await setFaults(dying, { resetRate: 1 });
    try {
      let movedOn = 0;
      for (let i = 0; i < 3; i++) {
        const id = `stream-retry-${Date.now()}-${i}`;
        const r = await call(gw.url, "/v1/chat/completions", {
          body: chat({ stream: true }),
          headers: { "x-request-id": id },
        });
        assert.equal(r.status, 200, r.text);
        assert.match(r.text, /data: \[DONE\]\n\n$/);
        const counts = await Promise.all(sims.map((s) => attempts(s, id)));
        if (counts[2] === 1) {
          assert.equal(counts.filter((c) => c > 0).length, 2, `attempts per replica: ${counts}`);
          movedOn++;
        }
      }
      assert.ok(movedOn >= 1, "round robin sent at least one of three streams to the dying replica first");
    } finally {
      await clearFaults(dying);
    }
  });
});

describe("retries with a budget", () => {
  test("a 50%-flaky replica behind retries: ≥ 99.9% of 1,000 requests succeed, extra load within the budget", async () => {
    const flaky = await startSim(["--model", "m:instant"]);
    const good = await startSim(["--model", "m:instant"]);
    const ratio = 0.5;
    const gw = await startGateway({
      logging: { level: "warn" },
      models: {
        m: {
          endpoints: [endpoint(flaky), endpoint(good)],
          healthCheck: { enabled: false },
          breaker: { enabled: false },
          outlier: { enabled: false },
          retry: { maxAttempts: 3, budgetRatio: ratio, budgetMinPerSecond: 1, backoffBaseMs: 1 },
        },
      },
    });
    try {
      await setFaults(flaky, { errorRate: 0.5, errorStatus: 503 });
      const statuses = await load(
        1000,
        20,
        async () => (await call(gw.url, "/v1/chat/completions", { body: chat() })).status,
      );
      const ok = statuses.filter((s) => s === 200).length;
      assert.ok(ok >= 999, `${ok} of 1000 succeeded`);
      const upstream = (await received(flaky)) + (await received(good));
      assert.ok(upstream <= 1000 * (1 + ratio) + 10, `upstream saw ${upstream} requests`);
      assert.ok(upstream > 1100, "retries did happen");
    } finally {
      await gw.stop();
      await flaky.stop();
      await good.stop();
    }
  });

  test("the budget stops a retry storm when every replica fails", async () => {
    const bad = await startSim(["--model", "m:instant"]);
    const gw = await startGateway({
      logging: { level: "warn" },
      models: {
        m: {
          endpoints: [endpoint(bad)],
          healthCheck: { enabled: false },
          breaker: { enabled: false },
          outlier: { enabled: false },
          retry: { maxAttempts: 5, budgetRatio: 0.1, budgetMinPerSecond: 0, backoffBaseMs: 1 },
        },
      },
    });
    try {
      await setFaults(bad, { errorRate: 1, errorStatus: 503 });
      await load(200, 10, () => call(gw.url, "/v1/chat/completions", { body: chat() }));
      const seen = await received(bad);
      assert.ok(seen <= 200 * 1.1 + 1, `upstream saw ${seen} requests for 200 (no more than 10% retries)`);
    } finally {
      await gw.stop();
      await bad.stop();
    }
  });
});

describe("hedging", () => {
  test("with one replica 10× slower, hedging cuts p99 at least 3× and extra requests stay under the cap", async () => {
    const fast = await startSim(["--model", "m:instant"]);
    const slow = await startSim(["--model", "m:instant"]);
    // The hedge delay sits between the fast replica's latency and the slow one's, as the observed p95 would.
    await setFaults(fast, { delayMs: 50 });
    await setFaults(slow, { delayMs: 500 });
    const cfg = (enabled: boolean) => ({
      logging: { level: "warn" },
      models: {
        m: {
          endpoints: [endpoint(fast), endpoint(slow)],
          healthCheck: { enabled: false },
          outlier: { enabled: false },
          hedge: { enabled, delayMs: 75, maxExtraRatio: 0.9 },
        },
      },
    });
    const measure = async (gw: Running) => {
      // Warm up connections and JIT first, so the tail measures hedging rather than process start.
      await load(24, 4, () => call(gw.url, "/v1/chat/completions", { body: chat() }));
      await Promise.all([resetStats(fast), resetStats(slow)]);
      return load(120, 4, async () => {
        const t0 = performance.now();
        const r = await call(gw.url, "/v1/chat/completions", { body: chat() });
        assert.equal(r.status, 200);
        return performance.now() - t0;
      });
    };
    const off = await startGateway(cfg(false));
    const on = await startGateway(cfg(true));
    try {
      const p99Off = p99(await measure(off));
      const p99On = p99(await measure(on));
      const upstream = (await received(fast)) + (await received(slow));
      assert.ok(
        p99Off >= 3 * p99On,
        `p99 without hedging ${p99Off.toFixed(1)} ms, with ${p99On.toFixed(1)} ms`,
      );
      assert.ok(upstream <= 120 * 1.9 + 10, `hedges stayed under the cap: upstream saw ${upstream} for 120`);
    } finally {
      await off.stop();
      await on.stop();
      await fast.stop();
      await slow.stop();
    }
  });
});

describe("fallbacks, open circuits and admission", () => {
  let sim: Running;
  let gw: Running;
  before(async () => {
    sim = await startSim(["--model", "m:instant", "--model", "big:instant"]);
    gw = await startGateway({
      logging: { level: "warn" },
      models: {
        m: {
          endpoints: [{ kind: "openai", url: "http://127.0.0.1:9/v1" }],
          healthCheck: { enabled: false },
          breaker: { failureThreshold: 2, openMs: 60_000 },
          retry: { maxAttempts: 1 },
          fallbacks: ["big"],
        },
        dead: {
          endpoints: [{ kind: "openai", url: "http://127.0.0.1:9/v1" }],
          healthCheck: { enabled: false },
          breaker: { failureThreshold: 2, openMs: 60_000 },
          retry: { maxAttempts: 1 },
        },
        big: { endpoints: [endpoint(sim)], healthCheck: { enabled: false } },
        small: {
          endpoints: [{ ...endpoint(sim), model: "big" }],
          healthCheck: { enabled: false },
          admission: { maxInFlight: 2, maxQueue: 4, queueTimeoutMs: 2000 },
        },
      },
    });
  });
  after(async () => {
    await gw.stop();
    await sim.stop();
  });

  test("a model whose pool is down falls back to the next model", async () => {
    const r = await call(gw.url, "/v1/chat/completions", { body: chat() });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.model, "big");
  });

  test("when every endpoint's circuit is open, requests fail fast with 503 circuit_open", async () => {
    for (let i = 0; i < 2; i++) await call(gw.url, "/v1/chat/completions", { body: chat({ model: "dead" }) });
    const t0 = performance.now();
    const r = await call(gw.url, "/v1/chat/completions", { body: chat({ model: "dead" }) });
    assert.equal(r.status, 503);
    assert.equal((r.json.error as Json).code, "circuit_open");
    assert.ok(performance.now() - t0 < 100);
  });

  test("a burst 10× over capacity is shed with 503 overloaded and retry-after; high priority keeps its place", async () => {
    const slowBody = chat({ model: "small" });
    const headers = { "x-sim-fault": "delay=300" };
    const low = Array.from({ length: 20 }, () =>
      call(gw.url, "/v1/chat/completions", {
        body: slowBody,
        headers: { ...headers, "x-switchyard-priority": "low" },
      }),
    );
    await sleep(50);
    const high = Array.from({ length: 3 }, () =>
      call(gw.url, "/v1/chat/completions", {
        body: slowBody,
        headers: { ...headers, "x-switchyard-priority": "high" },
      }),
    );
    const [lows, highs] = await Promise.all([Promise.all(low), Promise.all(high)]);
    const shed = lows.filter((r) => r.status === 503);
    assert.ok(
      shed.length >= 14,
      `${shed.length} of 20 low-priority requests shed: ${lows.map((r) => r.status)}`,
    );
    for (const r of shed) {
      assert.equal((r.json.error as Json).code, "overloaded");
      assert.equal(r.headers["retry-after"], "1");
    }
    assert.deepEqual(
      highs.map((r) => r.status),
      [200, 200, 200],
    );
  });
});
