import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { GatewayError } from "../core/errors.js";
import { idempotencyKey } from "../jobs/idempotency.js";
import type { JobService } from "../jobs/service.js";
import { jobView } from "../jobs/service.js";
import type { Gate } from "../policy/gate.js";
import { connectionKeyMemo } from "./key-memo.js";
import { SSE_HEADERS } from "./sse.js";

export interface JobRouteDeps {
  gate: Gate;
  jobs: JobService;
  /** How often an events stream re-reads the job (changes made by other processes). */
  eventsPollMs?: number;
}

type IdParams = { Params: { id: string } };

/** `/v1/jobs`: submit, read, list, cancel, retry, and an SSE stream of a job's state changes. */
export function registerJobRoutes(app: FastifyInstance, deps: JobRouteDeps): void {
  const { jobs } = deps;
  app.register(async (v1) => {
    // Every job belongs to a principal, the anonymous one when no credentials are checked; only
    // checked keys need the connection's memo.
    const open = deps.gate.open;
    v1.addHook("onRequest", async (request) => {
      const memo = open ? undefined : connectionKeyMemo(request);
      request.principal = await deps.gate.authenticate(request.headers, request.ctx, memo);
    });
    v1.post("/v1/jobs", async (request, reply) => {
      const key = idempotencyKey(request.headers["idempotency-key"]);
      const { job, created } = await jobs.submit(request.principal, request.body, {
        idempotencyKey: key,
        rawBody: request.rawBody,
        traceparent: request.ctx.traceparent,
        tracestate: request.ctx.tracestate,
      });
      if (!created) reply.header("idempotent-replayed", "true");
      return reply.code(created ? 202 : 200).send(jobView(job));
    });
    v1.get<{ Querystring: { status?: string; limit?: string; after?: string } }>(
      "/v1/jobs",
      async (request) => {
        const q = request.query;
        const limit = q.limit === undefined ? 20 : Number(q.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
          throw new GatewayError("invalid_request", "limit must be a whole number from 1 to 100.", {
            param: "limit",
          });
        }
        const page = await jobs.list(request.principal, q.status, limit + 1, q.after);
        const data = page.slice(0, limit);
        return {
          object: "list",
          data: data.map(jobView),
          has_more: page.length > limit,
          first_id: data[0]?.id ?? null,
          last_id: data.at(-1)?.id ?? null,
        };
      },
    );
    v1.get<IdParams>("/v1/jobs/:id", async (request) =>
      jobView(await jobs.get(request.principal, request.params.id)),
    );
    v1.post<IdParams>("/v1/jobs/:id/cancel", async (request) =>
      jobView(await jobs.cancel(request.principal, request.params.id)),
    );
    v1.post<IdParams>("/v1/jobs/:id/retry", async (request, reply) =>
      reply.code(202).send(jobView(await jobs.retry(request.principal, request.params.id))),
    );
    v1.get<IdParams>("/v1/jobs/:id/events", (request, reply) => streamEvents(request, reply, deps));
  });
}

function _header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Sends `event: job` with the job on every state change, and ends once the job is finished. */
async function streamEvents(request: FastifyRequest<IdParams>, reply: FastifyReply, deps: JobRouteDeps) {
  const signal = request.ctx.signal;
  const changes = await deps.jobs.watch(request.principal, request.params.id, signal, deps.eventsPollMs);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, SSE_HEADERS);
  try {
    for await (const job of changes) {
      if (res.destroyed) break;
      res.write(`event: job\ndata: ${JSON.stringify(jobView(job))}\n\n`);
    }
  } finally {
    if (!res.destroyed && !res.writableEnded) res.end("data: [DONE]\n\n");
  }
}
