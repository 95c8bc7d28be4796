import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSimBackend } from "../../src/backends/sim.js";
import type { Backend, UpstreamCall } from "../../src/backends/types.js";
import { GatewayError } from "../../src/core/errors.js";
import { parseFaultHeader, planFaults } from "../../src/sim/faults.js";
import { parseSimSettings } from "../../src/sim/settings.js";
import { chat, sleep, startTestSim, type TestSim } from "./_helpers.js";

const FAST = { preset: "large", ttftBaseMs: 1, itlBaseMs: 1 } as const;

describe("seq= over HTTP", () => {
  let sim: TestSim;
  before(async () => {
    sim = await startTestSim({ m: FAST });
  });
  after(() => sim.server.close());

  const call = (fault: string, id?: string, signal?: AbortSignal) =>
    sim.post(
      "/v1/chat/completions",
      chat("m", "seq test", { max_tokens: 3 }),
      { "x-sim-fault": fault, ...(id ? { "x-request-id": id } : {}) },
      signal,
    );

  async function statusOf(fault: string, id?: string): Promise<number> {
    const res = await call(fault, id);
    await res.arrayBuffer();
    return res.status;
  }

  it("answers each attempt with the same request id by its step; later attempts repeat the last", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(await statusOf("seq=503,429,200", "seq-1"));
    assert.deepEqual(statuses, [503, 429, 200, 200, 200]);
    const rec = (await (await sim.get("/sim/requests/seq-1")).json()) as {
      attempts: number;
      history: Array<{ attempt: number; status: number }>;
    };
    assert.equal(rec.attempts, 5);
    assert.deepEqual(
      rec.history.map((h) => [h.attempt, h.status]),
      [
        [1, 503],
        [2, 429],
        [3, 200],
        [4, 200],
        [5, 200],
      ],
    );
  });

  it("a 503 step carries retry-after and the injected-fault body", async () => {
    const res = await call("seq=503,200", "seq-2");
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "1");
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, "sim_injected_fault");
  });

  it("without a request id every request is a first attempt", async () => {
    assert.equal(await statusOf("seq=500,200"), 500);
    assert.equal(await statusOf("seq=500,200"), 500);
  });

  it("reset and hang steps; the client closing a hung attempt is recorded per attempt", async () => {
    await assert.rejects(call("seq=reset,hang,200", "seq-3"), TypeError);
    const ac = new AbortController();
    const hung = call("seq=reset,hang,200", "seq-3", ac.signal);
    await sleep(60);
    ac.abort();
    await assert.rejects(hung);
    assert.equal(await statusOf("seq=reset,hang,200", "seq-3"), 200);
    await sleep(20);
    const rec = (await (await sim.get("/sim/requests/seq-3")).json()) as {
      history: Array<{ outcome: string; closedByClientAt: number | null; endedAt: number | null }>;
    };
    assert.deepEqual(
      rec.history.map((h) => h.outcome),
      ["reset", "client_closed", "completed"],
    );
    assert.equal(rec.history[0]!.closedByClientAt, null);
    assert.equal(typeof rec.history[1]!.closedByClientAt, "number");
    assert.equal(rec.history[1]!.closedByClientAt, rec.history[1]!.endedAt);
    assert.equal(rec.history[2]!.closedByClientAt, null);
  });

  it("combines with delay, and with reset-after on its 200 steps", async () => {
    const t0 = performance.now();
    assert.equal(await statusOf("seq=502,200;delay=80", "seq-4"), 502);
    assert.ok(performance.now() - t0 >= 75);
    assert.equal(await statusOf("seq=503,200;reset-after=1", "seq-5"), 503);
    const res = await call("seq=503,200;reset-after=1", "seq-5");
    assert.equal(res.status, 200);
    await assert.rejects(res.text());
  });

  for (const header of [
    "seq=",
    "seq",
    "seq=201",
    "seq=399,200",
    "seq=503,,200",
    "seq=abc",
    "seq=5e2",
    "seq=503;status=500",
    "seq=503;reset",
    "seq=503;hang",
    "seq=503;seq=200",
    `seq=${Array.from({ length: 65 }, () => "503").join(",")}`,
  ]) {
    it(`bad header '${header.slice(0, 40)}' -> 400 invalid_sim_fault`, async () => {
      const res = await call(header, "seq-bad");
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, "invalid_sim_fault");
    });
  }
});

describe("seq= plans", () => {
  const none = parseSimSettings({}).faults;

  it("parses steps, case-insensitive, spaces allowed", () => {
    assert.deepEqual(parseFaultHeader("seq= 503, RESET ,hang,200 ;rate=1"), {
      ok: true,
      value: { seq: [503, "reset", "hang", 200], rate: 1 },
    });
  });

  it("picks the step of the attempt and overrides the rolled rates", () => {
    const header = { seq: [503, "reset", 200] as Array<number | "reset" | "hang"> };
    assert.equal(planFaults(none, header, () => 0.5, 1).status, 503);
    assert.equal(planFaults(none, header, () => 0.5, 2).reset, "before");
    const ok = planFaults({ ...none, errorRate: 1 }, header, () => 0.5, 3);
    assert.equal(ok.status, undefined);
    assert.equal(ok.reset, undefined);
    assert.equal(planFaults(none, header, () => 0.5, 9).status, undefined);
  });
});

describe("seq= in process", () => {
  let backend: Backend;
  before(() => {
    backend = createSimBackend(parseSimSettings(FAST), "sim:m");
  });
  after(() => backend.close());

  const upstream = (requestId: string, fault: string, stream = false): UpstreamCall => ({
    op: "chat",
    body: { ...chat("m", "seq in process", { max_tokens: 2 }), ...(stream ? { stream } : {}) },
    stream,
    headers: { "x-request-id": requestId, "x-sim-fault": fault },
    signal: new AbortController().signal,
    requestId,
  });

  async function code(p: Promise<unknown>): Promise<string> {
    try {
      await p;
      return "ok";
    } catch (err) {
      assert.ok(err instanceof GatewayError, String(err));
      return err.code;
    }
  }

  it("counts attempts per requestId for invoke and stream", async () => {
    const fault = "seq=503,reset,500,200";
    const seen = [
      await code(backend.invoke(upstream("ip-1", fault))),
      await code(backend.stream(upstream("ip-1", fault, true))),
      await code(backend.invoke(upstream("ip-1", fault))),
      await code(backend.invoke(upstream("ip-1", fault))),
      await code(backend.invoke(upstream("ip-1", fault))),
    ];
    assert.deepEqual(seen, ["upstream_unavailable", "upstream_unavailable", "upstream_error", "ok", "ok"]);
    assert.equal(await code(backend.invoke(upstream("ip-2", fault))), "upstream_unavailable");
  });

  it("a hang step waits until the call is aborted", async () => {
    const ac = new AbortController();
    const call = { ...upstream("ip-3", "seq=hang,200"), signal: ac.signal };
    const pending = backend.invoke(call);
    const raced = await Promise.race([pending.then(() => "answered"), sleep(50).then(() => "waiting")]);
    assert.equal(raced, "waiting");
    ac.abort(new Error("gave up"));
    await assert.rejects(pending, /gave up/);
    assert.equal(await code(backend.invoke(upstream("ip-3", "seq=hang,200"))), "ok");
  });
});
