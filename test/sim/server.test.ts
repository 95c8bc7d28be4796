import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { tokenize } from "../../src/sim/tokenizer.js";
import { chat, readSse, sleep, sseData, startTestSim, type TestSim } from "./_helpers.js";

describe("sim server: answers", () => {
  let sim: TestSim;
  before(async () => {
    sim = await startTestSim({
      fast: { preset: "instant", defaultMaxTokens: 40 },
      emb: { preset: "embedding", embedding: { dimensions: 8, perCallMs: 0, perItemMs: 0 } },
    });
  });
  after(() => sim.server.close());

  it("same prompt and seed give the same text; another seed gives another", async () => {
    const text = async (body: Record<string, unknown>) => {
      const res = await sim.post("/v1/chat/completions", body);
      assert.equal(res.status, 200);
      return ((await res.json()) as { choices: [{ message: { content: string } }] }).choices[0].message
        .content;
    };
    const a = await text(chat("fast", "tell me a story"));
    assert.equal(await text(chat("fast", "tell me a story")), a);
    assert.notEqual(await text(chat("fast", "tell me a story", { seed: 7 })), a);
    assert.equal(
      await text(chat("fast", "tell me a story", { seed: 7 })),
      await text(chat("fast", "tell me a story", { seed: 7 })),
    );
  });

  it("usage counts the prompt exactly and the tokens produced", async () => {
    const res = await sim.post("/v1/chat/completions", chat("fast", "Hello, world! How are you?"));
    const body = (await res.json()) as {
      object: string;
      model: string;
      choices: [{ message: { role: string; content: string }; finish_reason: string }];
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    };
    assert.equal(body.object, "chat.completion");
    assert.equal(body.model, "fast");
    assert.equal(body.choices[0].message.role, "assistant");
    assert.equal(body.choices[0].finish_reason, "stop");
    assert.equal(body.usage.prompt_tokens, 4 + 8);
    assert.equal(body.usage.completion_tokens, tokenize(body.choices[0].message.content).length);
    assert.ok(body.usage.completion_tokens >= 1 && body.usage.completion_tokens <= 40);
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it("max_tokens and max_completion_tokens cap the output with finish_reason length", async () => {
    for (const key of ["max_tokens", "max_completion_tokens"]) {
      const res = await sim.post("/v1/chat/completions", chat("fast", "x", { [key]: 5 }));
      const body = (await res.json()) as {
        choices: [{ finish_reason: string }];
        usage: { completion_tokens: number };
      };
      assert.equal(body.choices[0].finish_reason, "length");
      assert.equal(body.usage.completion_tokens, 5);
    }
    const res = await sim.post("/v1/completions", { model: "fast", prompt: "Once upon", max_tokens: 3 });
    const body = (await res.json()) as {
      object: string;
      choices: [{ text: string; finish_reason: string }];
      usage: { prompt_tokens: number };
    };
    assert.equal(body.object, "text_completion");
    assert.equal(tokenize(body.choices[0].text).length, 3);
    assert.equal(body.usage.prompt_tokens, 2);
  });

  it("streams a role chunk, one chunk per token, a finish chunk, a usage chunk and [DONE]", async () => {
    const res = await sim.post(
      "/v1/chat/completions",
      chat("fast", "stream please", { stream: true, max_tokens: 4, stream_options: { include_usage: true } }),
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = sseData(await res.text());
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.equal(chunks.length, 1 + 4 + 1 + 1);
    assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
    for (const c of chunks.slice(1, 5)) {
      assert.equal(c.object, "chat.completion.chunk");
      assert.equal(tokenize(c.choices[0].delta.content).length, 1);
    }
    assert.equal(chunks[5].choices[0].finish_reason, "length");
    assert.deepEqual(chunks[6].choices, []);
    assert.deepEqual(chunks[6].usage, { prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 });
    assert.ok(chunks.every((c) => c.id === chunks[0].id));
  });

  it("streams completions without usage unless asked", async () => {
    const res = await sim.post("/v1/completions", {
      model: "fast",
      prompt: "abc",
      stream: true,
      max_tokens: 2,
    });
    const events = sseData(await res.text());
    assert.equal(events.length, 2 + 1 + 1);
    const finish = JSON.parse(events[2]!);
    assert.equal(finish.object, "text_completion");
    assert.equal(finish.choices[0].finish_reason, "length");
    assert.equal(finish.usage, undefined);
  });

  it("embeds deterministically, unit length, float and base64", async () => {
    const res = await sim.post("/v1/embeddings", { model: "emb", input: ["alpha beta", "gamma"] });
    const body = (await res.json()) as {
      object: string;
      data: Array<{ index: number; embedding: number[] }>;
      usage: { prompt_tokens: number };
    };
    assert.equal(body.object, "list");
    assert.equal(body.data.length, 2);
    assert.equal(body.data[1]!.index, 1);
    assert.equal(body.usage.prompt_tokens, 3);
    const v = body.data[0]!.embedding;
    assert.equal(v.length, 8);
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-4);
    const again = (await (
      await sim.post("/v1/embeddings", { model: "emb", input: "alpha beta" })
    ).json()) as typeof body;
    assert.deepEqual(again.data[0]!.embedding, v);
    const b64 = (await (
      await sim.post("/v1/embeddings", { model: "emb", input: "alpha beta", encoding_format: "base64" })
    ).json()) as { data: [{ embedding: string }] };
    const buf = Buffer.from(b64.data[0].embedding, "base64");
    const floats = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    assert.equal(floats.length, 8);
    for (const [i, f] of floats.entries()) assert.ok(Math.abs(f - v[i]!) < 1e-6);
    const small = (await (
      await sim.post("/v1/embeddings", { model: "emb", input: "x", dimensions: 3 })
    ).json()) as typeof body;
    assert.equal(small.data[0]!.embedding.length, 3);
  });

  it("lists models and answers health", async () => {
    const models = (await (await sim.get("/v1/models")).json()) as {
      data: Array<{ id: string; object: string }>;
    };
    assert.deepEqual(
      models.data.map((m) => m.id),
      ["fast", "emb"],
    );
    const health = await sim.get("/health");
    assert.equal(health.status, 200);
  });
});

describe("sim server: bad requests", () => {
  let sim: TestSim;
  before(async () => {
    sim = await startTestSim(
      { fast: { preset: "instant" }, emb: { preset: "embedding" } },
      { bodyLimitBytes: 4096 },
    );
  });
  after(() => sim.server.close());

  const cases: Array<[string, string, unknown, number, string | null]> = [
    ["bad JSON", "/v1/chat/completions", "{nope", 400, null],
    ["not an object", "/v1/chat/completions", "[1]", 400, null],
    ["missing model", "/v1/chat/completions", { messages: [{ role: "user", content: "x" }] }, 400, "model"],
    ["unknown model", "/v1/chat/completions", chat("nope", "x"), 404, "model"],
    ["missing messages", "/v1/chat/completions", { model: "fast" }, 400, "messages"],
    ["empty messages", "/v1/chat/completions", { model: "fast", messages: [] }, 400, "messages"],
    [
      "bad role",
      "/v1/chat/completions",
      { model: "fast", messages: [{ role: "robot", content: "x" }] },
      400,
      "messages[0].role",
    ],
    [
      "missing content",
      "/v1/chat/completions",
      { model: "fast", messages: [{ role: "user" }] },
      400,
      "messages[0].content",
    ],
    ["n > 1", "/v1/chat/completions", chat("fast", "x", { n: 2 }), 400, "n"],
    ["max_tokens 0", "/v1/chat/completions", chat("fast", "x", { max_tokens: 0 }), 400, "max_tokens"],
    ["max_tokens text", "/v1/chat/completions", chat("fast", "x", { max_tokens: "5" }), 400, "max_tokens"],
    ["too long", "/v1/chat/completions", chat("fast", "x", { max_tokens: 10_000_000 }), 400, "max_tokens"],
    ["stream not boolean", "/v1/chat/completions", chat("fast", "x", { stream: "yes" }), 400, "stream"],
    ["missing prompt", "/v1/completions", { model: "fast" }, 400, "prompt"],
    ["chat on embedding model", "/v1/chat/completions", chat("emb", "x"), 400, "model"],
    ["embeddings on chat model", "/v1/embeddings", { model: "fast", input: "x" }, 400, "model"],
    ["missing input", "/v1/embeddings", { model: "emb" }, 400, "input"],
    ["empty input", "/v1/embeddings", { model: "emb", input: "" }, 400, "input"],
    [
      "bad encoding",
      "/v1/embeddings",
      { model: "emb", input: "x", encoding_format: "hex" },
      400,
      "encoding_format",
    ],
    ["too large", "/v1/chat/completions", chat("fast", "x".repeat(5000)), 413, null],
  ];
  for (const [name, path, body, status, param] of cases) {
    it(`${name} -> ${status}`, async () => {
      const res = await sim.post(path, body);
      assert.equal(res.status, status);
      const err = (
        (await res.json()) as {
          error: { message: string; type: string; param: string | null; code: string | null };
        }
      ).error;
      assert.equal(typeof err.message, "string");
      assert.equal(err.type, "invalid_request_error");
      assert.equal(err.param, param);
    });
  }

  it("unknown routes are 404 and wrong methods 405", async () => {
    assert.equal((await sim.get("/v2/nothing")).status, 404);
    const res = await sim.get("/v1/chat/completions");
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST");
    assert.equal((await sim.get("/sim/requests/never-seen")).status, 404);
  });
});

describe("sim server: records and metrics", () => {
  let sim: TestSim;
  before(async () => {
    sim = await startTestSim({ slow: { preset: "large", ttftBaseMs: 1, itlBaseMs: 20, maxRunningSeqs: 4 } });
  });
  after(() => sim.server.close());

  it("records a client that disconnects mid-stream and frees its slot", async () => {
    const ac = new AbortController();
    const res = await sim.post(
      "/v1/chat/completions",
      chat("slow", "long answer", { stream: true, max_tokens: 200 }),
      { "x-request-id": "rec-1" },
      ac.signal,
    );
    let n = 0;
    for await (const _ of readSse(res)) if (++n === 3) break;
    const closedAt = Date.now();
    ac.abort();
    await sleep(60);
    const rec = (await (await sim.get("/sim/requests/rec-1")).json()) as Record<string, unknown>;
    assert.equal(rec.completed, false);
    assert.equal(rec.aborted, true);
    assert.equal(rec.attempts, 1);
    assert.equal(rec.maxConcurrent, 1);
    assert.equal(typeof rec.firstByteAt, "number");
    assert.ok(Math.abs((rec.closedByClientAt as number) - closedAt) < 100);
    const metrics = await (await sim.get("/metrics")).text();
    assert.match(metrics, /sim_running_seqs\{model="slow"\} 0/);
    assert.match(
      metrics,
      /sim_requests_total\{model="slow",route="\/v1\/chat\/completions",status="client_closed"\} 1/,
    );
  });

  it("counts attempts and concurrency per request id", async () => {
    const body = chat("slow", "hi", { max_tokens: 2 });
    await Promise.all(
      [1, 2].map(() =>
        sim.post("/v1/chat/completions", body, { "x-request-id": "rec-2" }).then((r) => r.text()),
      ),
    );
    await (await sim.post("/v1/chat/completions", body, { "x-request-id": "rec-2" })).text();
    const rec = (await (await sim.get("/sim/requests/rec-2")).json()) as Record<string, unknown>;
    assert.equal(rec.attempts, 3);
    assert.equal(rec.maxConcurrent, 2);
    assert.equal(rec.completed, true);
    assert.equal(rec.status, 200);
  });

  it("exposes Prometheus metrics of its own registry", async () => {
    const res = await sim.get("/metrics");
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const text = await res.text();
    for (const name of [
      "sim_running_seqs",
      "sim_waiting_seqs",
      "sim_prefix_cache_queries_total",
      "sim_prefix_cache_hits_total",
      "sim_prompt_tokens_total",
      "sim_generation_tokens_total",
      "sim_requests_total",
    ]) {
      assert.match(text, new RegExp(`# TYPE ${name} `));
    }
    assert.match(text, /sim_requests_total\{model="slow",route="\/v1\/chat\/completions",status="200"\} 3/);
    assert.doesNotMatch(text, /process_cpu/);
  });
});
