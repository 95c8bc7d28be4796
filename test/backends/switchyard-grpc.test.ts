import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import { call, type Json } from "../helpers/http.js";
import { type Running, startGateway } from "../helpers/proc.js";
import { type GrpcSim, startGrpcSim } from "./_helpers.js";

// gateway → switchyard-grpc → `switchyard sim` serving switchyard.v1.Inference.

async function sse(url: string, body: Json): Promise<{ status: number; events: string[] }> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  const events = text
    .split("\n\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => e.slice(6));
  return { status: res.statusCode, events };
}

describe("switchyard-grpc backend through the gateway", () => {
  let sim: GrpcSim;
  let gw: Running;
  before(async () => {
    sim = await startGrpcSim(["chat:instant", "emb:embedding"]);
    const ep = (model: string) => ({ kind: "switchyard-grpc", target: sim.grpcTarget, model, channels: 2 });
    gw = await startGateway({
      logging: { level: "warn" },
      models: {
        "g-chat": { endpoints: [ep("chat")], retry: { maxAttempts: 1 } },
        "g-embed": { type: "embedding", endpoints: [ep("emb")] },
        // The same sim over HTTP, to compare answers.
        "h-chat": { endpoints: [{ kind: "openai", url: `${sim.url}/v1`, model: "chat" }] },
        "h-embed": { type: "embedding", endpoints: [{ kind: "openai", url: `${sim.url}/v1`, model: "emb" }] },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  const chatBody = (model: string, extra: Json = {}) => ({
    model,
    messages: [
      { role: "system", content: "be brief" },
      { role: "user", content: "Tell me about trains." },
    ],
    max_tokens: 7,
    seed: 11,
    ...extra,
  });

  test("chat: the same answer as over HTTP, with usage", async () => {
    const g = await call(gw.url, "/v1/chat/completions", { body: chatBody("g-chat") });
    const h = await call(gw.url, "/v1/chat/completions", { body: chatBody("h-chat") });
    assert.equal(g.status, 200, g.text);
    const gc = (g.json.choices as Json[])[0] as Json;
    const hc = (h.json.choices as Json[])[0] as Json;
    assert.deepEqual(gc.message, hc.message);
    assert.equal(gc.finish_reason, "length");
    assert.deepEqual(g.json.usage, h.json.usage);
    assert.equal((g.json.usage as Json).completion_tokens, 7);
    assert.equal(g.json.object, "chat.completion");
  });

  test("chat stream: chunks become SSE events in order, usage only when asked", async () => {
    const plain = await sse(gw.url, chatBody("g-chat", { stream: true }));
    assert.equal(plain.status, 200);
    assert.equal(plain.events.at(-1), "[DONE]");
    const chunks = plain.events.slice(0, -1).map((e) => JSON.parse(e) as Json);
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk" && !c.usage));
    const text = chunks
      .map((c) => ((c.choices as Json[])[0]?.delta as Json | undefined)?.content ?? "")
      .join("");
    const whole = await call(gw.url, "/v1/chat/completions", { body: chatBody("g-chat") });
    assert.equal(text, (((whole.json.choices as Json[])[0] as Json).message as Json).content);
    const withUsage = await sse(
      gw.url,
      chatBody("g-chat", { stream: true, stream_options: { include_usage: true } }),
    );
    const last = JSON.parse(withUsage.events.at(-2) as string) as Json;
    assert.deepEqual(last.choices, []);
    assert.equal((last.usage as Json).completion_tokens, 7);
  });

  test("completions and embeddings", async () => {
    const comp = await call(gw.url, "/v1/completions", {
      body: { model: "g-chat", prompt: "Once", max_tokens: 3 },
    });
    assert.equal(comp.status, 200, comp.text);
    assert.equal((comp.json.usage as Json).completion_tokens, 3);
    const input = ["first text", "second text"];
    const g = await call(gw.url, "/v1/embeddings", { body: { model: "g-embed", input } });
    const h = await call(gw.url, "/v1/embeddings", { body: { model: "h-embed", input } });
    assert.equal(g.status, 200, g.text);
    const gv = (g.json.data as Json[]).map((d) => d.embedding as number[]);
    const hv = (h.json.data as Json[]).map((d) => (d.embedding as number[]).map(Math.fround));
    assert.equal(gv.length, 2);
    assert.deepEqual(gv, hv);
    assert.deepEqual(g.json.usage, h.json.usage);
  });

  test("headers gRPC metadata cannot carry: tracestate is dropped, a forwarded header is 400, never a 500", async () => {
    // A latin-1 byte (obs-text) reaches the gateway intact over HTTP/1.1; grpc-js refuses it.
    const latin1 = "v=\u00e9";
    const traced = await call(gw.url, "/v1/chat/completions", {
      body: chatBody("g-chat"),
      headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: latin1 },
    });
    assert.equal(traced.status, 200, traced.text);
    const forwarded = await call(gw.url, "/v1/chat/completions", {
      body: chatBody("g-chat"),
      headers: { "x-sim-fault": latin1 },
    });
    assert.equal(forwarded.status, 400, forwarded.text);
    const err = (forwarded.json as { error: { code: string; param: string } }).error;
    assert.equal(err.code, "invalid_header");
    assert.equal(err.param, "x-sim-fault");
  });

  test("an upstream error status maps to the gateway's code", async () => {
    const r = await call(gw.url, "/v1/chat/completions", {
      body: chatBody("g-chat"),
      headers: { "x-sim-fault": "status=429" },
    });
    assert.equal(r.status, 429);
    assert.equal((r.json.error as Json).code, "upstream_rate_limited");
    const bad = await call(gw.url, "/v1/chat/completions", {
      body: chatBody("g-chat"),
      headers: { "x-sim-fault": "status=400" },
    });
    assert.equal(bad.status, 400);
    assert.equal((bad.json.error as Json).code, "upstream_rejected");
  });
});
