import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, makeGenericClientConstructor, type ServiceError, status } from "@grpc/grpc-js";
import { request } from "undici";
import type { ChatChunk__Output } from "../../src/grpc/generated/switchyard/v1/ChatChunk.js";
import { configFor, type Running, startGateway, startSim } from "../helpers/proc.js";
import { type Clients, collect, connect, metadata, trailer } from "./_helpers.js";

const hi = { role: "user", content: "Say something." };

async function simRecord(sim: Running, id: string): Promise<Record<string, unknown>> {
  const res = await request(`${sim.url}/sim/requests/${id}`);
  return (await res.body.json()) as Record<string, unknown>;
}

describe("gRPC Inference over the sim", () => {
  let sim: Running;
  let gw: Running;
  let c: Clients;
  before(async () => {
    sim = await startSim(["--model", "sim-small:instant", "--model", "sim-embed:embedding"]);
    gw = await startGateway(configFor(sim.url, { logging: { level: "info", accessLog: true } }));
    assert.ok(gw.grpcPort && gw.grpcPort > 0, "the ready line reports the gRPC port");
    c = connect(gw.grpcPort);
  });
  after(async () => {
    c?.close();
    await gw?.stop();
    await sim?.stop();
  });

  test("Chat answers with choices, finish_reason and usage; ids and trace come back as metadata", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const md = metadata({
      "x-request-id": "grpc-chat-1",
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    const r = await c.chat({ model: "sim-small", messages: [hi], max_tokens: 6 }, md);
    assert.equal(r.error, undefined, r.error?.details);
    const res = r.response!;
    assert.equal(res.object, "chat.completion");
    assert.equal(res.model, "sim-small");
    assert.equal(res.choices?.length, 1);
    const choice = res.choices![0]!;
    assert.equal(choice.message?.role, "assistant");
    assert.ok((choice.message?.content ?? "").length > 0);
    assert.ok(["stop", "length"].includes(choice.finish_reason ?? ""));
    assert.ok((res.usage?.prompt_tokens ?? 0) > 0);
    assert.ok((res.usage?.completion_tokens ?? 0) > 0 && (res.usage?.completion_tokens ?? 0) <= 6);
    assert.equal(
      res.usage?.total_tokens,
      (res.usage?.prompt_tokens ?? 0) + (res.usage?.completion_tokens ?? 0),
    );
    assert.equal(r.headers.get("x-request-id")[0], "grpc-chat-1");
    assert.match(String(r.headers.get("traceparent")[0]), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    // The same request id reached the upstream.
    assert.equal((await simRecord(sim, "grpc-chat-1")).status, 200);
  });

  test("ChatStream sends the chunks in order and usage on the last message", async () => {
    const stream = c.inference.ChatStream({ model: "sim-small", messages: [hi], max_tokens: 8, seed: 7 });
    const { messages, error } = await collect<ChatChunk__Output>(stream);
    assert.equal(error, undefined, error?.details);
    assert.ok(messages.length >= 3, `only ${messages.length} messages`);
    assert.equal(messages[0]!.choices?.[0]?.delta?.role, "assistant");
    const last = messages.at(-1)!;
    assert.ok(last.usage, "the last message carries usage");
    for (const m of messages.slice(0, -1))
      assert.equal(m.usage, undefined, "only the last message has usage");
    const content = messages.flatMap((m) => m.choices ?? []).map((ch) => ch.delta?.content ?? "");
    const pieces = content.filter((s) => s.length > 0);
    assert.equal(pieces.length, last.usage!.completion_tokens, "one message per token chunk");
    const finish = messages
      .flatMap((m) => m.choices ?? [])
      .map((ch) => ch.finish_reason)
      .filter(Boolean);
    assert.equal(finish.length, 1, "exactly one chunk ends the choice");
    // Order: the streamed text equals the unary answer to the same seeded request.
    const whole = await c.chat({
      model: "sim-small",
      messages: [hi],
      max_tokens: 8,
      seed: 7,
    });
    assert.equal(pieces.join(""), whole.response?.choices?.[0]?.message?.content);
  });

  test("Embed returns one float vector per input", async () => {
    const r = await c.embed({ model: "sim-embed", input: ["alpha", "beta gamma"] });
    assert.equal(r.error, undefined, r.error?.details);
    const data = r.response!.data ?? [];
    assert.deepEqual(
      data.map((d) => d.index ?? 0),
      [0, 1],
    );
    const dims = data[0]!.embedding?.length ?? 0;
    assert.ok(dims > 0);
    assert.equal(data[1]!.embedding?.length, dims);
    assert.ok(data[0]!.embedding!.every((x) => Number.isFinite(x)));
    assert.ok((r.response!.usage?.prompt_tokens ?? 0) > 0);
  });

  test("Complete answers a text prompt with sampling fields and extra parameters", async () => {
    const r = await c.complete(
      {
        model: "sim-small",
        prompt: ["Once upon a time"],
        max_tokens: 5,
        temperature: 0.5,
        stop: ["\n\n"],
        extra: { fields: { top_k: { numberValue: 20 } } },
      },
      metadata({ "x-request-id": "grpc-complete-1" }),
    );
    assert.equal(r.error, undefined, r.error?.details);
    assert.equal(r.response!.object, "text_completion");
    assert.ok((r.response!.choices?.[0]?.text ?? "").length > 0);
    assert.ok((r.response!.usage?.completion_tokens ?? 0) > 0);
  });

  test("extra is merged into the request: checked like HTTP, and a typed field wins over it", async () => {
    const bad = await c.chat({
      model: "sim-small",
      messages: [hi],
      extra: { fields: { presence_penalty: { numberValue: 9 } } },
    });
    assert.equal(bad.error?.code, status.INVALID_ARGUMENT);
    assert.match(bad.error?.details ?? "", /presence_penalty/);
    const typedWins = await c.chat({
      model: "sim-small",
      messages: [hi],
      max_tokens: 3,
      extra: { fields: { max_tokens: { numberValue: 0 }, stream: { boolValue: true } } },
    });
    assert.equal(typedWins.error, undefined, typedWins.error?.details);
    assert.ok((typedWins.response?.usage?.completion_tokens ?? 0) <= 3);
  });

  test("an extra field named __proto__ is a field like any other, never the body's prototype", async () => {
    // Over HTTP, JSON.parse keeps "__proto__" as an own field that is passed through. Merged from a
    // Struct by assignment it would become the prototype, and validation would read its fields.
    const res = await c.chat({
      model: "sim-small",
      messages: [hi],
      extra: {
        fields: {
          ["__proto__"]: { structValue: { fields: { max_tokens: { stringValue: "not a number" } } } },
        },
      },
    });
    assert.equal(res.error, undefined, res.error?.details);
    assert.equal(res.response?.object, "chat.completion");
    assert.equal(({} as Record<string, unknown>).max_tokens, undefined, "Object.prototype untouched");
  });

  test("a message that does not decode is INVALID_ARGUMENT invalid_request, unary and streaming", async () => {
    const raw = (b: Buffer) => b;
    const method = (name: string, stream: boolean) => ({
      path: `/switchyard.v1.Inference/${name}`,
      requestStream: false,
      responseStream: stream,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    });
    const Raw = makeGenericClientConstructor(
      { chat: method("Chat", false), chatStream: method("ChatStream", true) },
      "Raw",
    );
    const client = new Raw(`127.0.0.1:${gw.grpcPort}`, credentials.createInsecure()) as unknown as {
      chat(b: Buffer, cb: (e: ServiceError | null) => void): void;
      chatStream(b: Buffer): NodeJS.EventEmitter;
      close(): void;
    };
    try {
      // A length-delimited field whose length runs past the end of the message.
      const garbage = Buffer.from([0x0a, 0x80]);
      const unaryErr = await new Promise<ServiceError | null>((resolve) => client.chat(garbage, resolve));
      assert.equal(unaryErr?.code, status.INVALID_ARGUMENT, unaryErr?.details);
      assert.match(unaryErr?.details ?? "", /not a valid Chat request/);
      assert.equal(unaryErr?.metadata.get("x-switchyard-error-code")[0], "invalid_request");
      assert.match(String(unaryErr?.metadata.get("trace-id")[0]), /^[0-9a-f]{32}$/);
      const streamErr = await new Promise<ServiceError>((resolve) => {
        const call = client.chatStream(Buffer.from("not protobuf at all"));
        call.on("data", () => {});
        call.on("error", resolve);
      });
      assert.equal(streamErr.code, status.INVALID_ARGUMENT, streamErr.details);
      assert.match(streamErr.details, /not a valid ChatStream request/);
    } finally {
      client.close();
    }
  });

  test("errors carry the registry's status and the error code in trailers", async () => {
    const unknown = await c.chat({ model: "no-such-model", messages: [hi] });
    assert.equal(unknown.error?.code, status.NOT_FOUND);
    assert.equal(trailer(unknown.error, "x-switchyard-error-code"), "model_not_found");
    assert.match(trailer(unknown.error, "trace-id") ?? "", /^[0-9a-f]{32}$/);

    const bad = await c.chat({ model: "sim-small", messages: [hi], temperature: 5 });
    assert.equal(bad.error?.code, status.INVALID_ARGUMENT);
    assert.equal(trailer(bad.error, "x-switchyard-error-code"), "invalid_request");
    assert.match(bad.error?.details ?? "", /temperature/);

    const noRole = await c.chat({ model: "sim-small", messages: [{ content: "x" }] });
    assert.equal(noRole.error?.code, status.INVALID_ARGUMENT);
    assert.match(noRole.error?.details ?? "", /messages\[0\]\.role/);

    const wrongType = await c.embed({ model: "sim-small", input: ["x"] });
    assert.equal(wrongType.error?.code, status.INVALID_ARGUMENT);
    assert.equal(trailer(wrongType.error, "x-switchyard-error-code"), "model_wrong_type");

    const streamed = await collect(c.inference.ChatStream({ model: "no-such-model", messages: [hi] }));
    assert.equal(streamed.messages.length, 0);
    assert.equal(streamed.error?.code, status.NOT_FOUND);
    assert.equal(trailer(streamed.error, "x-switchyard-error-code"), "model_not_found");
  });

  test("a client deadline of 200 ms on a hanging upstream: DEADLINE_EXCEEDED, and the upstream call is cancelled", async () => {
    const id = "grpc-deadline-1";
    const started = Date.now();
    const r = await c.chat(
      { model: "sim-small", messages: [hi], max_tokens: 4 },
      metadata({ "x-request-id": id, "x-sim-fault": "hang" }),
      { deadline: Date.now() + 200 },
    );
    assert.equal(r.error?.code, status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 2_000);
    // The gateway aborted its upstream request: the sim saw the client (the gateway) go away.
    let rec: Record<string, unknown> = {};
    for (let i = 0; i < 50; i++) {
      rec = await simRecord(sim, id);
      if (rec.aborted === true) break;
      await sleep(40);
    }
    assert.equal(rec.aborted, true, JSON.stringify(rec));
    assert.equal(typeof rec.closedByClientAt, "number");
    // Access lines are written in batches: wait for this one.
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !line; i++) {
      line = gw.lines.find((l) => l.request_id === id && l.protocol === "grpc");
      if (!line) await sleep(40);
    }
    assert.equal(line?.error_code, "deadline_exceeded", "the access line names the error");
    assert.equal(line?.grpc_status, status.DEADLINE_EXCEEDED);
  });

  test("the deadline metadata header shortens the call the same way", async () => {
    const id = "grpc-deadline-2";
    const r = await c.chat(
      { model: "sim-small", messages: [hi], max_tokens: 4 },
      metadata({ "x-request-id": id, "x-sim-fault": "hang", "x-switchyard-timeout-ms": "150" }),
    );
    assert.equal(r.error?.code, status.DEADLINE_EXCEEDED);
    assert.equal(trailer(r.error, "x-switchyard-error-code"), "deadline_exceeded");
  });

  test("cancelling a stream mid-way cancels the upstream stream", async () => {
    const id = "grpc-cancel-1";
    const stream = c.inference.ChatStream(
      { model: "sim-small", messages: [hi], max_tokens: 64 },
      metadata({ "x-request-id": id, "x-sim-fault": "hang-after=2" }),
    );
    await new Promise<void>((resolve) => stream.once("data", () => resolve()));
    stream.on("error", () => {});
    stream.cancel();
    let rec: Record<string, unknown> = {};
    for (let i = 0; i < 50; i++) {
      rec = await simRecord(sim, id);
      if (rec.aborted === true) break;
      await sleep(40);
    }
    assert.equal(rec.aborted, true, JSON.stringify(rec));
  });
});
