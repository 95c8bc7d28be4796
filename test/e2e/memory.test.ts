/**
 * The heap settings of `switchyard serve`: the young-generation cap, read from the gateway's own
 * /metrics (prom-client's heap space gauges) after it has served a few hundred requests, and the
 * old generation's growth between full collections, measured in a child process that applies the
 * settings the way the CLI does and then allocates objects that outlive the young generation.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { request } from "undici";
import { CLI, configFor, DIST, type Running, startGateway, startSim } from "../helpers/proc.js";

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

/**
 * Largest old-space size (MiB) of a node process that applies the CLI's old-generation setting from
 * `env` (and node's command line `nodeArgs`) and then, for a while, keeps ~24 MiB alive and turns over 32 MiB of objects that live long
 * enough to be promoted — the pattern of a busy gateway, faster.
 */
function oldSpacePeak(env: NodeJS.ProcessEnv, nodeArgs: string[] = []): number {
  const heap = pathToFileURL(join(DIST, "cli", "heap.js")).href;
  const script = `
    import { getHeapSpaceStatistics } from "node:v8";
    import { capOldGenerationGrowth, heapGrowthPercentFrom } from ${JSON.stringify(heap)};
    capOldGenerationGrowth(heapGrowthPercentFrom(process.env, process.execArgv));
    const old = () => getHeapSpaceStatistics().find((s) => s.space_name === "old_space").space_size;
    const live = (globalThis.live = []);
    for (let i = 0; i < 3000; i++) live.push(new Array(1024).fill(i));
    const ring = [];
    let peak = 0;
    for (let round = 0; round < 600; round++) {
      for (let k = 0; k < 64; k++) {
        ring.push(new Array(1024).fill(round));
        if (ring.length > 4096) ring.shift();
      }
      peak = Math.max(peak, old());
      await new Promise((r) => setImmediate(r));
    }
    process.stdout.write(String(peak));
  `;
  const r = spawnSync(process.execPath, [...nodeArgs, "--input-type=module", "-e", script], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout) / MiB;
}

test("the old generation grows 20% past what a full collection keeps, unless told otherwise", () => {
  const capped = oldSpacePeak({});
  const v8Default = oldSpacePeak({ SWITCHYARD_HEAP_GROWTH_PERCENT: "0" });
  const operator = oldSpacePeak({}, ["--heap-growing-percent=300"]);
  // ~56 MiB stay alive at the end: 20% growth peaks well under V8's own factor (up to 4×).
  assert.ok(
    capped < 0.75 * v8Default,
    `old space peak ${capped} MiB capped, ${v8Default} MiB with V8's default`,
  );
  assert.ok(operator > 0.75 * v8Default, `old space peak ${operator} MiB with node's own flag kept`);
});

const BAD_SETTINGS = [
  { name: "SWITCHYARD_SEMI_SPACE_MB", range: "MB from 0 to 64", values: ["four", "-1", "2.5", "65"] },
  {
    name: "SWITCHYARD_HEAP_GROWTH_PERCENT",
    range: "percent from 0 to 300",
    values: ["twenty", "-5", "12.5", "301"],
  },
];

for (const { name, range, values } of BAD_SETTINGS) {
  test(`a bad ${name} is a usage error (exit 2), not a start`, () => {
    for (const bad of values) {
      const r = spawnSync(process.execPath, [CLI, "serve", "--port", "0"], {
        env: { ...process.env, [name]: bad },
        encoding: "utf8",
        timeout: 20_000,
      });
      assert.equal(r.status, 2, `${bad}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(`switchyard: ${name}: expected a whole number of ${range}`), r.stderr);
      assert.ok(r.stderr.includes(`got "${bad}"`), r.stderr);
    }
  });
}
