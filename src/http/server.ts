import type { ServerResponse } from "node:http";
import { constants as zlib } from "node:zlib";
import compress from "@fastify/compress";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import type { Principal } from "../auth/principal.js";
import { BatchingFront } from "../batching/index.js";
import type { Config } from "../config/schema.js";
import { RequestContext } from "../core/context.js";
import { errorBody, GatewayError } from "../core/errors.js";
import type { JobsRuntime } from "../jobs/runtime.js";
import type { Observability } from "../observability/index.js";
import { type AccessLog, accessFields, type Logger } from "../observability/logger.js";
import type { PipelineRunner } from "../pipeline/index.js";
import type { Gate } from "../policy/gate.js";
import type { Router } from "../routing/router.js";
import type { Store } from "../store/types.js";
import { registerAdminRoutes } from "./admin-routes.js";
import { fromFastifyError, MAX_PATH_SEGMENT_CHARS, sendError } from "./errors.js";
import { registerJobRoutes } from "./job-routes.js";
import { registerKServeRoutes } from "./kserve-routes.js";
import { registerModelRoutes } from "./model-routes.js";
import { registerPipelineRoutes } from "./pipeline-routes.js";

declare module "fastify" {
  interface FastifyRequest {
    ctx: RequestContext;
    rawBody: Buffer | undefined;
    principal: Principal;
  }
}

/** Content-Encodings of request bodies the gateway decodes. */
const REQUEST_ENCODINGS = ["gzip", "deflate", "br", "identity"] as const;

const NO_USAGE = Object.freeze({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

/** The Fastify request a raw response belongs to, until the response closes. */
const REQUEST = Symbol("switchyard.request");
type TaggedResponse = ServerResponse & { [REQUEST]?: FastifyRequest };

export interface HttpDeps {
  config: Config;
  router: Router;
  logger: Logger;
  /** Writes the per-request access lines (fixed fields only, so it skips redaction). */
  accessLogger: AccessLog;
  /** Requests in flight, so shutdown can cut what outlives the grace period. */
  inFlight: Set<RequestContext>;
  isDraining(): boolean;
  gate: Gate;
  store: Store | undefined;
  /** Request metrics and spans (none when absent). */
  observability?: Observability;
  /** Async jobs (`/v1/jobs` and `Idempotency-Key` on the model routes); none when disabled. */
  jobs?: JobsRuntime;
  /** Multi-model pipelines (`/v1/pipelines`); none when absent. */
  pipelines?: PipelineRunner;
}

const KNOWN_PATHS = new Set([
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
  "/v1/models",
  "/v1/pipelines",
  "/healthz",
  "/readyz",
]);

/** Builds the HTTP front door. Routes are thin: everything else is hooks, the router and the error handler. */
export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const { config, logger } = deps;
  const app = Fastify({
    logger: false,
    bodyLimit: config.server.bodyLimitBytes,
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    forceCloseConnections: "idle",
    return503OnClosing: false,
    http: { maxHeaderSize: config.server.maxHeaderBytes },
    // Model names run to 128 characters and may be percent-encoded (`/` as %2F) in /v2/models/{name}.
    routerOptions: { maxParamLength: MAX_PATH_SEGMENT_CHARS },
    // Errors Fastify's router raises before any hook runs (a bad percent-encoding, an overlong path
    // segment): answered in the one error shape, with the request's ids, like every other error.
    frameworkErrors: (err, request, reply) => {
      beginRequest(request, reply.raw as TaggedResponse);
      const e = fromFastifyError(err);
      request.ctx.errorCode = e.code;
      return sendError(reply, e, request.ctx.traceId);
    },
    clientErrorHandler: (err, socket) => {
      const code = (err as NodeJS.ErrnoException).code;
      const tooLarge = code === "HPE_HEADER_OVERFLOW";
      const e = tooLarge
        ? new GatewayError("headers_too_large", "The request headers are too large.")
        : new GatewayError("invalid_request", "Malformed HTTP request.");
      if (socket.writable) {
        const body = JSON.stringify(errorBody(e));
        socket.end(
          `HTTP/1.1 ${e.status} ${tooLarge ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
            `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      } else {
        socket.destroy();
      }
    },
  });

  app.decorateRequest("ctx", null as unknown as RequestContext);
  app.decorateRequest("rawBody", undefined);
  app.decorateRequest("principal", null as unknown as Principal);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const buf = body as Buffer;
    request.rawBody = buf;
    if (buf.length === 0) {
      // An empty body is fine where none is expected (DELETE, GET with a stray content type).
      if (request.method !== "POST" && request.method !== "PUT") return done(null, undefined);
      return done(new GatewayError("invalid_json", "The request body is empty."));
    }
    try {
      done(null, JSON.parse(buf.toString("utf8")));
    } catch (err) {
      done(new GatewayError("invalid_json", `The request body is not valid JSON: ${(err as Error).message}`));
    }
  });

  // The end of every request, however it ends: one shared listener (the request rides on the response).
  function onResponseClose(this: TaggedResponse): void {
    const request = this[REQUEST];
    if (!request) return;
    this[REQUEST] = undefined;
    const ctx = request.ctx;
    deps.inFlight.delete(ctx);
    if (!this.writableFinished) {
      ctx.abort(new GatewayError("client_closed_request", "the client closed the connection"));
    }
    ctx.finish();
    // Settle limits and usage: real usage when known; nothing produced when the request failed
    // before a stream started; unknown (the reservation stands) when a started stream was cut.
    ctx.ticket?.finish(ctx.usage ?? (ctx.streamStarted ? null : NO_USAGE));
    // While draining, a keep-alive connection that just went idle is closed so shutdown need not wait for it.
    if (deps.isDraining()) setImmediate(() => app.server.closeIdleConnections());
    const route = request.routeOptions.url;
    deps.observability?.requestEnd(ctx, route, this.statusCode);
    if (config.logging.accessLog) {
      accessLog(deps.accessLogger, request.method, route ?? request.url, this.statusCode, ctx);
    }
  }

  /** Starts a request's context: ids and trace headers on the response, metrics, the end-of-request listener. */
  function beginRequest(request: FastifyRequest, res: TaggedResponse): void {
    const ctx = new RequestContext({
      traceparent: request.headers.traceparent as string | undefined,
      tracestate: request.headers.tracestate,
      requestId: request.headers["x-request-id"] as string | undefined,
    });
    request.ctx = ctx;
    deps.observability?.requestStart(ctx, request.method, request.url);
    res.setHeader("x-request-id", ctx.requestId);
    res.setHeader("traceparent", ctx.traceparent);
    deps.inFlight.add(ctx);
    res[REQUEST] = request;
    res.on("close", onResponseClose);
  }

  app.addHook("onRequest", (request, reply, done) => {
    beginRequest(request, reply.raw as TaggedResponse);
    if (deps.isDraining()) {
      reply.raw.setHeader("connection", "close");
      return done(new GatewayError("shutting_down", "The gateway is shutting down."));
    }
    done();
  });

  app.setErrorHandler((err, request, reply) => {
    const e = fromFastifyError(err);
    if (e.code === "internal_error")
      logger.error({ err, trace_id: request.ctx?.traceId, span_id: request.ctx?.spanId }, "unexpected error");
    if (request.ctx) request.ctx.errorCode = e.code;
    // Fastify asks to close the connection after any body parser error, in case the client is still
    // sending. A body refused as bad JSON was read to its end, so the connection stays usable.
    if (e.code === "invalid_json") reply.removeHeader("connection");
    return sendError(reply, e, request.ctx?.traceId);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    const e = KNOWN_PATHS.has(path)
      ? new GatewayError("method_not_allowed", `Method ${request.method} is not allowed on ${path}.`)
      : new GatewayError("not_found", `No route for ${request.method} ${path}.`);
    request.ctx.errorCode = e.code;
    return sendError(reply, e, request.ctx.traceId);
  });

  // Not global for answers: only large JSON answers are compressed, through reply.compress in the
  // model routes (when `compression.enabled`), so no other request pays for it. Request bodies sent
  // with a Content-Encoding are decoded on every route; `server.bodyLimitBytes` counts the decoded bytes.
  await app.register(compress, {
    global: false,
    globalDecompression: true,
    threshold: config.compression.thresholdBytes,
    encodings: ["br", "gzip"],
    brotliOptions: { params: { [zlib.BROTLI_PARAM_QUALITY]: 4 } },
    zlibOptions: { level: 5 },
    requestEncodings: [...REQUEST_ENCODINGS],
    onUnsupportedRequestEncoding: (encoding) =>
      new GatewayError(
        "unsupported_media_type",
        `Content-Encoding '${String(encoding).slice(0, 40)}' is not supported (use ${REQUEST_ENCODINGS.join(", ")}).`,
      ),
    // Copied onto the stream's error by the plugin (so a plain object with a message, mapped in errors.ts).
    onInvalidRequestPayload: (encoding) => ({
      name: "InvalidRequestPayload",
      code: "FST_CP_ERR_INVALID_CONTENT",
      statusCode: 400,
      message: `The request body could not be decoded as ${encoding}.`,
    }),
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const models: Record<string, { ready: boolean; endpoints: number; healthy: number }> = {};
    let ready = !deps.isDraining();
    for (const pool of deps.router.models()) {
      const healthy = pool.endpoints.filter((e) => e.healthy).length;
      models[pool.name] = { ready: healthy > 0, endpoints: pool.endpoints.length, healthy };
      if (healthy === 0) ready = false;
    }
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", models });
  });
  deps.observability?.registerRoutes(app);
  // One batching front for every front door route: models with `batching:` merge requests there.
  const front = new BatchingFront({ router: deps.router, observer: deps.observability?.router });
  registerModelRoutes(app, {
    config,
    router: deps.router,
    gate: deps.gate,
    idempotency: deps.jobs?.idempotency,
    front,
  });
  registerKServeRoutes(app, { config, router: deps.router, gate: deps.gate, front });
  if (deps.jobs) registerJobRoutes(app, { gate: deps.gate, jobs: deps.jobs.service });
  if (deps.pipelines) registerPipelineRoutes(app, { config, gate: deps.gate, pipelines: deps.pipelines });
  registerAdminRoutes(app, {
    router: deps.router,
    gate: deps.gate,
    adminKeySet: Boolean(config.auth.adminKey),
    store: deps.store,
  });
  return app;
}

function accessLog(log: AccessLog, method: string, route: string, status: number, ctx: RequestContext): void {
  log.write(accessFields(ctx, method, route, status));
}
