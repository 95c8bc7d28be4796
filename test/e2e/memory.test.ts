/**
 * The young-generation cap of `switchyard serve`: read from the gateway's own /metrics (prom-client's
 * heap space gauges) after it has served a few hundred requests.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { request } from "undici";
import { CLI, configFor, type Running, startGateway, startSim } from "../helpers/proc.js";

const MiB = 1024 * 1024;
let sim: Running;

before(async () => {
  sim = await startSim(["--model", "sim-small:instant"]);
});
after(async () => {
  await sim.stop();
});

/** Serves 400 chat completions, 8 at a time, then reads the young generation's size from /metrics. */
async function youngAfterLoad(env: NodeJS.ProcessEnv): Promise<number> {
  const gw = await startGateway(configFor(sim.url), env);
  try {
    const body = JSON.stringify({
      model: "sim-small",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 8,
    });
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 50; i++) {
          const res = await request(`${gw.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
          });
          assert.equal(res.statusCode, 200);
          await res.body.dump();
        }
      }),
    );
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    const line = /^switchyard_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics);
    assert.ok(line, "the new-space gauge is on /metrics");
    return Number(line[1]);
  } finally {
    await gw.stop();
  }
}

test("by default the young generation stays at 2 × 4 MiB", async () => {
  const young = await youngAfterLoad({});
  assert.ok(young > 0 && young <= 8 * MiB, `new space ${young / MiB} MiB`);
});

test("SWITCHYARD_SEMI_SPACE_MB sets the cap, and 0 leaves V8's default (which grows past it)", async () => {
  const two = await youngAfterLoad({ SWITCHYARD_SEMI_SPACE_MB: "2" });
  assert.ok(two > 0 && two <= 4 * MiB, `new space ${two / MiB} MiB with 2`);
  const v8Default = await youngAfterLoad({ SWITCHYARD_SEMI_SPACE_MB: "0" });
  assert.ok(v8Default > 8 * MiB, `new space ${v8Default / MiB} MiB with V8's default`);
});

test("a young-generation size given to node itself is kept", async () => {
  const young = await youngAfterLoad({ NODE_OPTIONS: "--max-semi-space-size=8" });
  assert.ok(young > 8 * MiB && young <= 16 * MiB, `new space ${young / MiB} MiB`);
});

test("a bad SWITCHYARD_SEMI_SPACE_MB is a usage error (exit 2), not a start", () => {
  for (const bad of ["four", "-1", "2.5", "65"]) {
    const r = spawnSync(process.execPath, [CLI, "serve", "--port", "0"], {
      env: { ...process.env, SWITCHYARD_SEMI_SPACE_MB: bad },
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.equal(r.status, 2, `${bad}: ${r.stderr}`);
    assert.match(
      r.stderr,
      /^switchyard: SWITCHYARD_SEMI_SPACE_MB: expected a whole number of MB from 0 to 64/,
    );
    assert.ok(r.stderr.includes(`got "${bad}"`), r.stderr);
  }
});
