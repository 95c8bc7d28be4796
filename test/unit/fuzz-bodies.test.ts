import assert from "node:assert/strict";
import { after, before, test } from "node:test";
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
    jobs: { enabled: false },
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

async function check(route: string, body: string): Promise<void> {
  const res = await request(`${base}${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const text = await res.body.text();
  assert.ok(
    res.statusCode < 500,
    `${route} ${body.slice(0, 200)} -> ${res.statusCode} ${text.slice(0, 300)}`,
  );
  if (res.statusCode >= 400) {
    const parsed = JSON.parse(text) as { error: { code: string; message: string; type: string } };
    assert.equal(typeof parsed.error.code, "string");
    assert.equal(typeof parsed.error.message, "string");
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
