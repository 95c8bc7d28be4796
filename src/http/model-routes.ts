import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ANONYMOUS, type Principal } from "../auth/principal.js";
import type { BatchingFront } from "../batching/index.js";
import type { Config } from "../config/schema.js";
import { abortReason, type RequestContext } from "../core/context.js";
import { toGatewayError } from "../core/errors.js";
import type { Operation, RouteRequest, StreamResult } from "../core/types.js";
import { runIdempotent, type SyncIdempotency } from "../jobs/idempotency.js";
import { type Gate, runAdmitted, type Ticket } from "../policy/gate.js";
import type { Router } from "../routing/router.js";
import { connectionKeyMemo } from "./key-memo.js";
import { deadlineFor, forwardHeaders, fromRequest } from "./request-options.js";
import { drained, endClean, endWithError, SSE_HEADERS, writeEvent } from "./sse.js";
import { validateBody } from "./validation.js";

export interface ModelRouteDeps {
  config: Config;
  router: Router;
  gate: Gate;
  /** `Idempotency-Key` on non-streaming calls (from the jobs module); none when jobs are off. */
  idempotency?: SyncIdempotency;
  /** The way to the router: merges requests of models with `batching:` (src/batching), else passes through. */
  front: BatchingFront;
}

const ROUTES: ReadonlyArray<[string, Operation]> = [
  ["/v1/chat/completions", "chat"],
  ["/v1/completions", "completion"],
  ["/v1/embeddings", "embedding"],
];

/** The OpenAI-compatible model routes: parse, call the router, write. Nothing else lives here. */
export function registerModelRoutes(app: FastifyInstance, deps: ModelRouteDeps): void {
  const { front } = deps;
  app.register(async (v1) => {
    // Every /v1 route authenticates first, before its body is read.
    // With auth.mode none everyone is the anonymous principal: no hook, no promise per request; a
    // cached key is answered in the same turn too.
    if (!deps.gate.open) {
      v1.addHook("onRequest", (request, _reply, done) => {
        const principal = deps.gate.authenticate(request.headers, request.ctx, connectionKeyMemo(request));
        if (!(principal instanceof Promise)) {
          request.principal = principal;
          done();
          return;
        }
        principal.then((p) => {
          request.principal = p;
          done();
        }, done);
      });
    }
    for (const [url, op] of ROUTES) {
      v1.post(url, (request, reply) => handle(op, request, reply, deps, front));
    }
    v1.get("/v1/models", async (request) => ({
      object: "list",
      data: deps.router
        .models()
        .filter((p) => principalOf(request).allowedModels?.includes(p.name) ?? true)
        .map((p) => ({ id: p.name, object: "model", created: 0, owned_by: "switchyard", type: p.type })),
    }));
  });
}

/** The caller: set by the auth hook, or anonymous when no credentials are checked. */
function principalOf(request: FastifyRequest): Principal {
  return request.principal ?? ANONYMOUS;
}

async function handle(
  op: Operation,
  request: FastifyRequest,
  reply: FastifyReply,
  deps: ModelRouteDeps,
  front: BatchingFront,
) {
  const ctx = request.ctx;
  const { deadlines, server } = deps.config;
  ctx.setDeadline(deadlineFor(op, request.headers[deadlines.header], deadlines));
  const body = validateBody(op, request.body);
  const model = body.model as string;
  deps.router.resolve(op, model);
  const principal = principalOf(request);
  // Idempotency-Key: a repeated non-streaming call gets the first call's stored answer (src/jobs).
  // Such a call never starts before its reservation is allowed: its answer is stored for repeats.
  const idemKey = request.headers["idempotency-key"];
  const admitted = deps.gate.admit(principal, op, model, body, { earlyStart: idemKey === undefined });
  const stream = op !== "embedding" && body.stream === true;
  const opts = body.stream_options as { include_usage?: unknown } | null | undefined;
  const routeReq: RouteRequest = {
    op,
    model,
    body,
    raw: request.rawBody,
    stream,
    clientWantsStreamUsage: opts?.include_usage === true,
    // A principal's own priority class wins over what the request asks for.
    priority: principal.priority ?? (request.headers["x-switchyard-priority"] as string | undefined),
    forwardHeaders: forwardHeaders(server.forwardHeaders, fromRequest(request)),
  };
  const setLimitHeaders = (ticket: Ticket) => {
    const limitHeaders = ticket.headers;
    for (const k in limitHeaders) reply.raw.setHeader(k, limitHeaders[k] as string);
  };
  const result = await runAdmitted(admitted, ctx, setLimitHeaders, () =>
    idemKey === undefined
      ? front.execute(routeReq, ctx)
      : runIdempotent(
          deps.idempotency,
          idemKey,
          { principalId: principal.id, body: request.rawBody, stream },
          (r, c) => front.execute(r, c),
        )(routeReq, ctx),
  );
  if (result.kind === "json") {
    reply.type("application/json");
    const { compression } = deps.config;
    if (
      compression.enabled &&
      request.headers["accept-encoding"] !== undefined &&
      result.payload.length >= compression.thresholdBytes
    ) {
      return reply.compress(result.payload);
    }
    return reply.send(result.payload);
  }
  return pipeStream(reply, result, ctx);
}

/**
 * Sends a stream as SSE. The first event is awaited before any header is written, so a stream that
 * fails before its first token still gets a proper status code; after that, errors end the stream
 * with a final error event.
 */
async function pipeStream(reply: FastifyReply, result: StreamResult, ctx: RequestContext): Promise<void> {
  const it = result.events[Symbol.asyncIterator]();
  const first = await it.next();
  reply.hijack();
  const res = reply.raw;
  // The status line and headers leave with the first event, in one write.
  res.writeHead(200, SSE_HEADERS);
  ctx.streamStarted = true;
  try {
    let next = first;
    while (!next.done) {
      if (!writeEvent(res, next.value)) await drained(res, ctx);
      next = await it.next();
    }
    endClean(res);
  } catch (err) {
    const e = ctx.signal.aborted ? abortReason(ctx.signal) : toGatewayError(err);
    endWithError(res, e, ctx);
    await it.return?.(undefined);
  }
}
