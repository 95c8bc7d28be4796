import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import pino from "pino";
import { request } from "undici";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config/load.js";

// Random JSON at every model route never yields a 5xx or a crash: always 200 or a 4xx in the one error shape.
let gw: Gateway;
let base: string;
before(async () => {
  const config = parseConfig({
    logging: { level: "silent" },
    // Jobs are accepted and stored, never run: the job routes are fuzzed too.
    store: { path: join(mkdtempSync(join(tmpdir(), "switchyard-fuzz-")), "fuzz.db") },
    jobs: { workers: 0, webhooks: { secret: `whsec_${Buffer.alloc(24, 7).toString("base64")}` } },
    models: {
      "sim-small": { endpoints: [{ kind: "sim", sim: { preset: "instant" } }] },
      "sim-embed": {
        type: "embedding",
        endpoints: [{ kind: "sim", sim: { preset: "instant", type: "embedding" } }],
      },
    },
  });
  gw = await createGateway(config, { logger: pino({ level: "silent" }) });
  base = `http://127.0.0.1:${await gw.listen(0, "127.0.0.1")}`;
});
after(() => gw.close(1000));

const ROUTES = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"];

async function check(
  route: string,
  body: string | Buffer | undefined,
  method: "GET" | "POST" = "POST",
  headers: Record<string, string> = {},
): Promise<void> {
  const res = await request(`${base}${route}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await res.body.text();
  assert.ok(res.headers["x-request-id"], `${method} ${route}: no x-request-id`);
  assert.ok(
    res.statusCode < 500,
    `${method} ${route} ${String(body ?? "").slice(0, 200)} -> ${res.statusCode} ${text.slice(0, 300)}`,
  );
  if (res.statusCode >= 400) {
    const parsed = JSON.parse(text) as { error: { code: string; message: string; type: string } };
    assert.equal(typeof parsed.error.code, "string", `${method} ${route} -> ${text.slice(0, 300)}`);
    assert.equal(typeof parsed.error.message, "string");
    assert.equal(typeof parsed.error.type, "string");
  }
}

const model = fc.constantFrom("sim-small", "sim-embed", "nope", "", 5, null);
const message = fc.record(
  {
    role: fc.oneof(fc.constantFrom("user", "system", "assistant", "tool"), fc.string(), fc.integer()),
    content: fc.oneof(
      fc.string(),
      fc.constant(null),
      fc.array(fc.record({ type: fc.string(), text: fc.string() })),
      fc.integer(),
    ),
  },
  { requiredKeys: [] },
);
const nearlyValid = fc.record(
  {
    model,
    messages: fc.oneof(fc.array(message, { maxLength: 4 }), fc.anything()),
    prompt: fc.oneof(
      fc.string(),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.array(fc.integer({ min: -5, max: 50000 }), { maxLength: 5 }),
      fc.anything(),
    ),
    input: fc.oneof(
      fc.string(),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.array(fc.array(fc.nat(1000), { maxLength: 3 }), { maxLength: 3 }),
      fc.anything(),
    ),
    max_tokens: fc.oneof(fc.integer({ min: -3, max: 40 }), fc.double(), fc.string()),
    stream: fc.oneof(fc.boolean(), fc.string()),
    temperature: fc.oneof(fc.double({ noNaN: true }), fc.string()),
    n: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.constant(null)),
    stop: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 20 })),
    stream_options: fc.oneof(fc.record({ include_usage: fc.anything() }), fc.anything()),
    encoding_format: fc.oneof(fc.constantFrom("float", "base64"), fc.string()),
    seed: fc.oneof(fc.integer(), fc.double()),
  },
  { requiredKeys: [] },
);

test("arbitrary JSON values", async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ROUTES), fc.json({ maxDepth: 3 }), (route, body) =>
      check(route, body),
    ),
    { numRuns: 150 },
  );
});

test("objects shaped nearly like real requests", async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ROUTES), nearlyValid, (route, body) =>
      check(route, JSON.stringify(body)),
    ),
    { numRuns: 300 },
  );
});

test("arbitrary bytes", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...ROUTES),
      fc.string({ unit: "binary", maxLength: 200 }),
      (route, body) => check(route, body),
    ),
    { numRuns: 100 },
  );
});

// Path segments of any bytes (percent-encoded, malformed escapes, overlong) on the routes that take
// one: never a 5xx, always the one error shape with a request id (Fastify's router errors included).
const segment = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }).map(encodeURIComponent),
  fc.string({ maxLength: 20 }).map((x) => `${x}%${x.slice(0, 1)}`),
  fc.constantFrom("%E0%A4%A", "%", "%zz", "..", "%2e%2e%2f", "%00", "x".repeat(700), "org%2Fm"),
);
const templates = [
  (s: string) => ["GET", `/v1/jobs/${s}`],
  (s: string) => ["POST", `/v1/jobs/${s}/cancel`],
  (s: string) => ["GET", `/v1/pipelines/${s}`],
  (s: string) => ["POST", `/v2/models/${s}/infer`],
  (s: string) => ["GET", `/v2/models/${s}/ready`],
  (s: string) => ["GET", `/v1/${s}`],
] as const;

test("arbitrary path segments", async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...templates), segment, (template, s) => {
      const [method, path] = template(s) as ["GET" | "POST", string];
      return check(path, method === "POST" ? "{}" : undefined, method);
    }),
    { numRuns: 150 },
  );
});

// Bodies with any Content-Encoding header, compressed or not: decoded, refused with 415, or 400.
test("arbitrary content encodings", async () => {
  const body = JSON.stringify({ model: "sim-small", messages: [{ role: "user", content: "x" }] });
  const packed: Record<string, Buffer> = {
    gzip: gzipSync(body),
    deflate: deflateSync(body),
    br: brotliCompressSync(body),
  };
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...ROUTES),
      fc.oneof(
        fc.constantFrom("gzip", "deflate", "br", "identity", "zstd", "GZIP", "gzip, br", ""),
        fc.string(),
      ),
      fc.boolean(),
      (route, encoding, compressed) =>
        check(route, compressed && Object.hasOwn(packed, encoding) ? packed[encoding] : body, "POST", {
          "content-encoding": encoding,
        }),
    ),
    { numRuns: 120 },
  );
});

// Job submissions shaped nearly like real ones, each field mostly valid and sometimes odd (times
// far out or fractional, big numbers, odd metadata, webhook URLs): a 202 or a 4xx, never a 5xx.
// Webhook URLs are IP literals only, so nothing is looked up in DNS.
const mostly = <T, U>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: odd });
const time = mostly(
  fc.integer({ min: 0, max: 4_102_444_800 }),
  fc.oneof(
    fc.double(),
    fc.constantFrom(1e20, 0.999999995, 253_402_300_799, 253_402_300_800, -1, "9999-12-31T23:59:59Z"),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    fc.string(),
  ),
);
const jobBody = fc.record(
  {
    type: mostly(
      fc.constant("chat.completion"),
      fc.oneof(fc.constantFrom("completion", "embedding", "pipeline"), fc.string()),
    ),
    request: mostly(
      fc.constant({ model: "sim-small", messages: [{ role: "user", content: "x" }] }),
      fc.oneof(nearlyValid, fc.anything(), fc.constant({ model: "sim-embed", input: "x" })),
    ),
    priority: mostly(fc.integer({ min: -1000, max: 1000 }), fc.oneof(fc.integer(), fc.double(), fc.string())),
    run_after: time,
    deadline: time,
    max_attempts: mostly(fc.integer({ min: 1, max: 100 }), fc.oneof(fc.integer(), fc.double())),
    metadata: mostly(
      fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), { maxKeys: 4 }),
      fc.oneof(fc.dictionary(fc.string(), fc.string(), { maxKeys: 20 }), fc.anything()),
    ),
    webhook: fc.oneof(
      fc.constantFrom(
        "http://8.8.8.8/hook",
        "http://127.0.0.1/x",
        "https://[::1]/",
        "http://0x7f.1/",
        "ftp://x/",
        "http://user:pw@1.1.1.1/",
      ),
      fc.ipV4().map((ip) => `http://${ip}/h`),
      fc.ipV6().map((ip) => `http://[${ip}]/h`),
    ),
  },
  { requiredKeys: ["type", "request"] },
);

test("job submissions", async () => {
  await fc.assert(
    fc.asyncProperty(jobBody, (body) => check("/v1/jobs", JSON.stringify(body))),
    { numRuns: 200 },
  );
});

test("job list queries", async () => {
  const value = fc.oneof(
    fc.string(),
    fc.integer().map(String),
    fc.constantFrom("PENDING", "FAILED", "-1", "1e9"),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.dictionary(fc.constantFrom("status", "limit", "after", "x"), value, { maxKeys: 3 }),
      (q) => check(`/v1/jobs?${new URLSearchParams(q)}`, undefined, "GET"),
    ),
    { numRuns: 100 },
  );
});
