import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Operation } from "../core/types.js";
import { SimEngine } from "./engine.js";
import { runtimeFaultsSchema } from "./faults.js";
import { startSimGrpc } from "./grpc.js";
import { HttpSink } from "./http-sink.js";
import { handleKServeHttp, isKServePath, type KServeHttpContext } from "./kserve-http.js";
import { SimTensorModel } from "./kserve-model.js";
import { createSimMetrics, type SimMetrics } from "./metrics.js";
import { invalid, problemBody, type SimProblem } from "./problem.js";
import { RequestRecords, SimStats } from "./records.js";
import type { SimSettings } from "./settings.js";
import { isProblem, parseSimRequest } from "./validate.js";

/** A pino-compatible logger (only these methods are used). */
export interface SimLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SimServerOptions {
  host?: string;
  port: number;
  models: Array<{ name: string; settings: SimSettings }>;
  logger?: SimLogger;
  /** Largest request body accepted (413 beyond); default 32 MiB. */
  bodyLimitBytes?: number;
  /** How many `x-request-id` records `/sim/requests/:id` keeps; default 10,000. */
  maxRecords?: number;
  /** Also serve gRPC (switchyard.v1.Inference, KServe v2, health) on this port (0 = a free one). */
  grpcPort?: number;
}

export interface SimServer {
  port: number;
  /** The gRPC port, when `grpcPort` was given. */
  grpcPort?: number;
  close(): Promise<void>;
}

const OPS: Record<string, Operation> = {
  "/v1/chat/completions": "chat",
  "/v1/completions": "completion",
  "/v1/embeddings": "embedding",
};
const GET_PATHS = new Set(["/v1/models", "/health", "/metrics"]);

interface Ctx {
  engines: Map<string, SimEngine>;
  metrics: SimMetrics;
  records: RequestRecords;
  stats: SimStats;
  bodyLimit: number;
  logger: SimLogger | undefined;
  started: number;
  kserve: KServeHttpContext;
}

function send(res: ServerResponse, status: number, body: string, contentType = "application/json"): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function sendProblem(res: ServerResponse, p: SimProblem): void {
  send(res, p.status, problemBody(p));
}

function notFound(message: string): SimProblem {
  return { status: 404, message, type: "not_found_error", param: null, code: "not_found" };
}

type BodyResult = Buffer | "too_large" | "aborted";

function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > limit ? "too_large" : Buffer.concat(chunks)));
    req.on("error", () => resolve("aborted"));
    req.on("close", () => resolve("aborted"));
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(";") : v;
}

async function handlePost(ctx: Ctx, op: Operation, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = header(req, "x-request-id");
  const attempt = requestId
    ? ctx.records.arrive(requestId, header(req, "traceparent"), header(req, "tracestate"))
    : undefined;
  const route = req.url?.split("?")[0] ?? "";
  const controller = new AbortController();
  const ended = ctx.stats.arrive();
  let model = "";
  let sink: HttpSink | undefined;
  const count = (outcome: string) => {
    ctx.metrics.countRequest(model, route, outcome);
    ended(outcome);
  };
  res.on("close", () => {
    if (res.writableFinished || sink?.wasReset) return;
    controller.abort(new Error("client closed the connection"));
    attempt?.end("client_closed");
    count("client_closed");
  });
  if (requestId) res.setHeader("x-request-id", requestId);
  const raw = await readBody(req, ctx.bodyLimit);
  if (raw === "aborted" || controller.signal.aborted) return;
  const finishEarly = (p: SimProblem) => {
    count(String(p.status));
    attempt?.firstByte(p.status);
    res.once("finish", () => attempt?.end("completed"));
    sendProblem(res, p);
  };
  if (raw === "too_large") {
    res.setHeader("connection", "close");
    return finishEarly({
      ...invalid(`the request body exceeds ${ctx.bodyLimit} bytes`, null, "payload_too_large"),
      status: 413,
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    return finishEarly(invalid("the request body is not valid JSON", null, "invalid_json"));
  }
  const asked = (body as { model?: unknown } | null)?.model;
  if (typeof asked !== "string" || asked === "") {
    const p = parseSimRequest(op, body, 1);
    return finishEarly(isProblem(p) ? p : invalid("'model' is required", "model"));
  }
  model = asked;
  const engine = ctx.engines.get(asked);
  if (!engine) {
    model = "";
    const msg = `the model '${asked}' does not exist`;
    return finishEarly({
      status: 404,
      message: msg,
      type: "invalid_request_error",
      param: "model",
      code: "model_not_found",
    });
  }
  sink = new HttpSink(res, attempt, count);
  const stream = (body as { stream?: unknown }).stream === true;
  const fault = header(req, "x-sim-fault");
  engine.handle({ op, body, stream, fault, attempt: attempt?.number ?? 1, signal: controller.signal }, sink);
}

async function handleGet(ctx: Ctx, path: string, res: ServerResponse): Promise<void> {
  if (path === "/health") return send(res, 200, '{"status":"ok"}');
  if (path === "/metrics") {
    const text = await ctx.metrics.registry.metrics();
    return send(res, 200, text, ctx.metrics.registry.contentType);
  }
  if (path === "/v1/models") {
    const created = Math.floor(ctx.started / 1000);
    const data = [...ctx.engines.keys()].map((id) => ({
      id,
      object: "model",
      created,
      owned_by: "switchyard-sim",
    }));
    return send(res, 200, JSON.stringify({ object: "list", data }));
  }
  let id: string;
  try {
    id = decodeURIComponent(path.slice("/sim/requests/".length));
  } catch {
    return sendProblem(res, invalid("the request id is not a valid URI component", null));
  }
  const rec = ctx.records.get(id);
  if (!rec) return sendProblem(res, notFound(`the sim saw no request with x-request-id '${id}'`));
  send(res, 200, JSON.stringify(rec));
}

/** The engines a control request addresses: all, or the one named by `?model=`. */
function targetEngines(ctx: Ctx, req: IncomingMessage): Map<string, SimEngine> | SimProblem {
  const model = new URL(req.url ?? "/", "http://sim").searchParams.get("model");
  if (model === null) return ctx.engines;
  const engine = ctx.engines.get(model);
  if (!engine) return { ...notFound(`the model '${model}' does not exist`), code: "model_not_found" };
  return new Map([[model, engine]]);
}

function sendFaults(res: ServerResponse, engines: Map<string, SimEngine>): void {
  const models: Record<string, unknown> = {};
  for (const [name, engine] of engines) {
    models[name] = { source: engine.faultsOverridden ? "runtime" : "settings", faults: engine.faults };
  }
  send(res, 200, JSON.stringify({ models }));
}

async function putFaults(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(req, 64 * 1024);
  if (raw === "aborted") return;
  const engines = targetEngines(ctx, req);
  if (!(engines instanceof Map)) return sendProblem(res, engines);
  if (raw === "too_large") {
    return sendProblem(res, {
      ...invalid("the faults body is too large", null, "payload_too_large"),
      status: 413,
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    return sendProblem(res, invalid("the request body is not valid JSON", null, "invalid_json"));
  }
  const parsed = runtimeFaultsSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.length > 0 ? issue.path.join(".") : null;
    return sendProblem(res, invalid(`${param ?? "faults"}: ${issue.message}`, param, "invalid_sim_fault"));
  }
  for (const engine of engines.values()) engine.setFaults(parsed.data);
  sendFaults(res, engines);
}

type ControlHandler = (ctx: Ctx, req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Endpoints for tests: runtime faults and request totals. */
const CONTROL: Record<string, Partial<Record<string, ControlHandler>>> = {
  "/sim/faults": {
    GET(ctx, req, res) {
      const engines = targetEngines(ctx, req);
      return engines instanceof Map ? sendFaults(res, engines) : sendProblem(res, engines);
    },
    PUT: putFaults,
    DELETE(ctx, req, res) {
      const engines = targetEngines(ctx, req);
      if (!(engines instanceof Map)) return sendProblem(res, engines);
      for (const engine of engines.values()) engine.setFaults(undefined);
      sendFaults(res, engines);
    },
  },
  "/sim/stats": { GET: (ctx, _req, res) => send(res, 200, JSON.stringify(ctx.stats.snapshot())) },
  "/sim/stats/reset": {
    POST(ctx, _req, res) {
      ctx.stats.reset();
      send(res, 200, JSON.stringify(ctx.stats.snapshot()));
    },
  },
};

function methodNotAllowed(res: ServerResponse, method: string | undefined, path: string, allow: string) {
  res.setHeader("allow", allow);
  sendProblem(res, {
    status: 405,
    message: `${method} is not allowed on ${path}; use ${allow}`,
    type: "invalid_request_error",
    param: null,
    code: "method_not_allowed",
  });
}

async function route(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  if (isKServePath(path)) return handleKServeHttp(ctx.kserve, req, res, path);
  const control = CONTROL[path];
  if (control) {
    const handler = control[req.method ?? ""];
    if (handler) return handler(ctx, req, res);
    req.resume();
    return methodNotAllowed(res, req.method, path, Object.keys(control).join(", "));
  }
  const op = OPS[path];
  const isGet = GET_PATHS.has(path) || (path.startsWith("/sim/requests/") && path.length > 14);
  if (op && req.method === "POST") return handlePost(ctx, op, req, res);
  if (isGet && (req.method === "GET" || req.method === "HEAD")) return handleGet(ctx, path, res);
  req.resume();
  if (op || isGet) return methodNotAllowed(res, req.method, path, op ? "POST" : "GET");
  sendProblem(res, notFound(`no route for ${req.method} ${path}`));
}

function buildEngines(models: SimServerOptions["models"]): Map<string, SimEngine> {
  const engines = new Map<string, SimEngine>();
  for (const { name, settings } of models) {
    if (engines.has(name)) throw new Error(`sim model '${name}' is configured twice`);
    engines.set(name, new SimEngine(settings));
  }
  return engines;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts an OpenAI-compatible simulated model server on plain `node:http`. */
export async function startSimServer(opts: SimServerOptions): Promise<SimServer> {
  const engines = buildEngines(opts.models);
  const tensors = new Map<string, SimTensorModel>();
  for (const [name, engine] of engines)
    if (engine.settings.type === "tensor") tensors.set(name, new SimTensorModel(name, engine));
  const metrics = createSimMetrics(engines);
  const records = new RequestRecords(opts.maxRecords ?? 10_000);
  const stats = new SimStats();
  const bodyLimit = opts.bodyLimitBytes ?? 32 * 1024 * 1024;
  const ctx: Ctx = {
    engines,
    metrics,
    records,
    stats,
    bodyLimit,
    logger: opts.logger,
    started: Date.now(),
    kserve: { tensors, records, stats, metrics, bodyLimit },
  };
  const server = createServer({ keepAlive: true }, (req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      ctx.logger?.error({ err, url: req.url }, "sim request failed");
      if (!res.headersSent)
        sendProblem(res, {
          status: 500,
          message: "internal sim error",
          type: "server_error",
          param: null,
          code: null,
        });
      else res.destroy();
    });
  });
  const port = await listen(server, opts.port, opts.host ?? "127.0.0.1");
  const grpc =
    opts.grpcPort === undefined
      ? undefined
      : await startSimGrpc({
          host: opts.host ?? "127.0.0.1",
          port: opts.grpcPort,
          engines,
          tensors,
          records,
          stats,
          maxMessageBytes: bodyLimit,
        }).catch((err: unknown) => {
          server.close();
          throw err;
        });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      grpc?.close();
      for (const model of tensors.values()) model.close();
      for (const engine of engines.values()) engine.close();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  return { port, grpcPort: grpc?.port, close };
}
