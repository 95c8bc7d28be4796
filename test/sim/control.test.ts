import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chat, sleep, startTestSim, type TestSim } from "./_helpers.js";

interface FaultsView {
  models: Record<string, { source: "settings" | "runtime"; faults: Record<string, unknown> }>;
}

interface Stats {
  since: number;
  requests: number;
  byStatus: Record<string, number>;
  inFlight: number;
  maxInFlight: number;
}

function send(sim: TestSim, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(sim.base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("control endpoint /sim/faults", () => {
  let sim: TestSim;
  before(async () => {
    sim = await startTestSim({
      a: { preset: "instant", faults: { delayMs: 1 } },
      b: { preset: "instant" },
    });
  });
  after(() => sim.server.close());

  const ask = async (model: string, headers: Record<string, string> = {}) => {
    const res = await sim.post("/v1/chat/completions", chat(model, "control", { max_tokens: 2 }), headers);
    await res.arrayBuffer();
    return res.status;
  };

  it("GET shows the configured faults", async () => {
    const view = (await (await sim.get("/sim/faults")).json()) as FaultsView;
    assert.deepEqual(Object.keys(view.models), ["a", "b"]);
    assert.equal(view.models.a!.source, "settings");
    assert.equal(view.models.a!.faults.delayMs, 1);
    assert.equal(view.models.b!.faults.errorRate, 0);
  });

  it("PUT makes a healthy server fail; DELETE heals it", async () => {
    assert.equal(await ask("a"), 200);
    const put = await send(sim, "PUT", "/sim/faults", { errorRate: 1, errorStatus: 503 });
    assert.equal(put.status, 200);
    const view = (await put.json()) as FaultsView;
    assert.equal(view.models.a!.source, "runtime");
    assert.deepEqual(view.models.a!.faults, {
      errorRate: 1,
      errorStatus: 503,
      delayMs: 0,
      resetRate: 0,
      hangRate: 0,
    });
    assert.deepEqual(((await (await sim.get("/sim/faults")).json()) as FaultsView).models.b, view.models.b);
    assert.equal(await ask("a"), 503);
    assert.equal(await ask("b"), 503);
    const del = (await (await send(sim, "DELETE", "/sim/faults")).json()) as FaultsView;
    assert.equal(del.models.a!.source, "settings");
    assert.equal(del.models.a!.faults.delayMs, 1);
    assert.equal(await ask("a"), 200);
  });

  it("?model= addresses one model; the header still wins over runtime faults", async () => {
    await send(sim, "PUT", "/sim/faults?model=b", { errorRate: 1, errorStatus: 500 });
    assert.equal(await ask("a"), 200);
    assert.equal(await ask("b"), 500);
    assert.equal(await ask("b", { "x-sim-fault": "status=429" }), 429);
    assert.equal((await send(sim, "PUT", "/sim/faults?model=zz", {})).status, 404);
    await send(sim, "DELETE", "/sim/faults?model=b");
    assert.equal(await ask("b"), 200);
  });

  it("a runtime seq scripts attempts per x-request-id for requests without a header", async () => {
    await send(sim, "PUT", "/sim/faults", { seq: [503, "reset", 200] });
    assert.equal(await ask("a", { "x-request-id": "ctl-1" }), 503);
    await assert.rejects(ask("a", { "x-request-id": "ctl-1" }), TypeError);
    assert.equal(await ask("a", { "x-request-id": "ctl-1" }), 200);
    assert.equal(await ask("a", { "x-request-id": "ctl-1" }), 200);
    await send(sim, "PUT", "/sim/faults", { seq: "502,200" });
    const view = (await (await sim.get("/sim/faults")).json()) as FaultsView;
    assert.deepEqual(view.models.a!.faults.seq, [502, 200]);
    assert.equal(await ask("a", { "x-request-id": "ctl-2" }), 502);
    await send(sim, "DELETE", "/sim/faults");
  });

  it("runtime ttftMs and itlMs apply to every request", async () => {
    await send(sim, "PUT", "/sim/faults", { ttftMs: 60, itlMs: 20 });
    const t0 = performance.now();
    assert.equal(await ask("a"), 200);
    assert.ok(performance.now() - t0 >= 60 + 20 - 5, `took ${performance.now() - t0} ms`);
    await send(sim, "DELETE", "/sim/faults");
  });

  const bad: Array<[string, unknown]> = [
    ["invalid JSON", "{not json"],
    ["not an object", [1, 2]],
    ["unknown field", { errorRat: 0.5 }],
    ["rate above 1", { errorRate: 2 }],
    ["rates above 1 together", { errorRate: 0.6, resetRate: 0.6 }],
    ["status below 400", { errorStatus: 200 }],
    ["negative delay", { delayMs: -1 }],
    ["string number", { delayMs: "10" }],
    ["bad seq step", { seq: [503, 201] }],
    ["empty seq", { seq: [] }],
    ["seq of objects", { seq: [{}] }],
  ];
  for (const [name, body] of bad) {
    it(`PUT with ${name} -> 400 and the faults stay as they were`, async () => {
      const res = await send(sim, "PUT", "/sim/faults", body);
      assert.equal(res.status, 400);
      const err = (await res.json()) as { error: { type: string; code: string; message: string } };
      assert.equal(err.error.type, "invalid_request_error");
      assert.match(err.error.code, /^(invalid_sim_fault|invalid_json)$/);
      const view = (await (await sim.get("/sim/faults")).json()) as FaultsView;
      assert.equal(view.models.a!.source, "settings");
    });
  }

  it("other methods are 405 with allow", async () => {
    const res = await send(sim, "POST", "/sim/faults", {});
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, PUT, DELETE");
  });
});

describe("stats /sim/stats", () => {
  let sim: TestSim;
  before(async () => {
    sim = await startTestSim({ m: { preset: "instant" } });
  });
  after(() => sim.server.close());

  const stats = async () => (await (await sim.get("/sim/stats")).json()) as Stats;
  const ask = (fault?: string, signal?: AbortSignal) =>
    sim.post(
      "/v1/chat/completions",
      chat("m", "stats", { max_tokens: 2 }),
      fault ? { "x-sim-fault": fault } : {},
      signal,
    );

  it("counts requests by outcome, in flight and the most in flight", async () => {
    const t0 = Date.now();
    await Promise.all([1, 2, 3].map(() => ask().then((r) => r.arrayBuffer())));
    await (await ask("status=503")).arrayBuffer();
    await assert.rejects(ask("reset"));
    await (await ask("bogus")).arrayBuffer();
    const ac = new AbortController();
    const hung = [ask("hang", ac.signal), ask("hang", ac.signal)];
    await sleep(40);
    let s = await stats();
    assert.ok(s.since <= t0);
    assert.equal(s.requests, 8);
    assert.equal(s.inFlight, 2);
    assert.ok(s.maxInFlight >= 2);
    assert.deepEqual(s.byStatus, { "200": 3, "400": 1, "503": 1, reset: 1 });
    ac.abort();
    await Promise.allSettled(hung);
    await sleep(30);
    s = await stats();
    assert.equal(s.inFlight, 0);
    assert.equal(s.byStatus.client_closed, 2);
  });

  it("POST /sim/stats/reset zeroes the totals", async () => {
    const reset = (await (await send(sim, "POST", "/sim/stats/reset")).json()) as Stats;
    assert.equal(reset.requests, 0);
    assert.deepEqual(reset.byStatus, {});
    assert.equal(reset.maxInFlight, 0);
    await (await ask()).arrayBuffer();
    const s = await stats();
    assert.equal(s.requests, 1);
    assert.deepEqual(s.byStatus, { "200": 1 });
    assert.equal(s.maxInFlight, 1);
    assert.ok(s.since >= reset.since);
  });
});
