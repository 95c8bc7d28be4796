// biome-ignore-all lint/suspicious/noExplicitAny: API answers are read as loose JSON in these tests
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import type { Gateway } from "../../src/app.js";
import { call } from "../helpers/http.js";
import type { Running } from "../helpers/proc.js";
import { startPipelineGateway, startPipelineSim } from "./_helpers.js";

const PIPELINES = {
  qa: {
    description: "two branches, then an answer",
    inputs: {
      question: { type: "string", maxLength: 200, description: "what to answer" },
      tokens: { type: "integer", default: 5, minimum: 1, maximum: 64 },
    },
    steps: {
      draft: { model: "sim-small", prompt: "{{ input.question }}", request: { max_tokens: 3 } },
      vec: { model: "sim-embed", input: "{{ input.question }}" },
      answer: {
        model: "sim-small",
        prompt: "{{ steps.draft.output.text }} ({{ length(steps.vec.output.embedding) }} dims)",
        request: { max_tokens: "{{ input.tokens }}" },
      },
    },
    output: "{{ steps.answer.output.text }}",
  },
  broken: {
    steps: {
      a: { model: "sim-small", prompt: "x", request: { max_tokens: 2 } },
      b: { model: "sim-small", prompt: "{{ steps.a.output.json.label }}", request: { max_tokens: 2 } },
    },
  },
  failing: {
    steps: {
      a: { model: "sim-small", prompt: "x", request: { max_tokens: 2 } },
      b: {
        model: "sim-small",
        prompt: "{{ steps.a.output.text }}",
        headers: { "x-sim-fault": "status=503" },
      },
    },
  },
  limited: {
    steps: {
      x: { model: "sim-large", prompt: "1", request: { max_tokens: 1 } },
      y: { model: "sim-large", prompt: "2", request: { max_tokens: 1 }, needs: ["x"] },
      z: { model: "sim-large", prompt: "3", request: { max_tokens: 1 }, needs: ["y"] },
    },
  },
};

/** The events of an SSE body: `event:` name (or "message") and parsed data (or the raw text). */
function events(text: string): Array<{ event: string; data: any }> {
  return text
    .split("\n\n")
    .filter((b) => b.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "message";
      const raw = lines.find((l) => l.startsWith("data: "))?.slice(6) ?? "";
      let data: unknown = raw;
      try {
        data = JSON.parse(raw);
      } catch {}
      return { event, data };
    });
}

describe("pipelines over HTTP", () => {
  let sim: Running;
  let gw: Gateway;
  let url: string;
  before(async () => {
    sim = await startPipelineSim();
    ({ gw, url } = await startPipelineGateway(sim.url, PIPELINES, {
      limits: { models: { "sim-large": { rpm: 2 } } },
      jobs: { workers: 2, pollIntervalMs: 50 },
    }));
  });
  after(async () => {
    await gw?.close(500);
    await sim?.stop();
  });

  const post = (path: string, body: unknown) => call(url, path, { body });

  test("GET /v1/pipelines lists the pipelines with their inputs", async () => {
    const r = await call(url, "/v1/pipelines");
    assert.equal(r.status, 200);
    const qa = (r.json.data as any[]).find((p) => p.id === "qa");
    assert.deepEqual(qa.inputs, {
      question: { type: "string", required: true, max_length: 200, description: "what to answer" },
      tokens: { type: "integer", required: false, default: 5, minimum: 1, maximum: 64 },
    });
    assert.deepEqual(
      qa.steps.map((s: any) => [s.name, s.model, s.kind, s.needs]),
      [
        ["draft", "sim-small", "chat", []],
        ["vec", "sim-embed", "embedding", []],
        ["answer", "sim-small", "chat", ["draft", "vec"]],
      ],
    );
    assert.deepEqual(qa.stream_steps, ["answer"]);
    assert.equal((await call(url, "/v1/pipelines/qa")).json.id, "qa");
  });

  test("an unknown pipeline is a 404 with its registry code", async () => {
    for (const r of [
      await post("/v1/pipelines/nope", { input: {} }),
      await call(url, "/v1/pipelines/nope"),
    ]) {
      assert.equal(r.status, 404);
      assert.equal((r.json as any).error.code, "pipeline_not_found");
      assert.equal((r.json as any).error.param, "pipeline");
    }
  });

  test("bad input is a 400 naming the parameter", async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ input: {} }, "input.question", /Missing required input: 'input.question'/],
      [{ input: { question: 7 } }, "input.question", /expected string/],
      [{ input: { question: "x".repeat(201) } }, "input.question", /Invalid value for 'input.question'/],
      [{ input: { question: "q", tokens: 1.5 } }, "input.tokens", /expected int/],
      [
        { input: { question: "q", tokens: 0 } },
        "input.tokens",
        /Invalid value for 'input.tokens': Too small/,
      ],
      [{ input: { question: "q", tokens: 65 } }, "input.tokens", /Invalid value for 'input.tokens': Too big/],
      [{ input: { question: "q", extra: 1 } }, "input.extra", /Unknown input 'extra'/],
      [{ input: "q" }, "input", /'input' must be a JSON object/],
      [{ question: "q" }, "question", /Unknown parameter: 'question'/],
    ];
    for (const [body, param, message] of cases) {
      const r = await post("/v1/pipelines/qa", body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal((r.json as any).error.code, "invalid_request");
      assert.equal((r.json as any).error.param, param, JSON.stringify(body));
      assert.match((r.json as any).error.message, message);
    }
    const flag = await post("/v1/pipelines/qa?debug=maybe", { input: { question: "q" } });
    assert.equal(flag.status, 400);
    assert.equal((flag.json as any).error.param, "debug");
  });

  test("a sync run answers the output; ?debug=true adds every step's output, timing and tokens", async () => {
    const plain = await post("/v1/pipelines/qa", { input: { question: "why" } });
    assert.equal(plain.status, 200, plain.text);
    const j = plain.json as any;
    assert.equal(j.object, "pipeline.run");
    assert.equal(typeof j.output, "string");
    assert.equal(j.steps, undefined);
    const dbg = (await post("/v1/pipelines/qa?debug=true", { input: { question: "why", tokens: 4 } }))
      .json as any;
    assert.equal(dbg.steps.answer.output.text, dbg.output);
    assert.equal(dbg.steps.answer.usage.completion_tokens, 4);
    assert.equal(dbg.steps.vec.output.embedding.length, 8);
    for (const s of Object.values(dbg.steps) as any[]) {
      assert.equal(s.status, "succeeded");
      assert.ok(s.duration_ms >= 0 && s.started_ms >= 0);
    }
    const sum = (Object.values(dbg.steps) as any[]).reduce((n, s) => n + s.usage.total_tokens, 0);
    assert.equal(dbg.usage.total_tokens, sum);
  });

  test("?stream=true sends events per step and the final step's tokens, then the result", async () => {
    const r = await post("/v1/pipelines/qa?stream=true", { input: { question: "stream me", tokens: 6 } });
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /text\/event-stream/);
    const ev = events(r.text);
    assert.equal(ev.at(-1)?.data, "[DONE]");
    const result = ev.find((e) => e.event === "result")?.data;
    const tokens = ev.filter((e) => e.event === "token");
    assert.equal(tokens.length, 6);
    assert.ok(tokens.every((t) => t.data.step === "answer"));
    assert.equal(tokens.map((t) => t.data.text).join(""), result.output);
    const order = ev.filter((e) => e.event.startsWith("step.")).map((e) => `${e.event}:${e.data.step}`);
    assert.ok(order.indexOf("step.started:answer") > order.indexOf("step.finished:draft"));
    assert.ok(order.indexOf("step.started:answer") > order.indexOf("step.finished:vec"));
    assert.ok(order.indexOf("step.finished:answer") > order.indexOf("step.started:answer"));
    const finished = ev.find((e) => e.event === "step.finished" && e.data.step === "answer")?.data;
    assert.equal(finished.usage.completion_tokens, 6);
    assert.equal(finished.output, undefined, "outputs only with ?debug=true");
  });

  test("a stream whose step fails ends with the error event and no [DONE]", async () => {
    const r = await post("/v1/pipelines/failing?stream=true", { input: {} });
    const ev = events(r.text);
    assert.notEqual(ev.at(-1)?.data, "[DONE]");
    assert.equal(ev.at(-1)?.data.error.code, "pipeline_step_failed");
    assert.equal(ev.at(-1)?.data.error.param, "steps.b");
  });

  test("a template that reads a field the output lacks is a clear run-time error", async () => {
    const r = await post("/v1/pipelines/broken", { input: {} });
    assert.equal(r.status, 422, r.text);
    assert.equal((r.json as any).error.code, "pipeline_template_error");
    assert.match(
      (r.json as any).error.message,
      /pipeline 'broken', step 'b': request: steps\.a\.output\.json\.label is missing/,
    );
  });

  test("every step counts against the caller's limits", async () => {
    // sim-large allows 2 requests a minute: the third step of the chain is refused.
    const r = await post("/v1/pipelines/limited", { input: {} });
    assert.equal(r.status, 502, r.text);
    assert.match((r.json as any).error.message, /step 'z' failed: rate_limited/);
  });

  test("a pipeline job runs through the job service and worker", async () => {
    const sub = await post("/v1/jobs", {
      type: "pipeline",
      request: { pipeline: "qa", input: { question: "job" }, debug: true },
    });
    assert.equal(sub.status, 202, sub.text);
    let job: any;
    for (let i = 0; i < 100; i++) {
      job = (await call(url, `/v1/jobs/${(sub.json as any).id}`)).json;
      if (job.status === "SUCCESS" || job.status === "FAILED") break;
      await sleep(50);
    }
    assert.equal(job.status, "SUCCESS", JSON.stringify(job));
    assert.equal(job.type, "pipeline");
    assert.equal(job.result.object, "pipeline.run");
    assert.equal(job.result.output, job.result.steps.answer.output.text);
    const unknown = await post("/v1/jobs", { type: "pipeline", request: { pipeline: "nope" } });
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json as any).error.code, "pipeline_not_found");
    const bad = await post("/v1/jobs", { type: "pipeline", request: { pipeline: "qa", input: {} } });
    assert.equal(bad.status, 400);
    assert.equal((bad.json as any).error.param, "request.input.question");
  });

  test("metrics per pipeline and step", async () => {
    const res = await request(`${url}/metrics`);
    const text = await res.body.text();
    assert.match(text, /switchyard_pipeline_runs_total\{pipeline="qa",outcome="success"\} [1-9]/);
    assert.match(
      text,
      /switchyard_pipeline_runs_total\{pipeline="limited",outcome="pipeline_step_failed"\} 1/,
    );
    assert.match(
      text,
      /switchyard_pipeline_step_duration_seconds_count\{pipeline="qa",step="answer",status="succeeded"\} [1-9]/,
    );
    assert.match(
      text,
      /switchyard_pipeline_step_failures_total\{pipeline="failing",step="b",code="upstream_unavailable"\} 1/,
    );
    assert.match(
      text,
      /switchyard_pipeline_step_output_tokens_total\{pipeline="qa",step="answer",model="sim-small"\} [1-9]/,
    );
  });
});
