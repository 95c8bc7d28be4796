import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ANONYMOUS, type Principal } from "../auth/principal.js";
import type { Config } from "../config/schema.js";
import { abortReason } from "../core/context.js";
import { GatewayError, toGatewayError } from "../core/errors.js";
import type { PipelineEvent, PipelineRunner, StepReport } from "../pipeline/index.js";
import type { Gate } from "../policy/gate.js";
import { connectionKeyMemo } from "./key-memo.js";
import { forwardHeaders, fromRequest, requestDeadline } from "./request-options.js";
import { endClean, endWithError, SSE_HEADERS } from "./sse.js";

export interface PipelineRouteDeps {
  config: Config;
  gate: Gate;
  pipelines: PipelineRunner;
}

type NameParams = { Params: { name: string }; Querystring: Record<string, string | undefined> };

/**
 * `/v1/pipelines`: list the pipelines, describe one, run one (JSON, or SSE with `?stream=true`).
 * Each step is a router call counted against the caller's limits; see docs/pipelines.md.
 */
export function registerPipelineRoutes(app: FastifyInstance, deps: PipelineRouteDeps): void {
  const { pipelines } = deps;
  app.register(async (v1) => {
    if (!deps.gate.open) {
      v1.addHook("onRequest", async (request) => {
        request.principal = await deps.gate.authenticate(
          request.headers,
          request.ctx,
          connectionKeyMemo(request),
        );
      });
    }
    v1.get("/v1/pipelines", async (request) => ({
      object: "list",
      data: pipelines.list(principalOf(request)),
    }));
    v1.get<NameParams>("/v1/pipelines/:name", async (request) => {
      const p = pipelines.get(request.params.name);
      pipelines.authorize(principalOf(request), p);
      return pipelines.info(p);
    });
    v1.post<NameParams>("/v1/pipelines/:name", (request, reply) => run(request, reply, deps));
  });
}

function principalOf(request: FastifyRequest): Principal {
  return request.principal ?? ANONYMOUS;
}

/** `?debug=true`, `?stream=1`: true, false, 1, 0, or present without a value (true). */
function flag(q: Record<string, string | undefined>, name: string): boolean {
  const v = q[name];
  if (v === undefined || v === "false" || v === "0") return false;
  if (v === "" || v === "true" || v === "1") return true;
  throw new GatewayError("invalid_request", `${name} must be true or false.`, { param: name });
}

function bodyInput(body: unknown): unknown {
  if (body === undefined) return {};
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new GatewayError("invalid_request", 'The request body must be a JSON object: {"input": {...}}.');
  }
  for (const k of Object.keys(body)) {
    if (k !== "input") throw new GatewayError("invalid_request", `Unknown parameter: '${k}'.`, { param: k });
  }
  return (body as { input?: unknown }).input;
}

/** A step's report in an event: its output only with `?debug=true`. */
function eventData(e: PipelineEvent, debug: boolean): Record<string, unknown> {
  if (e.type !== "step.finished") return { ...e, type: undefined };
  const { output, ...rest } = e.report as StepReport;
  return { step: e.step, ...rest, ...(debug ? { output } : {}) };
}

async function run(request: FastifyRequest<NameParams>, reply: FastifyReply, deps: PipelineRouteDeps) {
  const { pipelines, config } = deps;
  const ctx = request.ctx;
  const debug = flag(request.query, "debug");
  const stream = flag(request.query, "stream");
  const p = pipelines.get(request.params.name);
  const principal = principalOf(request);
  pipelines.authorize(principal, p);
  const input = pipelines.validateInput(p, bodyInput(request.body));
  const { deadlines } = config;
  ctx.setDeadline(requestDeadline(p.timeoutMs, request.headers[deadlines.header], deadlines));
  const opts = {
    principal,
    ctx,
    input,
    debug,
    forwardHeaders: forwardHeaders(config.server.forwardHeaders, fromRequest(request)),
    priority: request.headers["x-switchyard-priority"] as string | undefined,
  };
  if (!stream) return reply.send(await pipelines.run(p, opts));
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, SSE_HEADERS);
  ctx.streamStarted = true;
  const send = (event: string, data: unknown) => {
    if (!res.destroyed && !res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  try {
    const result = await pipelines.run(p, {
      ...opts,
      stream: true,
      onEvent: (e) => send(e.type, eventData(e, debug)),
    });
    send("result", result);
    endClean(res);
  } catch (err) {
    endWithError(res, ctx.signal.aborted ? abortReason(ctx.signal) : toGatewayError(err), ctx);
  }
}
