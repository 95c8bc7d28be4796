import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { configFor, type Running, startGateway, startSim } from "../helpers/proc.js";

const PROMETHEUS = "/usr/bin/prometheus";
const PROMTOOL = "/usr/bin/promtool";
const missing = !existsSync(PROMETHEUS) || !existsSync(PROMTOOL);
if (missing && process.env.CI) {
  throw new Error(`${PROMETHEUS} is not installed and CI is set: apt-get install -y prometheus`);
}
const skip = missing
  ? `Prometheus is not installed (${PROMETHEUS}); apt-get install -y prometheus to run this test`
  : false;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return typeof addr === "object" && addr ? addr.port : 0;
}

interface Prom {
  proc: ChildProcess;
  url: string;
  dir: string;
}

async function startPrometheus(target: string): Promise<Prom> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-prom-"));
  const file = join(dir, "prometheus.yml");
  writeFileSync(
    file,
    [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: switchyard",
      "    scrape_interval: 1s",
      "    static_configs:",
      `      - targets: ["${target}"]`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const proc = spawn(
    PROMETHEUS,
    [
      `--config.file=${file}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await request(`${url}/-/ready`)
      .then(async (r) => {
        await r.body.dump();
        return r.statusCode === 200;
      })
      .catch(() => false);
    if (ok) return { proc, url, dir };
    if (proc.exitCode !== null) break;
    await sleep(100);
  }
  proc.kill("SIGKILL");
  throw new Error(`prometheus did not become ready: ${stderr}`);
}

type Sample = { metric: Record<string, string>; value: [number, string] };

async function query(prom: Prom, q: string): Promise<Sample[]> {
  const res = await request(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.body.json()) as { status: string; data: { result: Sample[] } };
  assert.equal(body.status, "success", q);
  return body.data.result;
}

/** The single value of an instant query, or undefined when there is no series. */
async function scalar(prom: Prom, q: string): Promise<number | undefined> {
  const r = await query(prom, q);
  return r[0] ? Number(r[0].value[1]) : undefined;
}

/** Waits until the query returns `want` (Prometheus scrapes every second). */
async function eventually(prom: Prom, q: string, want: number, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let got: number | undefined;
  while (Date.now() < until) {
    got = await scalar(prom, q);
    if (got === want) return;
    await sleep(250);
  }
  assert.equal(got, want, `${q} never reached ${want}`);
}

describe("metrics scraped by a real Prometheus", { skip }, () => {
  let sim: Running;
  let gw: Running;
  let prom: Prom;
  let inputTokens = 0;
  let outputTokens = 0;

  before(async () => {
    sim = await startSim(["--model", "sim-small:instant", "--model", "sim-embed:embedding"]);
    gw = await startGateway(configFor(sim.url, { logging: { level: "warn", accessLog: false } }));
    prom = await startPrometheus(`127.0.0.1:${gw.port}`);
  });
  after(async () => {
    prom?.proc.kill("SIGTERM");
    await gw?.stop();
    await sim?.stop();
    if (prom) rmSync(prom.dir, { recursive: true, force: true });
  });

  const chat = (body: Record<string, unknown>) =>
    request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{ role: "user", content: "count to five" }],
        max_tokens: 8,
        ...body,
      }),
    });

  test("the series hold what the traffic implies", async () => {
    for (let i = 0; i < 4; i++) {
      const res = await chat({ model: "sim-small" });
      const json = (await res.body.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
      assert.equal(res.statusCode, 200);
      inputTokens += json.usage.prompt_tokens;
      outputTokens += json.usage.completion_tokens;
    }
    for (let i = 0; i < 2; i++) {
      const res = await chat({ model: "sim-small", stream: true, stream_options: { include_usage: true } });
      const text = await res.body.text();
      assert.equal(res.statusCode, 200);
      const usageLine = text.split("\n").find((l) => l.includes('"usage":{'));
      const usage = JSON.parse((usageLine as string).slice("data: ".length)).usage;
      inputTokens += usage.prompt_tokens;
      outputTokens += usage.completion_tokens;
    }
    for (let i = 0; i < 3; i++) {
      const res = await chat({ model: "no-such-model" });
      await res.body.dump();
      assert.equal(res.statusCode, 404);
    }

    const route = 'route="/v1/chat/completions"';
    await eventually(
      prom,
      `sum(switchyard_requests_total{${route},model="sim-small",status_class="2xx"})`,
      6,
    );
    await eventually(
      prom,
      `sum(switchyard_requests_total{${route},status_class="4xx",code="model_not_found"})`,
      3,
    );
    assert.equal(await scalar(prom, `up{job="switchyard"}`), 1);
    assert.equal(
      await scalar(prom, `sum(switchyard_request_duration_seconds_count{${route},model="sim-small"})`),
      6,
    );
    assert.equal(
      await scalar(
        prom,
        `sum(switchyard_upstream_attempt_duration_seconds_count{model="sim-small",outcome="success"})`,
      ),
      6,
    );
    assert.equal(await scalar(prom, `switchyard_input_tokens_total{model="sim-small"}`), inputTokens);
    assert.equal(await scalar(prom, `switchyard_output_tokens_total{model="sim-small"}`), outputTokens);
    assert.equal(await scalar(prom, `switchyard_time_to_first_token_seconds_count{model="sim-small"}`), 2);
    // Two streams of several events each: at least one gap per stream after its first event.
    const gaps = await scalar(prom, `switchyard_inter_token_latency_seconds_count{model="sim-small"}`);
    assert.ok(gaps !== undefined && gaps >= 2, `inter-token observations: ${gaps}`);
    assert.equal(await scalar(prom, `switchyard_pool_in_flight_requests{model="sim-small"}`), 0);
    assert.equal(await scalar(prom, `switchyard_pool_queued_requests{model="sim-small"}`), 0);
    assert.equal(await scalar(prom, `sum(switchyard_endpoint_healthy{model="sim-small"})`), 1);
    assert.equal(
      await scalar(prom, `sum(switchyard_endpoint_breaker_state{model="sim-small",state="closed"})`),
      1,
    );
    const heap = await scalar(prom, "switchyard_nodejs_heap_size_used_bytes");
    assert.ok(heap !== undefined && heap > 0, "heap figure scraped");
    assert.ok(
      (await query(prom, "switchyard_nodejs_eventloop_lag_seconds")).length === 1,
      "event-loop lag scraped",
    );
    // Every series' labels are bounded: no request id, key or prompt text ever becomes a label.
    const all = await query(prom, '{__name__=~"switchyard_.+"}');
    for (const s of all) {
      for (const [k, v] of Object.entries(s.metric)) {
        assert.ok(!["request_id", "key", "user", "prompt"].includes(k), `label ${k}`);
        assert.ok(!v.includes("count to five"), `prompt text in label ${k}`);
      }
    }
  });

  test("promtool check metrics passes on the exposition", async () => {
    const res = await request(`${gw.url}/metrics`);
    const text = await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/plain/);
    const check = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  });
});
