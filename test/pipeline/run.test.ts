// biome-ignore-all lint/suspicious/noExplicitAny: API answers are read as loose JSON in these tests
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Gateway } from "../../src/app.js";
import { call } from "../helpers/http.js";
import type { Running } from "../helpers/proc.js";
import { simSaw, startPipelineGateway, startPipelineSim } from "./_helpers.js";

// A real gateway (HTTP on a free port) in front of a real `switchyard sim` process. Slow, failing and
// flaky steps come from the sim's `x-sim-fault` header, set per step (`headers`), so each test says
// exactly what the upstream does; `/sim/requests/{id}` shows what each step's call went through.

const fault = (spec: string) => ({ "x-sim-fault": spec });
const small = (prompt: string, more: Record<string, unknown> = {}) => ({
  model: "sim-small",
  prompt,
  request: { max_tokens: 2 },
  ...more,
});

const PIPELINES = {
  parallel: {
    steps: {
      a: small("a", { headers: fault("delay=300") }),
      b: small("b", { headers: fault("delay=300") }),
      join: small("{{ steps.a.output.text }} / {{ steps.b.output.text }}"),
    },
  },
  cascade: {
    inputs: { question: {}, tokens: { type: "integer" }, threshold: { type: "integer" } },
    steps: {
      small: small("{{ input.question }}", { request: { max_tokens: "{{ input.tokens }}" } }),
      large: {
        model: "sim-large",
        when: "length(steps.small.output.text) > input.threshold",
        prompt: "Improve: {{ steps.small.output.text }}",
        request: { max_tokens: 3 },
      },
    },
    output: {
      answer: "{{ default(steps.large.output.text, steps.small.output.text) }}",
      escalated: "{{ steps.large.status == 'succeeded' }}",
    },
  },
  flaky: {
    inputs: { fault: {} },
    steps: {
      call: small("x", {
        headers: { "x-sim-fault": "{{ input.fault }}" },
        retry: { maxAttempts: 3, backoffBaseMs: 1, backoffMaxMs: 5, on: ["unavailable", "server_error"] },
      }),
    },
  },
  tolerant: {
    steps: {
      broken: small("x", {
        headers: fault("status=500"),
        onError: "continue",
        default: { text: "fallback" },
      }),
      after: small("{{ steps.broken.output.text }}"),
    },
    output: {
      broken: "{{ steps.broken.output.text }}",
      status: "{{ steps.broken.status }}",
      error: "{{ steps.broken.error }}",
      after: "{{ steps.after.status }}",
    },
  },
  strict: {
    steps: {
      slow: small("x", { headers: fault("delay=2000") }),
      broken: small("x", { headers: fault("delay=50;status=500") }),
    },
  },
  timeouts: {
    steps: { slow: small("x", { headers: fault("delay=2000"), timeoutMs: 150 }) },
  },
  fanout: {
    inputs: { docs: { type: "array", items: "object" }, width: { type: "integer", default: 2 } },
    steps: {
      embed: {
        model: "sim-embed",
        map: { over: "input.docs", concurrency: 2, maxItems: 8 },
        input: "{{ item.text }}",
        headers: { "x-sim-fault": "delay={{ item.delay }}" },
      },
    },
    output: "{{ steps.embed.output }}",
  },
};

describe("pipeline runs against a real sim", () => {
  let sim: Running;
  let gw: Gateway;
  let url: string;
  let seq = 0;
  before(async () => {
    sim = await startPipelineSim();
    ({ gw, url } = await startPipelineGateway(sim.url, PIPELINES));
  });
  after(async () => {
    await gw?.close(500);
    await sim?.stop();
  });

  async function run(name: string, input: unknown = {}, headers: Record<string, string> = {}) {
    const rid = `pl-${process.pid}-${++seq}`;
    const t0 = performance.now();
    const res = await call(url, `/v1/pipelines/${name}?debug=true`, {
      body: { input },
      headers: { "x-request-id": rid, ...headers },
    });
    return { ...res, rid, ms: performance.now() - t0, json: res.json as any };
  }

  test("parallelism is real: two independent 300 ms steps take about 300 ms, not 600", async () => {
    const r = await run("parallel");
    assert.equal(r.status, 200, r.text);
    const { a, b, join } = r.json.steps;
    assert.ok(r.ms >= 290, `${r.ms} ms: the delays did not apply`);
    assert.ok(r.ms < 590, `${r.ms} ms: the two 300 ms steps did not overlap`);
    // Both started at once, and `join` (which reads both) only after both ended.
    assert.ok(Math.abs(a.started_ms - b.started_ms) < 50, JSON.stringify({ a, b }));
    assert.ok(join.started_ms >= Math.max(a.started_ms + a.duration_ms, b.started_ms + b.duration_ms) - 1);
    const total = a.usage.total_tokens + b.usage.total_tokens + join.usage.total_tokens;
    assert.equal(r.json.usage.total_tokens, total);
  });

  test("a cascade escalates exactly when its condition on the small model's output holds", async () => {
    const seen = { escalated: 0, not: 0 };
    for (const tokens of [1, 3, 8, 20]) {
      for (const threshold of [15, 60]) {
        const r = await run("cascade", { question: `q${tokens}`, tokens, threshold });
        assert.equal(r.status, 200, r.text);
        const draft: string = r.json.steps.small.output.text;
        const expected = draft.length > threshold;
        assert.equal(r.json.output.escalated, expected, `draft ${JSON.stringify(draft)} vs ${threshold}`);
        assert.equal(r.json.steps.large.status, expected ? "succeeded" : "skipped");
        assert.equal(r.json.output.answer, expected ? r.json.steps.large.output.text : draft);
        // The large model was called (once) exactly when the branch was taken.
        const large = await simSaw(sim, `${r.rid}.large`);
        assert.equal(large?.attempts ?? 0, expected ? 1 : 0);
        seen[expected ? "escalated" : "not"]++;
      }
    }
    assert.ok(seen.escalated > 0 && seen.not > 0, `both branches must be exercised: ${JSON.stringify(seen)}`);
  });

  test("a failing step with retries recovers (the step's retry override, through the router)", async () => {
    const ok = await run("flaky", { fault: "seq=500,500,200" });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.steps.call.status, "succeeded");
    assert.equal((await simSaw(sim, `${ok.rid}.call`))?.attempts, 3);
    // One failure more than the step's maxAttempts: the run fails after exactly 3 attempts.
    const bad = await run("flaky", { fault: "seq=500,500,500,200" });
    assert.equal(bad.status, 502, bad.text);
    assert.equal(bad.json.error.code, "pipeline_step_failed");
    assert.equal((await simSaw(sim, `${bad.rid}.call`))?.attempts, 3);
  });

  test("onError: continue completes the run with the step's default", async () => {
    const r = await run("tolerant");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.output, {
      broken: "fallback",
      status: "defaulted",
      error: "upstream_error",
      after: "succeeded",
    });
    assert.equal(r.json.steps.broken.error.code, "upstream_error");
  });

  test("onError: fail fails the run with the step named, and aborts the steps still running", async () => {
    const r = await run("strict");
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.error.code, "pipeline_step_failed");
    assert.equal(r.json.error.param, "steps.broken");
    assert.match(r.json.error.message, /^pipeline 'strict': step 'broken' failed: upstream_error: /);
    assert.ok(r.ms < 1500, `${r.ms} ms: the run waited for the slow step`);
    const slow = await waitFor(
      () => simSaw(sim, `${r.rid}.slow`),
      (s) => s?.aborted === true,
    );
    assert.equal(slow?.aborted, true, "the slow step's upstream call was not cancelled");
  });

  test("a step's timeout ends its call; the run's deadline bounds every step", async () => {
    const t = await run("timeouts");
    assert.equal(t.status, 502, t.text);
    assert.match(t.json.error.message, /step 'slow' failed: deadline_exceeded/);
    assert.ok(t.ms < 1500, `${t.ms} ms`);
    const d = await run("parallel", {}, { "x-switchyard-timeout-ms": "150" });
    assert.equal(d.status, 504, d.text);
    assert.equal(d.json.error.code, "deadline_exceeded");
    for (const step of ["a", "b"]) {
      const s = await waitFor(
        () => simSaw(sim, `${d.rid}.${step}`),
        (x) => x?.aborted === true,
      );
      assert.equal(s?.aborted, true, `step ${step} was not cancelled`);
    }
  });

  test("map fans out with bounded concurrency and gathers the results in the items' order", async () => {
    const docs = [
      { text: "alpha", delay: 250 },
      { text: "beta", delay: 10 },
      { text: "gamma", delay: 10 },
      { text: "delta", delay: 10 },
    ];
    const r = await run("fanout", { docs });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.steps.embed.items, 4);
    for (const [i, d] of docs.entries()) {
      const direct = await call(url, "/v1/embeddings", { body: { model: "sim-embed", input: d.text } });
      assert.deepEqual(r.json.output[i].embedding, (direct.json as any).data[0].embedding, `item ${i}`);
      assert.equal((await simSaw(sim, `${r.rid}.embed.${i}`))?.attempts, 1);
    }
    // Four 150 ms items two at a time take two rounds (all at once would take one).
    const even = await run("fanout", { docs: docs.map((d) => ({ ...d, delay: 150 })) });
    assert.equal(even.status, 200, even.text);
    assert.ok(even.json.steps.embed.duration_ms >= 290, `${even.json.steps.embed.duration_ms} ms`);
    const tooMany = await run("fanout", { docs: Array.from({ length: 9 }, () => docs[1]) });
    assert.equal(tooMany.status, 422, tooMany.text);
    assert.match(tooMany.json.error.message, /9 items, more than map.maxItems \(8\)/);
  });
});

async function waitFor<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 3000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
