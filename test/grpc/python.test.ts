import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PROTO_FILES } from "../../src/grpc/protos.js";
import { DESCRIPTOR_SET } from "../../src/grpc/reflection.js";
import { configFor, type Running, startGateway, startSim } from "../helpers/proc.js";
import { PYTHON, pythonSkipReason, run } from "./_tools.js";

const ROOT = join(import.meta.dirname, "..", "..");
const HEALTH_PROTO_DIR = join(ROOT, "node_modules", "grpc-health-check", "proto");

/** python3 with grpcio and grpcio-tools (installed by .ci/run), or the reason to skip. */
const skip = await pythonSkipReason(
  "grpc, grpc_tools",
  "Python packages grpcio and grpcio-tools",
  "pip install grpcio==1.85.1 grpcio-tools==1.85.1",
);

function protoc(...args: string[]) {
  return run(PYTHON as string, ["-m", "grpc_tools.protoc", "-I", join(ROOT, "proto"), ...args], 60_000);
}

describe("a Python grpcio client", { skip }, () => {
  let sim: Running;
  let gw: Running;
  let gen: string;
  before(async () => {
    gen = mkdtempSync(join(tmpdir(), "switchyard-py-"));
    const compiled = await protoc(`--python_out=${gen}`, `--grpc_python_out=${gen}`, ...PROTO_FILES);
    assert.equal(compiled.code, 0, compiled.stderr);
    sim = await startSim(["--model", "sim-small:instant"]);
    gw = await startGateway(configFor(sim.url, { logging: { level: "warn" } }));
  });
  after(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  test("the .proto files compile with protoc, and Chat, ChatStream and errors work from Python", async () => {
    const script = join(import.meta.dirname, "python", "client.py");
    const r = await run(PYTHON as string, [script, gen, `127.0.0.1:${gw.grpcPort}`, "sim-small"], 60_000);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      chat: Record<string, unknown> & { usage: Record<string, number> };
      stream: { text: string; completion_tokens: number };
      unknown: { code: string; error_code: string };
    };
    assert.equal(out.chat.object, "chat.completion");
    assert.equal(out.chat.model, "sim-small");
    assert.equal(out.chat.role, "assistant");
    assert.ok(String(out.chat.content).length > 0);
    assert.ok(out.chat.usage.completion_tokens > 0 && out.chat.usage.completion_tokens <= 5);
    assert.equal(
      out.chat.usage.total_tokens,
      out.chat.usage.prompt_tokens + out.chat.usage.completion_tokens,
    );
    assert.equal(out.chat.request_id, "python-chat-1");
    assert.ok(out.stream.text.length > 0);
    assert.ok(out.stream.completion_tokens > 0);
    assert.deepEqual(out.unknown, { code: "NOT_FOUND", error_code: "model_not_found" });
  });

  test("the committed descriptor set (served by reflection) is what protoc makes of the .proto files", async () => {
    const out = join(gen, "descriptors.binpb");
    const r = await protoc(
      "-I",
      join(ROOT, "proto", "switchyard", "third_party"),
      "-I",
      HEALTH_PROTO_DIR,
      "--include_imports",
      `--descriptor_set_out=${out}`,
      ...PROTO_FILES,
      "health/v1/health.proto",
      "google/rpc/error_details.proto",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      readFileSync(out).equals(readFileSync(DESCRIPTOR_SET)),
      "proto/switchyard/descriptors.binpb is stale: run npm run gen:proto",
    );
  });
});
