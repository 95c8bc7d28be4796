import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ClientReadableStream, credentials, loadPackageDefinition, status } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProto } from "grpc-health-check";
import { configFor, type Running, startGateway, startSim } from "../helpers/proc.js";
import { connect, metadata } from "./_helpers.js";
import { GRPCURL, run, toolSkipReason } from "./_tools.js";

const skip = toolSkipReason(
  GRPCURL,
  "grpcurl",
  "run scripts/install-test-deps.sh (builds it with go install)",
);

interface HealthClient {
  Watch(req: { service: string }): ClientReadableStream<{ status: string }>;
  close(): void;
}

function healthClient(port: number): HealthClient {
  const def = loadSync(healthProto, { keepCase: true, enums: String, defaults: true });
  const pkg = loadPackageDefinition(def) as unknown as {
    grpc: {
      health: {
        v1: {
          Health: new (addr: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthClient;
        };
      };
    };
  };
  return new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, credentials.createInsecure());
}

describe("gRPC health and reflection (grpcurl)", { skip }, () => {
  let sim: Running;
  let gw: Running;
  let addr: string;
  const grpcurl = (...args: string[]) => run(GRPCURL as string, ["-plaintext", ...args]);
  before(async () => {
    sim = await startSim(["--model", "sim-small:instant", "--model", "sim-embed:embedding"]);
    gw = await startGateway(
      configFor(sim.url, { logging: { level: "warn" }, server: { shutdownGraceMs: 5000 } }),
    );
    addr = `127.0.0.1:${gw.grpcPort}`;
  });
  after(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  test("reflection lists and describes the services without .proto files", async () => {
    const list = await grpcurl(addr, "list");
    assert.equal(list.code, 0, list.stderr);
    const services = list.stdout.trim().split("\n");
    for (const s of ["switchyard.v1.Inference", "switchyard.v1.Jobs", "grpc.health.v1.Health"]) {
      assert.ok(services.includes(s), `${s} in ${services.join(", ")}`);
    }
    const described = await grpcurl(addr, "describe", "switchyard.v1.Inference");
    assert.equal(described.code, 0, described.stderr);
    assert.match(
      described.stdout,
      /rpc ChatStream \( \.switchyard\.v1\.ChatRequest \) returns \( stream \.switchyard\.v1\.ChatChunk \)/,
    );
    const msg = await grpcurl(addr, "describe", "switchyard.v1.ChatRequest");
    assert.match(msg.stdout, /google\.protobuf\.Struct extra = 50;/);
  });

  test("grpcurl calls Chat and ChatStream through reflection", async () => {
    const body = JSON.stringify({
      model: "sim-small",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 4,
    });
    const chat = await grpcurl("-d", body, addr, "switchyard.v1.Inference/Chat");
    assert.equal(chat.code, 0, chat.stderr);
    const res = JSON.parse(chat.stdout) as { choices: Array<{ message: { role: string } }>; usage: object };
    assert.equal(res.choices[0]!.message.role, "assistant");
    assert.ok(res.usage);
    const stream = await grpcurl("-format-error", "-d", body, addr, "switchyard.v1.Inference/ChatStream");
    assert.equal(stream.code, 0, stream.stderr);
    const messages = stream.stdout.split(/\n(?=\{)/).map((m) => JSON.parse(m) as { usage?: object });
    assert.ok(messages.length >= 2);
    assert.ok(messages.at(-1)!.usage);
    const missing = await grpcurl(
      "-d",
      JSON.stringify({ model: "nope", messages: [{ role: "user", content: "hi" }] }),
      addr,
      "switchyard.v1.Inference/Chat",
    );
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Code: NotFound/);
    // The status details decode through reflection: google.rpc.ErrorInfo with the error code.
    assert.match(missing.stderr, /"@type": "type\.googleapis\.com\/google\.rpc\.ErrorInfo"/);
    assert.match(missing.stderr, /"reason": "MODEL_NOT_FOUND"/);
  });

  test("health: overall and per service, unknown services NOT_FOUND", async () => {
    for (const service of ["", "switchyard.v1.Inference", "switchyard.v1.Jobs"]) {
      const r = await grpcurl("-d", JSON.stringify({ service }), addr, "grpc.health.v1.Health/Check");
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { status: string }).status, "SERVING", service);
    }
    const unknown = await grpcurl("-d", '{"service":"no.such.Service"}', addr, "grpc.health.v1.Health/Check");
    assert.match(unknown.stderr, /Code: NotFound/);
  });

  test("while draining, health turns NOT_SERVING and calls in flight still finish", async () => {
    const health = healthClient(gw.grpcPort!);
    const watch = health.Watch({ service: "" });
    const seen: string[] = [];
    const notServing = new Promise<void>((resolve) => {
      watch.on("data", (m: { status: string }) => {
        seen.push(m.status);
        if (m.status === "NOT_SERVING") resolve();
      });
      watch.on("error", () => resolve());
    });
    const c = connect(gw.grpcPort!);
    const slow = c.chat(
      { model: "sim-small", messages: [{ role: "user", content: "hi" }], max_tokens: 3 },
      metadata({ "x-sim-fault": "delay=800" }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const exit = gw.stop("SIGTERM");
    await notServing;
    assert.deepEqual(seen.slice(0, 2), ["SERVING", "NOT_SERVING"]);
    const answer = await slow;
    assert.equal(answer.error, undefined, answer.error?.details);
    assert.ok(answer.response?.choices?.length);
    const late = await c.chat(
      { model: "sim-small", messages: [{ role: "user", content: "late" }] },
      undefined,
      {
        deadline: Date.now() + 2_000,
      },
    );
    assert.equal(late.error?.code, status.UNAVAILABLE);
    assert.equal(await exit, 0);
    c.close();
    health.close();
  });
});
