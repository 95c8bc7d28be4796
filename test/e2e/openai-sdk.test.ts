import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { configFor, type Running, startGateway, startSim } from "../helpers/proc.js";

// The official OpenAI SDK as the client, against a gateway process in front of a `switchyard sim` process.
describe("OpenAI SDK against the gateway", () => {
  let sim: Running;
  let gw: Running;
  let client: OpenAI;

  before(async () => {
    sim = await startSim(["--model", "sim-small:instant", "--model", "sim-embed:embedding"]);
    // No retries and no breaker here: this suite checks how each upstream failure maps to the SDK's classes.
    const cfg = configFor(sim.url, { server: { bodyLimitBytes: 65536 } });
    for (const m of Object.values(cfg.models as Record<string, Record<string, unknown>>)) {
      m.retry = { maxAttempts: 1 };
      m.breaker = { enabled: false };
      m.outlier = { enabled: false };
    }
    gw = await startGateway(cfg);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "sk-test", maxRetries: 0 });
  });
  after(async () => {
    assert.equal(await gw.stop(), 0);
    await sim.stop();
  });

  test("chat completion returns text, usage, request id and traceparent", async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: "sim-small",
        messages: [{ role: "user", content: "hello there" }],
        seed: 7,
        max_tokens: 12,
      })
      .withResponse();
    assert.equal(response.status, 200);
    assert.ok((data.choices[0]?.message.content ?? "").length > 0);
    assert.ok(data.usage && data.usage.prompt_tokens > 0 && data.usage.completion_tokens > 0);
    assert.equal(data.usage.total_tokens, data.usage.prompt_tokens + data.usage.completion_tokens);
    assert.match(response.headers.get("x-request-id") ?? "", /^req_[0-9a-f]{24}$/);
    assert.match(response.headers.get("traceparent") ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  test("a streamed answer equals the non-streamed one and drops the usage chunk unless asked", async () => {
    const body = {
      model: "sim-small",
      messages: [{ role: "user" as const, content: "tell me" }],
      seed: 3,
      max_tokens: 20,
    };
    const whole = await client.chat.completions.create(body);
    const stream = await client.chat.completions.create({ ...body, stream: true });
    let text = "";
    let usageChunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usageChunks++;
    }
    assert.equal(text, whole.choices[0]?.message.content);
    assert.equal(usageChunks, 0);

    const withUsage = await client.chat.completions.create({
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    let last: OpenAI.Chat.Completions.ChatCompletionChunk | undefined;
    for await (const chunk of withUsage) last = chunk;
    assert.deepEqual(last?.choices, []);
    assert.equal(last?.usage?.completion_tokens, whole.usage?.completion_tokens);
  });

  test("completions, embeddings and models", async () => {
    const c = await client.completions.create({ model: "sim-small", prompt: "Once upon", max_tokens: 5 });
    assert.equal(c.object, "text_completion");
    assert.ok((c.choices[0]?.text ?? "").length > 0);
    assert.ok((c.usage?.completion_tokens ?? 0) <= 5);

    const e = await client.embeddings.create({ model: "sim-embed", input: ["a", "b", "c"] });
    assert.equal(e.data.length, 3);
    assert.deepEqual(
      e.data.map((d) => d.index),
      [0, 1, 2],
    );
    assert.ok((e.data[0]?.embedding.length ?? 0) > 0);

    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    assert.deepEqual(models.sort(), ["sim-embed", "sim-small"]);
  });

  test("gateway errors surface as the SDK's error classes", async () => {
    const call = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      client.chat.completions.create(body as never, { headers });
    const msg = [{ role: "user", content: "x" }];

    await assert.rejects(call({ model: "sim-small", messages: [] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.code, "invalid_request");
      assert.equal(err.param, "messages");
      return true;
    });
    await assert.rejects(call({ model: "nope", messages: msg }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.code, "model_not_found");
      return true;
    });
    await assert.rejects(
      call({ model: "sim-small", messages: [{ role: "user", content: "x".repeat(70_000) }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError);
        assert.equal(err.status, 413);
        assert.equal(err.code, "payload_too_large");
        return true;
      },
    );
    await assert.rejects(
      call({ model: "sim-small", messages: msg }, { "x-sim-fault": "status=401" }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.AuthenticationError);
        assert.equal(err.code, "upstream_rejected");
        return true;
      },
    );
    await assert.rejects(
      call({ model: "sim-small", messages: msg }, { "x-sim-fault": "status=429" }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.RateLimitError);
        assert.equal(err.code, "upstream_rate_limited");
        return true;
      },
    );
    await assert.rejects(
      call({ model: "sim-small", messages: msg }, { "x-sim-fault": "status=500" }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.InternalServerError);
        assert.equal(err.status, 502);
        assert.equal(err.code, "upstream_error");
        return true;
      },
    );
    await assert.rejects(
      call({ model: "sim-small", messages: msg, stream: true }, { "x-sim-fault": "status=503" }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.InternalServerError);
        assert.equal(err.status, 503);
        assert.equal(err.code, "upstream_unavailable");
        return true;
      },
    );
  });

  test("a stream cut by the upstream raises an error in the SDK instead of ending cleanly", async () => {
    const stream = await client.chat.completions.create(
      { model: "sim-small", messages: [{ role: "user", content: "long" }], max_tokens: 30, stream: true },
      { headers: { "x-sim-fault": "reset-after=3" } },
    );
    let chunks = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of stream) chunks++;
      })(),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError);
        assert.equal((err.error as { code?: string }).code, "stream_interrupted");
        return true;
      },
    );
    assert.ok(chunks >= 1);
  });
});
