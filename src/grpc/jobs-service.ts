/** `switchyard.v1.Jobs`: the same job service as `/v1/jobs`, with the same idempotency keys. */
import type { ServerWritableStream } from "@grpc/grpc-js";
import { abortReason } from "../core/context.js";
import { GatewayError } from "../core/errors.js";
import { idempotencyKey } from "../jobs/idempotency.js";
import type { JobService } from "../jobs/service.js";
import type { PipelineResult } from "../pipeline/index.js";
import type { JobRecord } from "../store/job-types.js";
import { type CallDeps, type CallScope, serverStream, unary } from "./calls.js";
import { metaValue } from "./context.js";
import type { Job } from "./generated/switchyard/v1/Job.js";
import type { JobsHandlers } from "./generated/switchyard/v1/Jobs.js";
import type { SubmitJobRequest__Output } from "./generated/switchyard/v1/SubmitJobRequest.js";
import type { WatchJobRequest__Output } from "./generated/switchyard/v1/WatchJobRequest.js";
import { runMessage } from "./pipelines-service.js";
import { chatBody, completionBody, embedBody } from "./requests.js";
import { chatResponse, completionResponse, embedResponse } from "./responses.js";
import { fromStruct, fromTimestamp, toTimestamp } from "./struct.js";

export const JOBS_SERVICE = "switchyard.v1.Jobs";

export interface JobsDeps extends CallDeps {
  jobs: JobService;
  /** How often a Watch re-reads the job (changes made by other processes). */
  watchPollMs?: number;
}

/** The submission as `/v1/jobs` takes it. */
function submission(r: SubmitJobRequest__Output): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (r.request === "chat" && r.chat)
    Object.assign(out, { type: "chat.completion", request: chatBody(r.chat) });
  else if (r.request === "completion" && r.completion)
    Object.assign(out, { type: "completion", request: completionBody(r.completion) });
  else if (r.request === "embedding" && r.embedding)
    Object.assign(out, { type: "embedding", request: embedBody(r.embedding) });
  else if (r.request === "pipeline" && r.pipeline) {
    const p = r.pipeline;
    const request = { pipeline: p.name ?? "", input: fromStruct(p.input), debug: p.debug === true };
    Object.assign(out, { type: "pipeline", request });
  } else {
    throw new GatewayError("invalid_request", "Set one of 'chat', 'completion', 'embedding' or 'pipeline'.", {
      param: "request",
    });
  }
  if (r.priority !== undefined) out.priority = r.priority;
  const runAfter = fromTimestamp(r.run_after, "run_after");
  if (runAfter !== undefined) out.run_after = runAfter;
  const deadline = fromTimestamp(r.deadline, "deadline");
  if (deadline !== undefined) out.deadline = deadline;
  if (r.max_attempts !== undefined) out.max_attempts = r.max_attempts;
  if (r.webhook_url !== undefined) out.webhook = r.webhook_url;
  if (r.metadata && Object.keys(r.metadata).length > 0) out.metadata = r.metadata;
  return out;
}

/** The answer of a SUCCESS job as the message of its kind. */
function resultOf(job: JobRecord): Partial<Job> {
  const r = job.result;
  if (job.status !== "SUCCESS" || !r || typeof r !== "object" || Array.isArray(r)) return {};
  const body = r as Record<string, unknown>;
  switch (job.type) {
    case "chat.completion":
      return { chat: chatResponse(body) };
    case "completion":
      return { completion: completionResponse(body) };
    case "embedding":
      return { embedding: embedResponse(body) };
    case "pipeline":
      return { pipeline: runMessage(body as unknown as PipelineResult) };
    default:
      return {};
  }
}

/** A job record as the `Job` message. */
export function jobMessage(job: JobRecord): Job {
  const w = job.webhookState;
  return {
    id: job.id,
    type: job.type,
    status: `JOB_STATUS_${job.status}`,
    priority: job.priority,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    attempt_errors: job.attemptErrors.map((e) => ({ ...e, at: toTimestamp(e.at) })),
    created_at: toTimestamp(job.createdAt),
    updated_at: toTimestamp(job.updatedAt),
    started_at: toTimestamp(job.startedAt),
    finished_at: toTimestamp(job.finishedAt),
    run_after: toTimestamp(job.runAfter),
    deadline: toTimestamp(job.deadlineAt),
    ...resultOf(job),
    error: job.error ?? undefined,
    webhook: job.webhook
      ? {
          url: job.webhook.url,
          status: w?.status ?? "",
          attempts: w?.attempts ?? 0,
          last_status: w?.lastStatus ?? 0,
          last_error: w?.lastError ?? undefined,
          delivered_at: toTimestamp(w?.deliveredAt),
        }
      : undefined,
    metadata: job.metadata ?? {},
  };
}

/** Resolves after `ms`, on `wake()`, or when `signal` aborts. */
async function watch(d: JobsDeps, call: ServerWritableStream<WatchJobRequest__Output, Job>, s: CallScope) {
  const principal = await s.principal();
  const { signal } = s.ctx;
  const changes = await d.jobs.watch(principal, call.request.id ?? "", signal, d.watchPollMs);
  for await (const job of changes) await s.write(call, jobMessage(job));
  if (signal.aborted) throw abortReason(signal);
}

export function jobsHandlers(d: JobsDeps): JobsHandlers {
  const path = (m: string) => `/${JOBS_SERVICE}/${m}`;
  return {
    Submit: unary(d, path("Submit"), undefined, async (req: SubmitJobRequest__Output, s) => {
      const key = idempotencyKey(metaValue(s.call.metadata, "idempotency-key"));
      const principal = await s.principal();
      const { job, created } = await d.jobs.submit(principal, submission(req), {
        idempotencyKey: key,
        traceparent: s.ctx.traceparent,
        tracestate: s.ctx.tracestate,
      });
      if (!created) s.header("idempotent-replayed", "true");
      return jobMessage(job);
    }),
    Get: unary(d, path("Get"), undefined, async (req: { id?: string }, s) =>
      jobMessage(await d.jobs.get(await s.principal(), req.id ?? "")),
    ),
    Cancel: unary(d, path("Cancel"), undefined, async (req: { id?: string }, s) =>
      jobMessage(await d.jobs.cancel(await s.principal(), req.id ?? "")),
    ),
    Watch: serverStream(d, path("Watch"), undefined, (call, s) => watch(d, call, s)),
  };
}
