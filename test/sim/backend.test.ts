import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OpenAIBackend } from "../../src/backends/openai.js";
import { createSimBackend } from "../../src/backends/sim.js";
import type { Backend, UpstreamCall } from "../../src/backends/types.js";
import { openaiEndpointSchema } from "../../src/config/schema.js";
import { GatewayError } from "../../src/core/errors.js";
import type { Operation } from "../../src/core/types.js";
import { parseSimSettings } from "../../src/sim/settings.js";
import { sleep, sseData, stable, startTestSim, type TestSim } from "./_helpers.js";

const SETTINGS = { preset: "large", ttftBaseMs: 1, itlBaseMs: 1, maxRunningSeqs: 1 } as const;

function upstreamCall(
  op: Operation,
  body: Record<string, unknown>,
  opts: { fault?: string; signal?: AbortSignal; stream?: boolean } = {},
): UpstreamCall {
  const headers: Record<string, string> = { "x-request-id": "req-1" };
  if (opts.fault) headers["x-sim-fault"] = opts.fault;
  const stream = opts.stream ?? false;
  return {
    op,
    body: stream ? { ...body, stream } : body,
    stream,
    headers,
    signal: opts.signal ?? new AbortController().signal,
    requestId: "req-1",
  };
}

async function collect(events: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of events) out.push(e);
  return out;
}

async function failure(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a failure");
}

describe("sim backend (in-process)", () => {
  let sim: TestSim;
  let inproc: Backend;
  let http: Backend;
  before(async () => {
    sim = await startTestSim({
      m: SETTINGS,
      e: { preset: "embedding", embedding: { dimensions: 16, perCallMs: 1 } },
    });
    inproc = createSimBackend(parseSimSettings(SETTINGS), "sim:m");
    http = new OpenAIBackend(openaiEndpointSchema.parse({ kind: "openai", url: `${sim.base}/v1` }));
  });
  after(async () => {
    await inproc.close();
    await http.close();
    await sim.server.close();
  });

  const body = { model: "m", messages: [{ role: "user", content: "compare me" }], max_tokens: 5 };

  it("answers with the same JSON text as the HTTP server", async () => {
    const viaHttp = await (await sim.post("/v1/chat/completions", body)).text();
    const local = await inproc.invoke(upstreamCall("chat", body));
    assert.equal(stable(String(local.payload)), stable(viaHttp));
    assert.deepEqual(local.usage, { prompt_tokens: 6, completion_tokens: 5, total_tokens: 11 });
    const cbody = { model: "m", prompt: "abc def", max_tokens: 3 };
    const c1 = await (await sim.post("/v1/completions", cbody)).text();
    const c2 = await inproc.invoke(upstreamCall("completion", cbody));
    assert.equal(stable(String(c2.payload)), stable(c1));
  });

  it("streams the same events as the HTTP server", async () => {
    const sbody = { ...body, stream: true, stream_options: { include_usage: true } };
    const viaHttp = sseData(await (await sim.post("/v1/chat/completions", sbody)).text());
    const local = await collect((await inproc.stream(upstreamCall("chat", sbody, { stream: true }))).events);
    assert.deepEqual(local.map(stable), viaHttp.slice(0, -1).map(stable));
  });

  it("embeds the same vectors as the HTTP server", async () => {
    const emb = createSimBackend(
      parseSimSettings({ preset: "embedding", embedding: { dimensions: 16, perCallMs: 1 } }),
      "sim:e",
    );
    const ebody = { model: "e", input: ["one", "two"] };
    const viaHttp = await (await sim.post("/v1/embeddings", ebody)).text();
    const local = await emb.invoke(upstreamCall("embedding", ebody));
    assert.equal(local.payload, viaHttp);
    assert.deepEqual(local.usage, { prompt_tokens: 2, completion_tokens: 0, total_tokens: 2 });
    await emb.close();
  });

  for (const fault of [
    "status=400",
    "status=404",
    "status=429",
    "status=500",
    "status=503",
    "status=504",
    "reset",
    "reset-after=1",
  ]) {
    it(`'${fault}' surfaces as the openai adapter surfaces it from a real server`, async () => {
      const fromHttp = await failure(http.invoke(upstreamCall("chat", body, { fault })));
      const local = await failure(inproc.invoke(upstreamCall("chat", body, { fault })));
      assert.equal(local.code, fromHttp.code);
      assert.equal(local.status, fromHttp.status);
      assert.equal(local.retryAfterSeconds, fromHttp.retryAfterSeconds);
    });
  }

  it("a bad request surfaces as upstream_rejected 400 like over HTTP", async () => {
    const bad = { ...body, n: 3 };
    const fromHttp = await failure(http.invoke(upstreamCall("chat", bad)));
    const local = await failure(inproc.invoke(upstreamCall("chat", bad)));
    assert.equal(local.code, "upstream_rejected");
    assert.equal(local.status, 400);
    assert.equal(local.message, fromHttp.message);
    assert.equal(
      (await failure(inproc.invoke(upstreamCall("chat", body, { fault: "status=oops" })))).code,
      "upstream_rejected",
    );
  });

  it("a reset before the first event rejects the stream call; after it, the iterator throws stream_interrupted", async () => {
    const before = await failure(inproc.stream(upstreamCall("chat", body, { fault: "reset", stream: true })));
    assert.equal(before.code, "upstream_unavailable");
    const s = await inproc.stream(upstreamCall("chat", body, { fault: "reset-after=2", stream: true }));
    const seen: string[] = [];
    const err = await failure(
      (async () => {
        for await (const e of s.events) seen.push(e);
      })(),
    );
    assert.equal(err.code, "stream_interrupted");
    assert.equal(seen.length, 3);
    const overHttp = await http.stream(upstreamCall("chat", body, { fault: "reset-after=2", stream: true }));
    assert.equal((await failure(collect(overHttp.events))).code, "stream_interrupted");
  });

  it("abort stops the work at once and rejects with the signal's reason", async () => {
    const slow = createSimBackend(parseSimSettings({ ...SETTINGS, itlBaseMs: 20 }), "sim:slow");
    const ac = new AbortController();
    const reason = new GatewayError("deadline_exceeded", "too slow");
    const s = await slow.stream(
      upstreamCall("chat", { ...body, max_tokens: 500 }, { stream: true, signal: ac.signal }),
    );
    const it = s.events[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    setTimeout(() => ac.abort(reason), 10);
    await assert.rejects(
      (async () => {
        for (;;) if ((await it.next()).done) break;
      })(),
      (err) => err === reason,
    );
    // The only running slot was released: the next request starts and finishes at once.
    const t0 = performance.now();
    await slow.invoke(upstreamCall("chat", { ...body, max_tokens: 1 }));
    assert.ok(performance.now() - t0 < 1000); // a held slot would make it wait ~10 s

    const ac2 = new AbortController();
    const pending = slow.invoke(upstreamCall("chat", body, { fault: "hang", signal: ac2.signal }));
    await sleep(20);
    ac2.abort(reason);
    await assert.rejects(pending, (err) => err === reason);
    // An aborted long delay leaves no timer behind (else this test file would take a minute to exit).
    const ac3 = new AbortController();
    const delayed = slow.invoke(upstreamCall("chat", body, { fault: "delay=60000", signal: ac3.signal }));
    ac3.abort(reason);
    await assert.rejects(delayed, (err) => err === reason);
    const already = new AbortController();
    already.abort(reason);
    await assert.rejects(
      slow.invoke(upstreamCall("chat", body, { signal: already.signal })),
      (err) => err === reason,
    );
    await slow.close();
  });

  it("a consumer that stops iterating frees the slot", async () => {
    const slow = createSimBackend(parseSimSettings({ ...SETTINGS, itlBaseMs: 20 }), "sim:slow2");
    const s = await slow.stream(upstreamCall("chat", { ...body, max_tokens: 500 }, { stream: true }));
    for await (const _ of s.events) break;
    const t0 = performance.now();
    await slow.invoke(upstreamCall("chat", { ...body, max_tokens: 1 }));
    assert.ok(performance.now() - t0 < 1000); // a held slot would make it wait ~10 s
    await slow.close();
  });

  it("the instant preset answers without timers", async () => {
    const fast = createSimBackend(parseSimSettings({ preset: "instant" }), "sim:instant");
    const t0 = performance.now();
    for (let i = 0; i < 200; i++)
      await fast.invoke(upstreamCall("chat", { model: "x", messages: [{ role: "user", content: `q${i}` }] }));
    assert.ok(performance.now() - t0 < 1000);
    await fast.close();
  });
});
