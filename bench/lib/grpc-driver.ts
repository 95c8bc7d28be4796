/**
 * Child process of the bench's `grpc` section: a closed-loop gRPC load driver over @grpc/grpc-js,
 * forked by bench/lib/grpc-load.ts on the load CPU and driven over the IPC channel. One channel per
 * target port, reused across runs; N calls in flight on it, each started as soon as the previous one
 * of its virtual user ends, for a fixed duration. It also runs the HTTP streaming probe
 * (bench/lib/stream-probe.ts) on request. Exits when the parent disconnects.
 */
import { fileURLToPath } from "node:url";
import {
  type ClientReadableStream,
  credentials,
  loadPackageDefinition,
  Metadata,
  status,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import type { ProtoGrpcType } from "../../src/grpc/generated/inference.js";
import type { ChatChunk__Output } from "../../src/grpc/generated/switchyard/v1/ChatChunk.js";
import type { ChatRequest } from "../../src/grpc/generated/switchyard/v1/ChatRequest.js";
import type { InferenceClient } from "../../src/grpc/generated/switchyard/v1/Inference.js";
import type { DriverReply, DriverRequest, GrpcStreamResult, GrpcUnaryResult } from "./grpc-types.js";
import { nowUs, summarize } from "./stats.js";
import { runStreamProbe } from "./stream-probe.js";
import type { WrkErrors } from "./types.js";

const PROTO_ROOT = fileURLToPath(new URL("../../proto", import.meta.url));
const CALL_TIMEOUT_MS = 5_000;

/** The request of the bench's HTTP path (CHAT_BODY), as a message. */
const CHAT: ChatRequest = {
  model: "bench",
  messages: [{ role: "user", content: "Say hello to the bench." }],
  max_tokens: 16,
};

const clients = new Map<number, InferenceClient>();

function client(port: number): InferenceClient {
  let c = clients.get(port);
  if (c === undefined) {
    const def = loadSync("switchyard/v1/inference.proto", {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: false,
      oneofs: true,
      includeDirs: [PROTO_ROOT],
    });
    const pkg = loadPackageDefinition(def) as unknown as ProtoGrpcType;
    c = new pkg.switchyard.v1.Inference(`127.0.0.1:${port}`, credentials.createInsecure());
    clients.set(port, c);
  }
  return c;
}

const deadline = () => ({ deadline: Date.now() + CALL_TIMEOUT_MS });

/** One unary Chat; resolves with its status code (OK with a message carrying content, or the error's). */
function chatOnce(c: InferenceClient): Promise<number> {
  return new Promise((resolve) => {
    c.Chat(CHAT, new Metadata(), deadline(), (err, res) => {
      if (err) return resolve(err.code);
      resolve(res?.choices?.[0]?.message?.content ? status.OK : status.INTERNAL);
    });
  });
}

interface StreamOutcome {
  ok: boolean;
  ttftUs: number;
  totalUs: number;
  messages: number;
}

const hasContent = (m: ChatChunk__Output) => (m.choices ?? []).some((ch) => !!ch.delta?.content);

/** One ChatStream read to its end; TTFT is the first message with text, total the end of the stream. */
function streamOnce(c: InferenceClient, itlMs: number, maxTokens: number): Promise<StreamOutcome> {
  const md = new Metadata();
  md.set("x-sim-fault", `itl=${itlMs}`);
  const start = nowUs();
  const out: StreamOutcome = { ok: false, ttftUs: -1, totalUs: 0, messages: 0 };
  const call: ClientReadableStream<ChatChunk__Output> = c.ChatStream(
    { ...CHAT, max_tokens: maxTokens },
    md,
    deadline(),
  );
  return new Promise((resolve) => {
    call.on("data", (m: ChatChunk__Output) => {
      out.messages++;
      if (out.ttftUs < 0 && hasContent(m)) out.ttftUs = nowUs() - start;
    });
    call.on("error", () => resolve(out));
    call.on("end", () => {
      out.totalUs = nowUs() - start;
      out.ok = out.ttftUs >= 0;
      resolve(out);
    });
  });
}

function countError(e: WrkErrors, code: number): void {
  if (code === status.DEADLINE_EXCEEDED) e.timeout++;
  else if (code === status.UNAVAILABLE) e.connect++;
  else e.status++;
}

async function runUnary(port: number, concurrency: number, seconds: number): Promise<GrpcUnaryResult> {
  const c = client(port);
  const latency: number[] = [];
  const errors: WrkErrors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
  const cpu0 = process.cpuUsage();
  const t0 = nowUs();
  const end = t0 + seconds * 1e6;
  const user = async () => {
    while (nowUs() < end) {
      const start = nowUs();
      const code = await chatOnce(c);
      if (code === status.OK) latency.push(nowUs() - start);
      else countError(errors, code);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, user));
  const durationUs = nowUs() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    connections: concurrency,
    requests: latency.length,
    durationUs,
    rps: latency.length / (durationUs / 1e6),
    errors,
    latencyUs: summarize(latency),
    driverCpuUs: cpu.user + cpu.system,
  };
}

async function runStream(
  port: number,
  concurrency: number,
  seconds: number,
  itlMs: number,
  maxTokens: number,
): Promise<GrpcStreamResult> {
  const c = client(port);
  const ttft: number[] = [];
  const total: number[] = [];
  let errors = 0;
  let messages = 0;
  const t0 = nowUs();
  const end = t0 + seconds * 1e6;
  const user = async () => {
    await streamOnce(c, itlMs, maxTokens); // warm-up, not recorded
    while (nowUs() < end) {
      const o = await streamOnce(c, itlMs, maxTokens);
      if (!o.ok) {
        errors++;
        continue;
      }
      ttft.push(o.ttftUs);
      total.push(o.totalUs);
      messages += o.messages;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, user));
  return {
    concurrency,
    streams: ttft.length,
    errors,
    messages,
    durationUs: nowUs() - t0,
    ttftUs: summarize(ttft),
    totalUs: summarize(total),
  };
}

/** One Chat and one ChatStream that must both succeed: a target that cannot answer is not measured. */
async function check(port: number, itlMs: number): Promise<void> {
  const c = client(port);
  await new Promise<void>((resolve, reject) =>
    c.waitForReady(Date.now() + CALL_TIMEOUT_MS, (err) => (err ? reject(err) : resolve())),
  );
  const res = await new Promise<string>((resolve) => {
    c.Chat(CHAT, new Metadata(), deadline(), (err, r) =>
      resolve(
        err ? `${status[err.code]}: ${err.details}` : r?.choices?.[0]?.message?.content ? "" : "no content",
      ),
    );
  });
  if (res !== "") throw new Error(`Chat on port ${port}: ${res}`);
  const s = await streamOnce(c, itlMs, 4);
  if (!s.ok) throw new Error(`ChatStream on port ${port}: ended without content (${s.messages} messages)`);
}

async function handle(req: DriverRequest): Promise<unknown> {
  const r = req.run;
  if (r.kind === "check") return check(r.port, r.itlMs);
  if (r.kind === "unary") return runUnary(r.port, r.concurrency, r.seconds);
  if (r.kind === "http-stream") {
    return runStreamProbe({
      port: r.port,
      concurrency: 1,
      seconds: r.seconds,
      itlMs: r.itlMs,
      maxTokens: r.maxTokens,
    });
  }
  return runStream(r.port, r.concurrency, r.seconds, r.itlMs, r.maxTokens);
}

process.on("message", (msg: DriverRequest) => {
  const reply = (r: DriverReply) => process.send?.(r);
  handle(msg).then(
    (result) => reply({ id: msg.id, ok: true, result }),
    (err: unknown) =>
      reply({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on("disconnect", () => {
  for (const c of clients.values()) c.close();
  process.exit(0);
});
