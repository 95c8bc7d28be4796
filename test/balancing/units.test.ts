import assert from "node:assert/strict";
import { test } from "node:test";
import { buildRouter } from "../../src/app.js";
import type { Backend } from "../../src/backends/types.js";
import { parseConfig } from "../../src/config/load.js";
import { RequestContext } from "../../src/core/context.js";
import type { RouteRequest } from "../../src/core/types.js";
import { AffinityBalancer, promptPrefix } from "../../src/routing/balancers/affinity.js";
import { createBalancer } from "../../src/routing/balancers/index.js";
import { Endpoint } from "../../src/routing/endpoint.js";

const BREAKER = { enabled: false, failureThreshold: 5, openMs: 1000, halfOpenProbes: 1 };
const OUTLIER = {
  enabled: false,
  consecutiveFailures: 5,
  failureRateThreshold: 0.5,
  minRequests: 20,
  windowMs: 10_000,
  baseEjectionMs: 1000,
  maxEjectionMs: 10_000,
  maxEjectionPercent: 50,
};
const backend: Backend = {
  kind: "fake",
  label: "fake",
  invoke: async () => ({ payload: "{}", usage: undefined }),
  stream: async () => ({ events: (async function* () {})() }),
  close: async () => {},
};
const ep = (id: string, weight = 1) =>
  new Endpoint(id, backend, weight, undefined, BREAKER, OUTLIER, { breaker: () => {} });

function chatReq(content: string, extra: Record<string, unknown> = {}): RouteRequest {
  return {
    op: "chat",
    model: "m",
    body: { model: "m", messages: [{ role: "user", content }], max_tokens: 2, ...extra },
    stream: false,
    clientWantsStreamUsage: false,
  };
}

test("weighted: smooth WRR gives the exact shares and never bursts the heaviest endpoint", () => {
  const eps = [ep("a", 5), ep("b", 3), ep("c", 2)];
  const b = createBalancer({ kind: "weighted" });
  const counts = new Map<string, number>();
  const seq: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const e = b.pick(eps) as Endpoint;
    counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    if (i < 10) seq.push(e.id);
  }
  assert.deepEqual([counts.get("a"), counts.get("b"), counts.get("c")], [5000, 3000, 2000]);
  assert.ok(!seq.join("").includes("aaa"), `no run of three: ${seq.join("")}`);
});

test("least_outstanding with choices ≥ pool size keeps in-flight within one; P2C favours the less loaded", () => {
  const eps = [ep("a"), ep("b"), ep("c"), ep("d")];
  const full = createBalancer({ kind: "least_outstanding", choices: 4 });
  for (let i = 0; i < 1000; i++) {
    const e = full.pick(eps) as Endpoint;
    e.inFlight++;
    if (i % 3 === 0) {
      const busiest = eps.reduce((x, y) => (y.inFlight > x.inFlight ? y : x));
      busiest.inFlight--;
    }
    const loads = eps.map((x) => x.inFlight);
    assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `loads ${loads}`);
  }
  const p2c = createBalancer({ kind: "least_outstanding", choices: 2 });
  const [a, b] = [ep("a"), ep("b")];
  a.inFlight = 5;
  for (let i = 0; i < 100; i++) assert.equal(p2c.pick([a, b]), b);
});

test("p2c_ewma: avoids a 10× slower endpoint, tries unsampled ones once, and forgets old latency", () => {
  const [fast1, fast2, slow] = [ep("f1"), ep("f2"), ep("s")];
  const now = 1_000_000;
  fast1.observeLatency(10, now);
  fast2.observeLatency(10, now);
  slow.observeLatency(100, now);
  const b = createBalancer({ kind: "p2c_ewma", decayMs: 10_000 });
  let slowPicks = 0;
  for (let i = 0; i < 3000; i++) {
    const e = (b as unknown as { pick(c: Endpoint[], r: undefined, n: number): Endpoint }).pick(
      [fast1, fast2, slow],
      undefined,
      now,
    );
    if (e === slow) slowPicks++;
  }
  assert.equal(slowPicks, 0, "the slow endpoint is never the cheaper of two");
  // A peak raises the estimate at once; quiet time lets it fade.
  assert.equal(slow.latencyEstimate(now), 100);
  assert.ok((slow.latencyEstimate(now + 30_000) as number) < 10);
  // Unsampled: free while idle, penalised while its first request is out.
  const fresh = ep("new");
  const pick = (eps: Endpoint[]) =>
    (b as unknown as { pick(c: Endpoint[], r: undefined, n: number): Endpoint }).pick(eps, undefined, now);
  assert.equal(pick([fast1, fresh]), fresh);
  fresh.inFlight = 1;
  assert.equal(pick([fast1, fresh]), fast1);
});

test("affinity: the same key goes to the same endpoint; removing an endpoint moves only its keys", () => {
  const eps = ["a", "b", "c", "d"].map((id) => ep(id));
  const b = new AffinityBalancer({
    kind: "affinity",
    key: { source: "prefix", chars: 64 },
    epsilon: 0.25,
    virtualNodes: 100,
  });
  const owner = new Map<string, Endpoint>();
  for (let k = 0; k < 400; k++) owner.set(`key-${k}`, b.pickByKey(eps, `key-${k}`) as Endpoint);
  for (const [k, e] of owner) assert.equal(b.pickByKey(eps, k), e);
  const spread = new Set(owner.values());
  assert.equal(spread.size, 4);
  const without = eps.slice(1);
  let moved = 0;
  for (const [k, e] of owner) {
    const now = b.pickByKey(without, k);
    if (e.id !== "a") assert.equal(now, e, "keys of other endpoints stay");
    else moved++;
  }
  assert.ok(moved > 0);
  // Prefix keys: the first N characters of the prompt.
  assert.equal(
    promptPrefix(
      {
        messages: [
          { role: "system", content: "You are helpful." },
          { role: "user", content: "x" },
        ],
      },
      12,
    ),
    "system:You a",
  );
});

test("affinity: a hot key spills over and no endpoint exceeds ceil((1+ε) × mean load)", () => {
  const eps = ["a", "b", "c", "d", "e"].map((id) => ep(id));
  const eps0 = 0.25;
  const b = createBalancer({ kind: "affinity", key: { source: "user" }, epsilon: eps0, virtualNodes: 100 });
  let total = 0;
  for (let i = 0; i < 500; i++) {
    const e = b.pick(eps, chatReq("hi", { user: "the-same-user" })) as Endpoint;
    const cap = Math.ceil(((1 + eps0) * (total + 1)) / eps.length);
    assert.ok(e.inFlight + 1 <= cap, `load ${e.inFlight + 1} above ${cap}`);
    e.inFlight++;
    total++;
  }
  const loads = eps.map((e) => e.inFlight);
  assert.ok(Math.max(...loads) <= Math.ceil((1 + eps0) * (total / eps.length)), `loads ${loads}`);
  // Without a key: least loaded of two.
  assert.ok(b.pick(eps, chatReq("hi")));
});

test("canary 90/10 over the router: within ±3% over 5,000 requests, and shadow counts", async () => {
  const instant = { kind: "sim", sim: { preset: "instant" } };
  const config = parseConfig({
    logging: { level: "silent" },
    models: {
      m: {
        versions: [
          { name: "v1", weight: 90, endpoints: [instant, instant] },
          { name: "v2", weight: 10, endpoints: [instant] },
        ],
        shadow: { model: "shadow", ratio: 0.5, maxConcurrent: 1000 },
      },
      shadow: { endpoints: [instant] },
    },
  });
  const router = buildRouter(config);
  await router.start();
  const counts = { v1: 0, v2: 0 };
  for (let i = 0; i < 5000; i++) {
    const ctx = new RequestContext({});
    ctx.setDeadline(10_000);
    const res = await router.execute(chatReq(`hello ${i}`), ctx);
    ctx.finish();
    if (res.endpoint.includes("@v1")) counts.v1++;
    else if (res.endpoint.includes("@v2")) counts.v2++;
  }
  const share = counts.v1 / 5000;
  console.log(
    `canary split: v1 ${counts.v1}, v2 ${counts.v2} (${(share * 100).toFixed(2)}% / ${(100 - share * 100).toFixed(2)}%)`,
  );
  assert.ok(Math.abs(share - 0.9) <= 0.03, `v1 share ${share}`);
  await new Promise((r) => setTimeout(r, 200));
  const snap = router.pool("m")?.snapshot() as { shadow: { mirrored: number; success: number } };
  assert.ok(Math.abs(snap.shadow.mirrored - 2500) < 250, `mirrored ${snap.shadow.mirrored}`);
  assert.equal(snap.shadow.success, snap.shadow.mirrored);
  await router.close();
});

test("reload swap keeps unchanged endpoints (same object) and retires removed ones", async () => {
  const a = { kind: "sim", id: "a", sim: { preset: "instant" } };
  const b = { kind: "sim", id: "b", sim: { preset: "instant" } };
  const router = buildRouter(parseConfig({ models: { m: { endpoints: [a, b] } } }));
  await router.start();
  const before = new Map(router.endpoints().map((e) => [e.id, e]));
  const { buildPools } = await import("../../src/routing/build.js");
  const { NOOP_OBSERVER } = await import("../../src/routing/observer.js");
  const next = parseConfig({ models: { m: { balancer: "p2c_ewma", endpoints: [a] } } });
  await router.swap(buildPools(next, { observer: NOOP_OBSERVER, previous: router.endpoints() }));
  const after = router.endpoints();
  assert.equal(after.length, 1);
  assert.equal(after[0], before.get("a"), "unchanged endpoint reused");
  assert.equal(before.get("b")?.retired, true);
  assert.equal(router.pool("m")?.snapshot().balancer, "p2c_ewma");
  await router.close();
});
