import type { IncomingMessage, ServerResponse } from "node:http";
import { parseInferRequest } from "../backends/kserve-tensors.js";
import type { SimTensorModel } from "./kserve-model.js";
import type { SimMetrics } from "./metrics.js";
import type { RequestRecords, SimStats } from "./records.js";

/**
 * The sim's KServe v2 HTTP/JSON routes (Open Inference Protocol REST): health, server and model
 * metadata, model readiness and `POST /v2/models/{name}[/versions/{v}]/infer`. Errors are
 * `{"error": "message"}`, as KServe servers answer.
 */

export interface KServeHttpContext {
  tensors: ReadonlyMap<string, SimTensorModel>;
  records: RequestRecords;
  stats: SimStats;
  metrics: SimMetrics;
  bodyLimit: number;
}

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/;

export function isKServePath(path: string): boolean {
  return path === "/v2" || path.startsWith("/v2/");
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(";") : v;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too_large" | "aborted"> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on("end", () => resolve(size > limit ? "too_large" : Buffer.concat(chunks)));
    req.on("error", () => resolve("aborted"));
    req.on("close", () => resolve("aborted"));
  });
}

/** Answers one `/v2…` request. */
export async function handleKServeHttp(
  ctx: KServeHttpContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const method = req.method ?? "GET";
  if (path === "/v2/health/live") return send(res, 200, { live: true });
  if (path === "/v2/health/ready") return send(res, 200, { ready: true });
  if (path === "/v2") return send(res, 200, { name: "switchyard-sim", version: "1", extensions: [] });
  const m = MODEL_PATH.exec(path);
  if (!m) return send(res, 404, { error: `no route for ${method} ${path}` });
  let name: string;
  let version: string | undefined;
  try {
    name = decodeURIComponent(m[1]!);
    version = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
  } catch {
    return send(res, 400, { error: "the model name is not a valid URI component" });
  }
  const model = ctx.tensors.get(name);
  const action = m[3];
  if (action === "/infer") {
    if (method !== "POST")
      return send(res, 405, { error: `${method} is not allowed; use POST` }, { allow: "POST" });
    return infer(ctx, req, res, name, model, version);
  }
  req.resume();
  if (method !== "GET" && method !== "HEAD")
    return send(res, 405, { error: `${method} is not allowed; use GET` }, { allow: "GET" });
  if (!model?.hasVersion(version))
    return send(res, 404, { error: `unknown model '${name}'${version ? ` version ${version}` : ""}` });
  if (action === "/ready") return send(res, 200, { name, ready: true });
  return send(res, 200, model.metadata());
}

async function infer(
  ctx: KServeHttpContext,
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  model: SimTensorModel | undefined,
  version: string | undefined,
): Promise<void> {
  const requestId = header(req, "x-request-id");
  const attempt = requestId
    ? ctx.records.arrive(requestId, header(req, "traceparent"), header(req, "tracestate"))
    : undefined;
  const ended = ctx.stats.arrive();
  const route = "/v2/models/:name/infer";
  const controller = new AbortController();
  let reset = false;
  const outcome = (o: string) => {
    ctx.metrics.countRequest(model ? name : "", route, o);
    ended(o);
  };
  const answer = (status: number, body: unknown, headers: Record<string, string | number> = {}) => {
    attempt?.firstByte(status);
    res.once("finish", () => attempt?.end("completed"));
    outcome(String(status));
    send(res, status, body, headers);
  };
  res.on("close", () => {
    if (res.writableFinished || reset) return;
    controller.abort(new Error("client closed the connection"));
    attempt?.end("client_closed");
    outcome("client_closed");
  });
  if (requestId) res.setHeader("x-request-id", requestId);
  const raw = await readBody(req, ctx.bodyLimit);
  if (raw === "aborted" || controller.signal.aborted) return;
  if (raw === "too_large") return answer(413, { error: `the request body exceeds ${ctx.bodyLimit} bytes` });
  if (!model?.hasVersion(version)) return answer(404, { error: `unknown model '${name}'` });
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    return answer(400, { error: "the request body is not valid JSON" });
  }
  let parsed: ReturnType<typeof parseInferRequest>;
  try {
    parsed = parseInferRequest(body);
  } catch (err) {
    return answer(400, { error: (err as Error).message });
  }
  model.infer(
    {
      req: parsed,
      fault: header(req, "x-sim-fault"),
      attempt: attempt?.number ?? 1,
      signal: controller.signal,
    },
    {
      ok: (out) => answer(200, out),
      fail: (status, message, retryAfter) =>
        answer(status, { error: message }, retryAfter === undefined ? {} : { "retry-after": retryAfter }),
      reset: () => {
        reset = true;
        attempt?.end("reset");
        outcome("reset");
        res.socket?.resetAndDestroy();
      },
    },
  );
}
