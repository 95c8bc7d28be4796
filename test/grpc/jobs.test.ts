import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { Job__Output } from "../../src/grpc/generated/switchyard/v1/Job.js";
import { configFor, type Running, startGateway, startSim } from "../helpers/proc.js";
import { type Clients, collect, connect, metadata, trailer } from "./_helpers.js";

const chatJob = (content: string) => ({
  chat: { model: "sim-small", messages: [{ role: "user", content }], max_tokens: 6 },
});

describe("gRPC Jobs", () => {
  let sim: Running;
  let gw: Running;
  let c: Clients;
  before(async () => {
    sim = await startSim(["--model", "sim-small:instant", "--model", "sim-embed:embedding"]);
    gw = await startGateway(
      configFor(sim.url, {
        logging: { level: "warn" },
        jobs: { pollIntervalMs: 50 },
        pipelines: {
          echo: {
            inputs: { q: { type: "string", maxLength: 50 } },
            steps: { say: { model: "sim-small", prompt: "{{ input.q }}", request: { max_tokens: 4 } } },
            output: { q: "{{ input.q }}", text: "{{ steps.say.output.text }}" },
          },
        },
      }),
    );
    c = connect(gw.grpcPort!);
  });
  after(async () => {
    c?.close();
    await gw?.stop();
    await sim?.stop();
  });

  test("Submit, then Watch until SUCCESS; Get returns the chat answer", async () => {
    const submitted = await c.submit({ ...chatJob("watch me"), metadata: { team: "a" } });
    assert.equal(submitted.error, undefined, submitted.error?.details);
    const job = submitted.response!;
    assert.match(job.id ?? "", /^job_/);
    assert.equal(job.type, "chat.completion");
    assert.ok(["JOB_STATUS_PENDING", "JOB_STATUS_RUNNING", "JOB_STATUS_SUCCESS"].includes(job.status ?? ""));
    assert.deepEqual(job.metadata, { team: "a" });

    const watched = await collect<Job__Output>(
      c.jobs.Watch({ id: job.id }, { deadline: Date.now() + 15_000 }),
    );
    assert.equal(watched.error, undefined, watched.error?.details);
    const states = watched.messages.map((m) => m.status);
    assert.equal(states.at(-1), "JOB_STATUS_SUCCESS", states.join(","));
    assert.equal(new Set(states).size, states.length, "each state change is sent once");
    const final = watched.messages.at(-1)!;
    assert.equal(final.result, "chat");
    assert.ok((final.chat?.choices?.[0]?.message?.content ?? "").length > 0);

    const got = await c.get(job.id!);
    assert.equal(got.response?.status, "JOB_STATUS_SUCCESS");
    assert.equal(got.response?.attempts, 1);
    assert.ok((got.response?.finished_at?.seconds ?? 0) > 0);
    assert.equal(
      got.response?.chat?.choices?.[0]?.message?.content,
      final.chat?.choices?.[0]?.message?.content,
    );
  });

  test("an embedding job's result is an EmbedResponse", async () => {
    const sub = await c.submit({ embedding: { model: "sim-embed", input: ["x", "y"] } });
    assert.equal(sub.error, undefined, sub.error?.details);
    const watched = await collect<Job__Output>(
      c.jobs.Watch({ id: sub.response!.id }, { deadline: Date.now() + 15_000 }),
    );
    const final = watched.messages.at(-1)!;
    assert.equal(final.status, "JOB_STATUS_SUCCESS");
    assert.equal(final.embedding?.data?.length, 2);
  });

  test("a pipeline job runs the configured pipeline; its result is a PipelineRun", async () => {
    const input = { fields: { q: { stringValue: "from grpc" } } };
    const sub = await c.submit({ pipeline: { name: "echo", input, debug: true } });
    assert.equal(sub.error, undefined, sub.error?.details);
    assert.equal(sub.response?.type, "pipeline");
    const watched = await collect<Job__Output>(
      c.jobs.Watch({ id: sub.response!.id }, { deadline: Date.now() + 15_000 }),
    );
    const final = watched.messages.at(-1)!;
    assert.equal(final.status, "JOB_STATUS_SUCCESS", JSON.stringify(final.error));
    assert.equal(final.result, "pipeline");
    assert.equal(final.pipeline?.pipeline, "echo");
    const out = final.pipeline?.output?.structValue?.fields ?? {};
    assert.equal(out.q?.stringValue, "from grpc");
    assert.ok((out.text?.stringValue ?? "").length > 0);
    assert.ok((final.pipeline?.usage?.total_tokens ?? 0) > 0);
    assert.equal(final.pipeline?.steps?.say?.status, "succeeded");

    // Checked before it is accepted, as over HTTP.
    const unknown = await c.submit({ pipeline: { name: "nope", input } });
    assert.equal(unknown.error?.code, status.NOT_FOUND, unknown.error?.details);
    const tooLong = { fields: { q: { stringValue: "x".repeat(51) } } };
    const bad = await c.submit({ pipeline: { name: "echo", input: tooLong } });
    assert.equal(bad.error?.code, status.INVALID_ARGUMENT, bad.error?.details);
    assert.equal(trailer(bad.error, "x-switchyard-error-code"), "invalid_request");
    // A Struct nested past the gateway's limit (64 Struct and Value levels; 33 objects here, within
    // what protobuf itself carries) is the client's error, not an INTERNAL one.
    let deep: Record<string, unknown> = { stringValue: "bottom" };
    for (let i = 0; i < 33; i++) deep = { structValue: { fields: { d: deep } } };
    const nested = await c.submit({ pipeline: { name: "echo", input: { fields: { q: deep } } } });
    assert.equal(nested.error?.code, status.INVALID_ARGUMENT, `${nested.error?.details}`);
    assert.match(nested.error?.details ?? "", /nests deeper than 64/);
    const none = await c.submit({});
    assert.equal(none.error?.code, status.INVALID_ARGUMENT);
    assert.match(none.error?.details ?? "", /'pipeline'/);
  });

  test("the idempotency-key metadata returns the same job; another request with that key is refused", async () => {
    const key = `grpc-idem-${process.pid}`;
    const first = await c.submit(chatJob("once"), metadata({ "idempotency-key": key }));
    assert.equal(first.error, undefined, first.error?.details);
    assert.equal(first.headers.get("idempotent-replayed").length, 0);
    const again = await c.submit(chatJob("once"), metadata({ "idempotency-key": key }));
    assert.equal(again.response?.id, first.response?.id);
    assert.equal(again.headers.get("idempotent-replayed")[0], "true");
    const other = await c.submit(chatJob("something else"), metadata({ "idempotency-key": key }));
    assert.equal(other.error?.code, status.INVALID_ARGUMENT);
    assert.equal(trailer(other.error, "x-switchyard-error-code"), "idempotency_key_reused");
  });

  test("Cancel stops a job that has not run; unknown ids and bad submissions are refused", async () => {
    const later = { seconds: Math.floor(Date.now() / 1000) + 3600 };
    const sub = await c.submit({ ...chatJob("later"), run_after: later });
    assert.equal(sub.response?.status, "JOB_STATUS_PENDING");
    assert.equal(sub.response?.run_after?.seconds, later.seconds);
    const cancelled = await c.cancel(sub.response!.id!);
    assert.equal(cancelled.response?.status, "JOB_STATUS_CANCELLED");

    const missing = await c.get("job_does_not_exist");
    assert.equal(missing.error?.code, status.NOT_FOUND);
    assert.equal(trailer(missing.error, "x-switchyard-error-code"), "job_not_found");

    const empty = await c.submit({ priority: 1 });
    assert.equal(empty.error?.code, status.INVALID_ARGUMENT);
    const unknownModel = await c.submit({
      chat: { model: "nope", messages: [{ role: "user", content: "x" }] },
    });
    assert.equal(unknownModel.error?.code, status.NOT_FOUND);
  });

  test("Timestamps outside the protobuf range are INVALID_ARGUMENT", async () => {
    for (const [field, ts, pattern] of [
      ["run_after", { seconds: 9e18 }, /0001-01-01 to 9999-12-31/],
      ["run_after", { seconds: 1, nanos: -5 }, /nanos/],
      ["deadline", { seconds: 4102444800, nanos: 2_000_000_000 }, /nanos/],
    ] as const) {
      const before = await c.submit({ ...chatJob("range"), [field]: ts });
      assert.equal(before.error?.code, status.INVALID_ARGUMENT, `${field} ${JSON.stringify(ts)}`);
      assert.match(before.error?.details ?? "", pattern);
      assert.equal(trailer(before.error, "x-switchyard-error-code"), "invalid_request");
    }
    // A fractional time is kept to the millisecond.
    const ok = await c.submit({ ...chatJob("fraction"), run_after: { seconds: 1, nanos: 999_999_995 } });
    assert.equal(ok.error, undefined, ok.error?.details);
    assert.equal(ok.response?.status, "JOB_STATUS_PENDING");
  });
});
