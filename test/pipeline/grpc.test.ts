// biome-ignore-all lint/suspicious/noExplicitAny: messages are read as loose objects in these tests
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { credentials, loadPackageDefinition, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { Gateway } from "../../src/app.js";
import { switchyardPackage } from "../../src/grpc/protos.js";
import type { Running } from "../helpers/proc.js";
import { simSaw, startPipelineGateway, startPipelineSim } from "./_helpers.js";

const PIPELINES = {
  qa: {
    inputs: { question: { type: "string" } },
    steps: {
      draft: { model: "sim-small", prompt: "{{ input.question }}", request: { max_tokens: 3 } },
      vec: { model: "sim-embed", input: "{{ input.question }}" },
      answer: {
        model: "sim-small",
        prompt: "{{ steps.draft.output.text }} {{ length(steps.vec.output.embedding) }}",
        request: { max_tokens: 5 },
      },
    },
    output: { text: "{{ steps.answer.output.text }}", dims: "{{ length(steps.vec.output.embedding) }}" },
  },
  slow: {
    steps: {
      wait: {
        model: "sim-small",
        prompt: "x",
        request: { max_tokens: 2 },
        headers: { "x-sim-fault": "delay=3000" },
      },
    },
  },
};

/** google.protobuf.Value (proto-loader object form) → JSON. */
function json(v: any): unknown {
  switch (v?.kind) {
    case "stringValue":
      return v.stringValue;
    case "numberValue":
      return v.numberValue;
    case "boolValue":
      return v.boolValue;
    case "listValue":
      return (v.listValue.values ?? []).map(json);
    case "structValue":
      return Object.fromEntries(Object.entries(v.structValue.fields ?? {}).map(([k, x]) => [k, json(x)]));
    default:
      return null;
  }
}

const struct = (o: Record<string, string>) => ({
  fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, { stringValue: v }])),
});

describe("the Pipelines gRPC service", () => {
  let sim: Running;
  let gw: Gateway;
  let client: any;
  before(async () => {
    sim = await startPipelineSim();
    ({ gw } = await startPipelineGateway(sim.url, PIPELINES));
    const pkg = loadPackageDefinition(switchyardPackage()) as any;
    client = new pkg.switchyard.v1.Pipelines(`127.0.0.1:${gw.grpcPort}`, credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    await gw?.close(500);
    await sim?.stop();
  });

  const unary = (method: string, req: unknown, md = new Metadata(), opts = {}) =>
    new Promise<{ res?: any; err?: ServiceError }>((resolve) =>
      client[method](req, md, opts, (err: ServiceError | null, res: any) =>
        resolve({ res, err: err ?? undefined }),
      ),
    );

  test("List answers the pipelines and their inputs", async () => {
    const { res, err } = await unary("List", {});
    assert.equal(err, undefined);
    const qa = res.pipelines.find((p: any) => p.name === "qa");
    assert.deepEqual(
      qa.steps.map((s: any) => [s.name, s.kind]),
      [
        ["draft", "chat"],
        ["vec", "embedding"],
        ["answer", "chat"],
      ],
    );
    assert.deepEqual(json({ kind: "structValue", structValue: qa.inputs }), {
      question: { type: "string", required: true },
    });
    assert.deepEqual(qa.stream_steps, ["answer"]);
  });

  test("Run answers the output, and every step's report with debug", async () => {
    const { res, err } = await unary("Run", { name: "qa", input: struct({ question: "hi" }), debug: true });
    assert.equal(err, undefined, err?.message);
    const out = json(res.output) as any;
    assert.equal(out.dims, 8);
    assert.equal(out.text, (json(res.steps.answer.output) as any).text);
    assert.equal(res.steps.answer.usage.completion_tokens, 5);
    assert.equal(res.steps.draft.status, "succeeded");
    assert.equal(
      res.usage.total_tokens,
      ["draft", "vec", "answer"].reduce((n, s) => n + res.steps[s].usage.total_tokens, 0),
    );
  });

  test("RunStream sends step events, the last step's tokens, then the result", async () => {
    const events: any[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.RunStream({ name: "qa", input: struct({ question: "stream" }) });
      call.on("data", (e: any) => events.push(e));
      call.on("error", reject);
      call.on("end", resolve);
    });
    const kinds = events.map((e) => e.event);
    assert.equal(kinds.at(-1), "result");
    const tokens = events.filter((e) => e.event === "token").map((e) => e.token.text);
    assert.equal(tokens.length, 5);
    assert.equal(tokens.join(""), (json(events.at(-1).result.output) as any).text);
    const started = events.filter((e) => e.event === "step_started").map((e) => e.step_started.step);
    assert.deepEqual([...started].sort(), ["answer", "draft", "vec"]);
    assert.ok(kinds.indexOf("token") > kinds.lastIndexOf("step_started"));
  });

  test("errors are statuses with the registry code", async () => {
    const missing = await unary("Run", { name: "nope" });
    assert.equal(missing.err?.code, status.NOT_FOUND);
    assert.deepEqual(missing.err?.metadata.get("x-switchyard-error-code"), ["pipeline_not_found"]);
    const bad = await unary("Run", { name: "qa", input: struct({ other: "x" }) });
    assert.equal(bad.err?.code, status.INVALID_ARGUMENT);
    assert.match(String(bad.err?.details), /input\.other|input\.question/);
  });

  test("the call's deadline bounds the run and aborts the step's upstream call", async () => {
    const md = new Metadata();
    md.set("x-request-id", `grpc-deadline-${process.pid}`);
    const t0 = Date.now();
    const { err } = await unary("Run", { name: "slow" }, md, { deadline: Date.now() + 200 });
    assert.equal(err?.code, status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - t0 < 2000);
    let saw: Awaited<ReturnType<typeof simSaw>>;
    for (let i = 0; i < 40; i++) {
      saw = await simSaw(sim, `grpc-deadline-${process.pid}.wait`);
      if (saw?.aborted) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(saw?.aborted, true);
  });
});
