import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseFaultHeader, planFaults } from "../../src/sim/faults.js";
import { parseSimSettings } from "../../src/sim/settings.js";
import { chat, readSse, sleep, startTestSim, type TestSim } from "./_helpers.js";

describe("x-sim-fault over HTTP", () => {
  let sim: TestSim;
  before(async () => {
    sim = await startTestSim({ m: { preset: "large", ttftBaseMs: 1, itlBaseMs: 1 } });
  });
  after(() => sim.server.close());

  const call = (fault: string, extra: Record<string, unknown> = {}, id?: string, signal?: AbortSignal) =>
    sim.post(
      "/v1/chat/completions",
      chat("m", "fault test", { max_tokens: 6, ...extra }),
      { "x-sim-fault": fault, ...(id ? { "x-request-id": id } : {}) },
      signal,
    );

  it("status=CODE answers that status with an OpenAI error body", async () => {
    for (const status of [400, 429, 500, 503, 504]) {
      const res = await call(`status=${status}`);
      assert.equal(res.status, status);
      const body = (await res.json()) as { error: { message: string; type: string; code: string } };
      assert.equal(body.error.code, "sim_injected_fault");
      assert.equal(typeof body.error.message, "string");
    }
  });

  it("rate=P applies the directives with that probability", async () => {
    assert.equal((await call("status=500;rate=0")).status, 200);
    assert.equal((await call("status=500; rate=1")).status, 500);
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () => call("status=500;rate=0.5").then((r) => r.status)),
    );
    const failed = statuses.filter((s) => s === 500).length;
    assert.ok(failed > 5 && failed < 35, `failed ${failed} of 40`);
  });

  it("delay=MS waits before answering", async () => {
    const t0 = performance.now();
    const res = await call("delay=150");
    await res.text();
    assert.ok(performance.now() - t0 >= 145);
  });

  it("ttft=MS and itl=MS override the costs", async () => {
    let t0 = performance.now();
    await (await call("ttft=120")).text();
    assert.ok(performance.now() - t0 >= 115);
    t0 = performance.now();
    await (await call("itl=25", { max_tokens: 5 })).text();
    assert.ok(performance.now() - t0 >= 95);
  });

  it("reset destroys the connection before headers", async () => {
    await assert.rejects(call("reset"), TypeError);
  });

  it("reset-after=N breaks a stream after N content tokens", async () => {
    const res = await call("reset-after=2", { stream: true });
    assert.equal(res.status, 200);
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const data of readSse(res)) seen.push(data);
    });
    assert.equal(seen.length, 1 + 2);
    assert.ok(!seen.includes("[DONE]"));
  });

  it("reset-after=N breaks a JSON body midway", async () => {
    const res = await call("reset-after=1");
    assert.equal(res.status, 200);
    await assert.rejects(res.text());
  });

  it("hang never answers; the client leaving is recorded", async () => {
    const ac = new AbortController();
    const pending = call("hang", {}, "hang-1", ac.signal);
    await sleep(150);
    ac.abort();
    await assert.rejects(pending);
    await sleep(30);
    const rec = (await (await sim.get("/sim/requests/hang-1")).json()) as Record<string, unknown>;
    assert.equal(rec.firstByteAt, null);
    assert.equal(rec.aborted, true);
    assert.equal(typeof rec.closedByClientAt, "number");
  });

  it("hang-after=N stalls a stream after N tokens", async () => {
    const ac = new AbortController();
    const res = await call("hang-after=2", { stream: true }, "hang-2", ac.signal);
    const seen: string[] = [];
    const reading = (async () => {
      for await (const data of readSse(res)) seen.push(data);
    })();
    await sleep(150);
    assert.equal(seen.length, 1 + 2);
    ac.abort();
    await assert.rejects(reading);
    await sleep(30);
    const metrics = await (await sim.get("/metrics")).text();
    assert.match(metrics, /sim_running_seqs\{model="m"\} 0/);
  });

  const bad = [
    "status=abc",
    "status=200",
    "status",
    "rate=2",
    "delay=-1",
    "reset=1",
    "reset-after=1.5",
    "frobnicate",
    "status=500;status=503",
    "reset;hang",
    "itl=",
  ];
  for (const header of bad) {
    it(`bad header '${header}' -> 400`, async () => {
      const res = await call(header);
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: { type: string; code: string; message: string } };
      assert.equal(body.error.type, "invalid_request_error");
      assert.equal(body.error.code, "invalid_sim_fault");
    });
  }
});

describe("fault plans", () => {
  it("parses the grammar", () => {
    assert.deepEqual(parseFaultHeader(" status=503 ; rate=0.25;delay=10; "), {
      ok: true,
      value: { status: 503, rate: 0.25, delayMs: 10 },
    });
    assert.deepEqual(parseFaultHeader("hang-after=3;itl=5;ttft=7"), {
      ok: true,
      value: { hangAfterTokens: 3, itlMs: 5, ttftMs: 7 },
    });
    assert.deepEqual(parseFaultHeader(undefined), { ok: true, value: {} });
  });

  it("rolls the settings' rates", () => {
    const faults = parseSimSettings({ faults: { errorRate: 0.5, errorStatus: 502, hangRate: 0.5 } }).faults;
    const rolls = [0.1, 0.7];
    const plans = rolls.map((r) => planFaults(faults, {}, () => r));
    assert.equal(plans[0]!.status, 502);
    assert.equal(plans[1]!.hang, "before");
    const header = planFaults(faults, { status: 418 }, () => 0.1);
    assert.equal(header.status, 418);
    assert.equal(header.hang, undefined);
  });
});
