import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { parseSimSettings, simSettingsSchema } from "../../src/sim/settings.js";
import { CLI } from "../helpers/proc.js";

describe("sim settings", () => {
  it("presets fill every field and explicit fields override them", () => {
    const large = parseSimSettings({});
    assert.equal(large.preset, "large");
    assert.equal(large.ttftBaseMs, 15);
    assert.equal(large.ttftPerPromptTokenMs, 0.03);
    assert.equal(large.itlBaseMs, 4);
    assert.equal(large.itlPerRunningSeqMs, 0.025);
    assert.equal(large.maxRunningSeqs, 256);
    const small = parseSimSettings({ preset: "small", itlBaseMs: 3, prefixCache: { maxBlocks: 10 } });
    assert.equal(small.itlBaseMs, 3);
    assert.equal(small.ttftPerPromptTokenMs, 0.03 / 8);
    assert.deepEqual(small.prefixCache, { enabled: true, blockTokens: 16, maxBlocks: 10 });
    const emb = parseSimSettings({ type: "embedding" });
    assert.equal(emb.preset, "embedding");
    assert.deepEqual(emb.embedding, {
      dimensions: 768,
      perCallMs: 5,
      perItemMs: 0.035,
      maxConcurrentCalls: 1,
    });
    const instant = parseSimSettings({ preset: "instant", type: "embedding" });
    assert.equal(instant.type, "embedding");
    assert.equal(instant.embedding.perCallMs, 0);
    assert.equal(instant.defaultMaxTokens, 16);
    assert.ok(Object.isFrozen(instant.faults));
  });

  it("typos and bad values are errors", () => {
    for (const bad of [
      { ttftBaseMS: 1 },
      { preset: "huge" },
      { prefixCache: { enabld: true } },
      { faults: { errorRate: 2 } },
      { faults: { errorRate: 0.6, hangRate: 0.6 } },
      { maxRunningSeqs: 0 },
      { itlBaseMs: -1 },
      "large",
    ]) {
      assert.equal(simSettingsSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

function spawnSim(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, "sim", ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stderr })));
}

async function listeningPort(child: ChildProcess): Promise<number> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const msg = JSON.parse(line) as { msg: string; port: number };
    if (msg.msg === "sim listening") return msg.port;
  }
  throw new Error("sim exited before listening");
}

describe("switchyard sim (CLI)", { concurrency: true }, () => {
  it("serves the models it is given, then exits 0 on SIGTERM", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sim-cli-"));
    const file = join(dir, "settings.yaml");
    await writeFile(file, "seed: 42\ndefaultMaxTokens: 3\n");
    const child = spawnSim([
      "--port",
      "0",
      "--model",
      "alpha:instant",
      "--model",
      "beta",
      "--preset",
      "instant",
      "--settings",
      file,
    ]);
    const exited = exitOf(child);
    const port = await listeningPort(child);
    const models = (await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json()) as {
      data: Array<{ id: string }>;
    };
    assert.deepEqual(
      models.data.map((m) => m.id),
      ["alpha", "beta"],
    );
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "beta", messages: [{ role: "user", content: "hi" }] }),
    });
    const body = (await res.json()) as { usage: { completion_tokens: number } };
    assert.ok(body.usage.completion_tokens <= 3);
    child.kill("SIGTERM");
    assert.equal((await exited).code, 0);
  });

  it("serves sim-small, sim-large and sim-embed by default", async () => {
    const child = spawnSim(["--port", "0"]);
    const exited = exitOf(child);
    const port = await listeningPort(child);
    const res = await fetch(`http://127.0.0.1:${port}/v1/embeddings`, {
      method: "POST",
      body: JSON.stringify({ model: "sim-embed", input: "hello" }),
    });
    assert.equal(res.status, 200);
    const models = (await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json()) as {
      data: Array<{ id: string }>;
    };
    assert.deepEqual(
      models.data.map((m) => m.id),
      ["sim-small", "sim-large", "sim-embed"],
    );
    child.kill("SIGINT");
    assert.equal((await exited).code, 0);
  });

  for (const args of [
    ["--bogus"],
    ["--preset", "huge"],
    ["--port", "x"],
    ["--model", "a:nope"],
    ["--settings", "/nonexistent.json"],
  ]) {
    it(`rejects ${args.join(" ")} with exit 2 and one line`, async () => {
      const { code, stderr } = await exitOf(spawnSim(args));
      assert.equal(code, 2);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, /^switchyard sim: /);
    });
  }
});
