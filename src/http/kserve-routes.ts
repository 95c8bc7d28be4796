import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { checkModelAllowed } from "../auth/authenticate.js";
import { ANONYMOUS, type Principal } from "../auth/principal.js";
import { isKServeBackend } from "../backends/kserve.js";
import { parseInferRequest, TensorError } from "../backends/kserve-tensors.js";
import type { BatchingFront } from "../batching/index.js";
import type { Config } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";
import { type Gate, runAdmitted, type Ticket } from "../policy/gate.js";
import type { Pool } from "../routing/pool.js";
import type { Router } from "../routing/router.js";
import { connectionKeyMemo } from "./key-memo.js";
import { deadlineFor, forwardHeaders, fromRequest } from "./request-options.js";

/**
 * The KServe v2 (Open Inference Protocol) routes of tensor models (`type: kserve`):
 *
 *   POST /v2/models/{name}/infer   JSON tensors through auth, limits, the router and a kserve-v2 endpoint
 *   GET  /v2/models/{name}         the model's metadata, asked of one of its endpoints
 *   GET  /v2/models/{name}/ready   200 while the model has an endpoint that can take requests, else 503
 *   GET  /v2/health/live, /v2/health/ready
 *
 * The upstream's model name and version come from the endpoint's config, never from the request.
 */

export interface KServeRouteDeps {
  config: Config;
  router: Router;
  gate: Gate;
  /** The way to the router: concatenates requests of models with `batching:` along the batch dimension. */
  front: BatchingFront;
}

type NameParams = { Params: { name: string } };

function principalOf(request: FastifyRequest): Principal {
  return request.principal ?? ANONYMOUS;
}

export function registerKServeRoutes(app: FastifyInstance, deps: KServeRouteDeps): void {
  app.get("/v2/health/live", async () => ({ live: true }));
  app.get("/v2/health/ready", async (_request, reply) => {
    const pools = deps.router.models().filter((p) => p.type === "kserve");
    const ready = pools.every((p) => p.endpoints.some((e) => e.healthy));
    return reply.code(ready ? 200 : 503).send({ ready });
  });
  app.register(async (v2) => {
    if (!deps.gate.open) {
      v2.addHook("onRequest", async (request) => {
        request.principal = await deps.gate.authenticate(
          request.headers,
          request.ctx,
          connectionKeyMemo(request),
        );
      });
    }
    v2.post<NameParams>("/v2/models/:name/infer", (request, reply) => infer(request, reply, deps));
    v2.get<NameParams>("/v2/models/:name", (request) => metadata(request, deps));
    v2.get<NameParams>("/v2/models/:name/ready", async (request, reply) => {
      const pool = poolFor(request, deps);
      const ready = pool.endpoints.some((e) => e.healthy);
      return reply.code(ready ? 200 : 503).send({ name: pool.name, ready });
    });
  });
}

/** The pool of a tensor model the caller may use (404 / 400 / 403 otherwise). */
function poolFor(request: FastifyRequest<NameParams>, deps: KServeRouteDeps): Pool {
  const name = request.params.name;
  const pool = deps.router.resolve("infer", name);
  checkModelAllowed(principalOf(request), name);
  return pool;
}

async function infer(request: FastifyRequest<NameParams>, reply: FastifyReply, deps: KServeRouteDeps) {
  const ctx = request.ctx;
  const { deadlines, server, compression } = deps.config;
  ctx.setDeadline(deadlineFor("infer", request.headers[deadlines.header], deadlines));
  const model = request.params.name;
  deps.router.resolve("infer", model);
  let parsed: ReturnType<typeof parseInferRequest>;
  try {
    parsed = parseInferRequest(request.body);
  } catch (err) {
    throw err instanceof TensorError ? err.toGatewayError() : err;
  }
  // The public name rides along as `model` (as on the OpenAI routes); the client's bytes stay as they are.
  const body: Record<string, unknown> = { ...parsed, model };
  const principal = principalOf(request);
  const admitted = deps.gate.admit(principal, "infer", model, body, { earlyStart: true });
  const setLimitHeaders = (ticket: Ticket) => {
    for (const [k, v] of Object.entries(ticket.headers)) reply.raw.setHeader(k, v);
  };
  const result = await runAdmitted(admitted, ctx, setLimitHeaders, () =>
    deps.front.execute(
      {
        op: "infer",
        model,
        body,
        raw: request.rawBody,
        stream: false,
        clientWantsStreamUsage: false,
        priority: principal.priority ?? (request.headers["x-switchyard-priority"] as string | undefined),
        forwardHeaders: forwardHeaders(server.forwardHeaders, fromRequest(request)),
      },
      ctx,
    ),
  );
  if (result.kind !== "json")
    throw new GatewayError("internal_error", "tensor inference answered with a stream");
  reply.type("application/json");
  if (
    compression.enabled &&
    request.headers["accept-encoding"] !== undefined &&
    result.payload.length >= compression.thresholdBytes
  )
    return reply.compress(result.payload);
  return reply.send(result.payload);
}

/** Metadata from the first endpoint that answers, under the public model name. */
async function metadata(request: FastifyRequest<NameParams>, deps: KServeRouteDeps) {
  const pool = poolFor(request, deps);
  const signal = AbortSignal.any([request.ctx.signal, AbortSignal.timeout(pool.cfg.healthCheck.timeoutMs)]);
  let last: unknown;
  for (const ep of pool.endpoints) {
    if (!ep.available() || !isKServeBackend(ep.backend)) continue;
    try {
      const meta = await ep.backend.modelMetadata(signal);
      return { ...meta, name: pool.name };
    } catch (err) {
      last = err;
      if (signal.aborted) break;
    }
  }
  if (last instanceof GatewayError) throw last;
  throw new GatewayError(
    "no_endpoint_available",
    `No endpoint of '${pool.name}' answered with its metadata.`,
  );
}
