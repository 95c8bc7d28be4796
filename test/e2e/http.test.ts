import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { request } from "undici";
import { configFor, type Running, startGateway, startSim } from "../helpers/proc.js";

type ErrorJson = {
  error: { message: string; type: string; code: string; param: string | null; trace_id: string };
};

describe("HTTP front door", () => {
  let sim: Running;
  let gw: Running;
  before(async () => {
    sim = await startSim(["--model", "sim-small:instant", "--model", "sim-embed:embedding"]);
    gw = await startGateway(configFor(sim.url, { compression: { thresholdBytes: 1024 } }));
  });
  after(async () => {
    await gw.stop();
    await sim.stop();
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    request(`${gw.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });

  async function expectError(
    res: Awaited<ReturnType<typeof post>>,
    status: number,
    code: string,
  ): Promise<ErrorJson> {
    const body = (await res.body.json()) as ErrorJson;
    assert.equal(res.statusCode, status, JSON.stringify(body));
    assert.equal(body.error.code, code);
    assert.equal(typeof body.error.message, "string");
    assert.equal(typeof body.error.type, "string");
    assert.ok("param" in body.error);
    assert.match(body.error.trace_id, /^[0-9a-f]{32}$/);
    assert.ok(res.headers["x-request-id"], "x-request-id on errors too");
    assert.match(String(res.headers.traceparent), new RegExp(`^00-${body.error.trace_id}-`));
    return body;
  }

  test("wrong content type is 415, bad JSON 400, empty body 400", async () => {
    await expectError(
      await post("/v1/chat/completions", "hello", { "content-type": "text/plain" }),
      415,
      "unsupported_media_type",
    );
    await expectError(await post("/v1/chat/completions", "{not json"), 400, "invalid_json");
    await expectError(await post("/v1/chat/completions", ""), 400, "invalid_json");
    await expectError(await post("/v1/chat/completions", "[1,2]"), 400, "invalid_request");
  });

  test("a body refused as bad JSON keeps the connection: the next request on it is answered", async () => {
    // Two requests written at once on one connection: the bad body, then a GET. Both get answers
    // only if the gateway did not close the connection after the 400.
    const raw = await new Promise<string>((resolve) => {
      const sock = connect(gw.port, "127.0.0.1", () => {
        const bad = "{not json";
        sock.write(
          `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
            `content-length: ${bad.length}\r\n\r\n${bad}` +
            `GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n`,
        );
      });
      let out = "";
      sock.on("data", (d) => {
        out += d.toString();
        if (/"object":"list"/.test(out)) sock.end();
      });
      sock.on("close", () => resolve(out));
      sock.on("error", () => resolve(out));
      sock.setTimeout(5_000, () => sock.destroy());
    });
    const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.deepEqual(statuses, ["400", "200"], raw.slice(0, 600));
    assert.match(raw, /"code":"invalid_json"/);
    assert.doesNotMatch(raw.split("\r\n\r\n")[0] ?? "", /^connection: close/im);
  });

  test("validation names the offending param", async () => {
    const bad = await expectError(
      await post(
        "/v1/chat/completions",
        JSON.stringify({ model: "sim-small", messages: [{ role: "wizard", content: "x" }] }),
      ),
      400,
      "invalid_request",
    );
    assert.equal(bad.error.param, "messages[0].role");
    const temp = await expectError(
      await post(
        "/v1/chat/completions",
        JSON.stringify({ model: "sim-small", messages: [{ role: "user", content: "x" }], temperature: 9 }),
      ),
      400,
      "invalid_request",
    );
    assert.equal(temp.error.param, "temperature");
    const missing = await expectError(
      await post("/v1/embeddings", JSON.stringify({ model: "sim-embed" })),
      400,
      "invalid_request",
    );
    assert.equal(missing.error.param, "input");
    await expectError(
      await post("/v1/embeddings", JSON.stringify({ model: "sim-small", input: "x" })),
      400,
      "model_wrong_type",
    );
  });

  test("unknown routes are 404, wrong methods 405, oversized headers 431", async () => {
    await expectError(await request(`${gw.url}/v2/nothing`), 404, "not_found");
    await expectError(await request(`${gw.url}/v1/chat/completions`), 405, "method_not_allowed");
    const raw = await new Promise<string>((resolve) => {
      const sock = connect(gw.port, "127.0.0.1", () => {
        sock.write(`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(40_000)}\r\n\r\n`);
      });
      let out = "";
      sock.on("data", (d) => {
        out += d.toString();
      });
      sock.on("close", () => resolve(out));
      sock.on("error", () => resolve(out));
    });
    assert.match(raw, /^HTTP\/1\.1 431/);
    assert.match(raw, /"code":"headers_too_large"/);
  });

  test("a path with a bad percent-encoding is 400, an overlong path segment 414, both in the one shape", async () => {
    const bad = await expectError(
      await request(`${gw.url}/v1/jobs/%E0%A4%A/cancel`, { method: "POST" }),
      400,
      "invalid_request",
    );
    assert.match(bad.error.message, /percent-encoding/);
    const long = await expectError(
      await request(`${gw.url}/v2/models/${"m".repeat(600)}/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      }),
      414,
      "uri_too_long",
    );
    assert.match(long.error.message, /512/);
    // Model names run to 128 characters (more when percent-encoded): the router still takes them.
    await expectError(
      await request(`${gw.url}/v2/models/${"org%2F".repeat(40)}m/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: [] }),
      }),
      404,
      "model_not_found",
    );
    // The gateway answers the next request on the same server normally.
    const ok = await request(`${gw.url}/healthz`);
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
    // Nor does the router's configuration cost a deprecation warning at start (or any warning).
    assert.doesNotMatch(gw.stderr(), /Warning/);
  });

  test("gzip, deflate and br request bodies are decoded; other encodings are 415, corrupt ones 400", async () => {
    const chat = JSON.stringify({
      model: "sim-small",
      messages: [{ role: "user", content: "x" }],
      max_tokens: 4,
    });
    for (const [encoding, encode] of [
      ["gzip", gzipSync],
      ["deflate", deflateSync],
      ["br", brotliCompressSync],
    ] as const) {
      const res = await request(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": encoding },
        body: encode(Buffer.from(chat)),
      });
      const body = (await res.body.json()) as { object?: string };
      assert.equal(res.statusCode, 200, `${encoding}: ${JSON.stringify(body)}`);
      assert.equal(body.object, "chat.completion");
    }
    const zstd = await expectError(
      await post("/v1/chat/completions", chat, { "content-encoding": "zstd" }),
      415,
      "unsupported_media_type",
    );
    assert.match(zstd.error.message, /Content-Encoding 'zstd'/);
    // Declared gzip, sent plain: refused, never read as if it were plain JSON.
    const corrupt = await expectError(
      await post("/v1/chat/completions", chat, { "content-encoding": "gzip" }),
      400,
      "invalid_request",
    );
    assert.match(corrupt.error.message, /could not be decoded as gzip/);
  });

  test("the body limit counts decoded bytes: a small gzip that inflates past it is 413", async () => {
    // 6 MiB of spaces inside valid JSON compress to a few KiB; the limit is 4 MiB.
    const padded = `{"model":"sim-small","messages":[{"role":"user","content":"x"}]${" ".repeat(6 * 1024 * 1024)}}`;
    const packed = gzipSync(Buffer.from(padded));
    assert.ok(packed.length < 64 * 1024, `compressed to ${packed.length} bytes`);
    await expectError(
      await request(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        body: packed,
      }),
      413,
      "payload_too_large",
    );
  });

  test("unknown fields pass through and a client's request id and trace are kept", async () => {
    const res = await post(
      "/v1/chat/completions",
      JSON.stringify({
        model: "sim-small",
        messages: [{ role: "user", content: "x" }],
        top_k: 5,
        repetition_penalty: 1.1,
      }),
      {
        "x-request-id": "client-id-42",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      },
    );
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    assert.equal(res.headers["x-request-id"], "client-id-42");
    assert.match(
      String(res.headers.traceparent),
      /^00-0af7651916cd43dd8448eb211c80319c-(?!b7ad6b7169203331)[0-9a-f]{16}-01$/,
    );
  });

  test("tracestate goes upstream with a valid traceparent; without one, or over 512 characters, it is dropped", async () => {
    const body = JSON.stringify({
      model: "sim-small",
      messages: [{ role: "user", content: "x" }],
      max_tokens: 2,
    });
    const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const cases: Array<[string, Record<string, string>, string | null]> = [
      [
        "ts-kept",
        { traceparent: tp, tracestate: "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7" },
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
      ],
      ["ts-no-parent", { tracestate: "congo=t61rcWkgMzE" }, null],
      ["ts-bad-parent", { traceparent: "00-zz-yy-01", tracestate: "congo=t61rcWkgMzE" }, null],
      ["ts-too-long", { traceparent: tp, tracestate: `a=${"x".repeat(511)}` }, null],
    ];
    for (const [id, headers, expected] of cases) {
      const res = await post("/v1/chat/completions", body, { "x-request-id": id, ...headers });
      assert.equal(res.statusCode, 200, id);
      await res.body.dump();
      const rec = await request(`${sim.url}/sim/requests/${id}`);
      const seen = (await rec.body.json()) as { history: Array<{ tracestate: string | null }> };
      assert.equal(seen.history[0]?.tracestate, expected, id);
    }
  });

  test("large JSON answers are compressed when the client accepts it; small ones and streams are not", async () => {
    const input = Array.from({ length: 40 }, (_, i) => `item ${i}`);
    const big = await post("/v1/embeddings", JSON.stringify({ model: "sim-embed", input }), {
      "accept-encoding": "gzip",
    });
    assert.equal(big.statusCode, 200);
    assert.equal(big.headers["content-encoding"], "gzip");
    await big.body.dump();
    const br = await post("/v1/embeddings", JSON.stringify({ model: "sim-embed", input }), {
      "accept-encoding": "br",
    });
    assert.equal(br.headers["content-encoding"], "br");
    await br.body.dump();
    const small = await post(
      "/v1/chat/completions",
      JSON.stringify({ model: "sim-small", messages: [{ role: "user", content: "x" }], max_tokens: 2 }),
      {
        "accept-encoding": "gzip",
      },
    );
    assert.equal(small.headers["content-encoding"], undefined);
    await small.body.dump();
    const stream = await post(
      "/v1/chat/completions",
      JSON.stringify({
        model: "sim-small",
        messages: [{ role: "user", content: "x" }],
        stream: true,
        max_tokens: 400,
      }),
      { "accept-encoding": "gzip" },
    );
    assert.equal(stream.headers["content-encoding"], undefined);
    assert.match(String(stream.headers["content-type"]), /^text\/event-stream/);
    assert.match(await stream.body.text(), /data: \[DONE\]\n\n$/);
  });

  test("healthz and readyz", async () => {
    const h = await request(`${gw.url}/healthz`);
    assert.equal(h.statusCode, 200);
    assert.deepEqual(await h.body.json(), { status: "ok" });
    const r = await request(`${gw.url}/readyz`);
    assert.equal(r.statusCode, 200);
    const body = (await r.body.json()) as { status: string; models: Record<string, { ready: boolean }> };
    assert.equal(body.status, "ready");
    assert.equal(body.models["sim-small"]?.ready, true);
  });

  test("one JSON access line per request with tokens and timing, never the prompt or the key", async () => {
    const secret = "sk-very-secret-value";
    const prompt = "my private prompt text";
    const res = await post(
      "/v1/chat/completions",
      JSON.stringify({ model: "sim-small", messages: [{ role: "user", content: prompt }], stream: true }),
      {
        authorization: `Bearer ${secret}`,
        "x-request-id": "log-check-1",
      },
    );
    await res.body.text();
    await sleep(200);
    const line = gw.lines.find((l) => l.request_id === "log-check-1");
    assert.ok(line, "access line written");
    assert.equal(line.route, "/v1/chat/completions");
    assert.equal(line.model, "sim-small");
    assert.equal(line.status, 200);
    assert.equal(typeof line.latency_ms, "number");
    assert.equal(typeof line.ttft_ms, "number");
    assert.ok((line.input_tokens as number) > 0 && (line.output_tokens as number) > 0);
    assert.match(String(line.trace_id), /^[0-9a-f]{32}$/);
    const all = JSON.stringify(gw.lines);
    assert.ok(!all.includes(secret) && !all.includes(prompt));
  });
});

describe("upstream trouble", () => {
  test("an unreachable upstream is 503 upstream_unavailable and readyz turns 503", async () => {
    const gw = await startGateway({
      models: {
        m: {
          endpoints: [{ kind: "openai", url: "http://127.0.0.1:9/v1" }],
          healthCheck: { intervalMs: 100, unhealthyThreshold: 2 },
        },
      },
    });
    try {
      const res = await request(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "x" }] }),
      });
      const body = (await res.body.json()) as ErrorJson;
      assert.equal(res.statusCode, 503);
      // Refused connections, or (when the health checks were quicker) no healthy endpoint left.
      assert.ok(["upstream_unavailable", "no_endpoint_available"].includes(body.error.code), body.error.code);
      // Active health checks take the endpoint out after two failed probes.
      let status = 0;
      for (let i = 0; i < 40 && status !== 503; i++) {
        const ready = await request(`${gw.url}/readyz`);
        status = ready.statusCode;
        await ready.body.dump();
        if (status !== 503) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(status, 503);
    } finally {
      await gw.stop();
    }
  });
});
