import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { z } from "zod";
import { checkModelAllowed } from "../auth/authenticate.js";
import type { Principal } from "../auth/principal.js";
import type { RequestContext } from "../core/context.js";
import { GatewayError } from "../core/errors.js";
import { newTraceId } from "../core/ids.js";
import type { Operation } from "../core/types.js";
import { validateBody } from "../http/validation.js";
import type { Router } from "../routing/router.js";
import {
  type CreateJobResult,
  JOB_STATUSES,
  type JobRecord,
  type JobStatus,
  type JobType,
  TERMINAL_STATUSES,
} from "../store/job-types.js";
import type { Store } from "../store/types.js";
import type { JobsConfig } from "./config.js";
import type { Queue } from "./queue/types.js";
import type { WebhookGuard } from "./webhooks.js";

export const JOB_OPS: Record<Exclude<JobType, "pipeline">, Operation> = {
  "chat.completion": "chat",
  completion: "completion",
  embedding: "embedding",
};

/** 9999-12-31T23:59:59Z: the last second an ISO 8601 time (and a protobuf Timestamp) can name. */
export const LATEST_EPOCH_SECONDS = 253_402_300_799;
const when = z.union([z.number().nonnegative().max(LATEST_EPOCH_SECONDS), z.iso.datetime({ offset: true })]);
export const submissionSchema = z
  .object({
    type: z.enum(["chat.completion", "completion", "embedding", "pipeline"]),
    request: z.record(z.string(), z.unknown()),
    priority: z.number().int().min(-1000).max(1000).optional(),
    /** Not before: epoch seconds or an ISO 8601 time. */
    run_after: when.optional(),
    /** Give up after: epoch seconds or an ISO 8601 time. */
    deadline: when.optional(),
    max_attempts: z.number().int().min(1).max(100).optional(),
    webhook: z
      .union([z.string(), z.object({ url: z.string() }).strict()])
      .optional()
      .transform((w) => (typeof w === "string" ? { url: w } : w)),
    metadata: z
      // A key `__proto__` would be skipped by the record's parsing and lost: refused, not dropped.
      .custom<unknown>()
      .refine(
        (m) => m === null || typeof m !== "object" || !Object.hasOwn(m, "__proto__"),
        "the metadata key __proto__ is reserved",
      )
      .pipe(
        z
          .record(z.string().max(64), z.string().max(512))
          .refine((m) => Object.keys(m).length <= 16, "at most 16 metadata keys"),
      )
      .optional(),
  })
  .strict();

/** Epoch milliseconds, whole (the store keeps integers): fractional epoch seconds round to the nearest ms. */
const toMs = (v: number | string): number => (typeof v === "number" ? Math.round(v * 1000) : Date.parse(v));

/** In-process notifications: job state changes (SSE) and cancels (running workers). */
export class JobSignals extends EventEmitter {
  constructor() {
    super();
    this.setMaxListeners(0);
  }
  changed(job: JobRecord): void {
    this.emit(`job:${job.id}`, job);
  }
  /** Whether anything in this process follows the job's changes (an events stream). */
  watched(id: string): boolean {
    return this.listenerCount(`job:${id}`) > 0;
  }
  cancelled(id: string): void {
    this.emit("cancel", id);
  }
}

export interface SubmitOptions {
  idempotencyKey?: string;
  /** The submitting request's raw body, for the idempotency fingerprint. */
  rawBody?: Buffer;
  traceparent?: string;
  /** The submitting request's `tracestate` (already checked by RequestContext). */
  tracestate?: string;
}

export interface JobServiceDeps {
  config: JobsConfig;
  store: Store;
  queue: Queue;
  router: Router;
  signals: JobSignals;
  webhooks: WebhookGuard;
  /** Checks the request of a `pipeline` job; without it such jobs are refused. */
  pipelines?: PipelineJobs;
}

/** What the job service and worker need of the pipelines (src/pipeline's `PipelineRunner`). */
export interface PipelineJobs {
  /** Throws 400/403/404 for a request the job could never run. */
  checkJob(principal: Principal, request: unknown): unknown;
  runJob(principal: Principal, request: unknown, ctx: RequestContext): Promise<unknown>;
}

/** Job ids sort by submission time (lists and paging use that order). */
export function newJobId(now = Date.now()): string {
  return `job_${now.toString(36).padStart(9, "0")}${newTraceId().slice(0, 16)}`;
}

/** Submission, lookup, cancel and retry of jobs: everything a front door needs, nothing of HTTP. */
export class JobService {
  constructor(private readonly d: JobServiceDeps) {}

  get signals(): JobSignals {
    return this.d.signals;
  }

  async submit(principal: Principal, input: unknown, opts: SubmitOptions = {}) {
    const sub = parseSubmission(input);
    const request = this.checkRequest(principal, sub.type, sub.request);
    if (sub.webhook) await this.d.webhooks.check(sub.webhook.url);
    const now = Date.now();
    const job = {
      id: newJobId(now),
      owner: principal.id,
      principal: storedPrincipal(principal),
      type: sub.type,
      request,
      priority: sub.priority ?? 0,
      runAfter: sub.run_after === undefined ? now : toMs(sub.run_after),
      deadlineAt: sub.deadline === undefined ? now + this.d.config.defaultDeadlineMs : toMs(sub.deadline),
      maxAttempts: sub.max_attempts ?? this.d.config.maxAttempts,
      webhook: sub.webhook ?? null,
      metadata: sub.metadata ?? null,
      traceparent: opts.traceparent ?? null,
      tracestate: opts.tracestate ?? null,
      createdAt: now,
    };
    const idem = opts.idempotencyKey
      ? {
          key: opts.idempotencyKey,
          fingerprint: fingerprint(opts.rawBody ?? JSON.stringify(input)),
          expiresAt: now + this.d.config.idempotencyTtlMs,
        }
      : undefined;
    let res: CreateJobResult;
    if (!idem && commitsTogether(this.d.store, this.d.queue)) {
      // One file, one group commit: the job row and then its message go to disk in one sync instead
      // of one each. Without an idempotency key the row is always new; with one, the job may exist
      // already (a retry), so the message waits for the row's outcome instead of being sent for nothing.
      const [created, published] = await Promise.allSettled([
        this.d.store.jobs.create(job, idem),
        this.publish({ ...job, attemptLimit: job.maxAttempts }),
      ]);
      if (created.status === "rejected") throw created.reason;
      res = created.value;
      if (res.kind === "created" && published.status === "rejected")
        await this.refused(res.job, published.reason);
    } else {
      res = await this.d.store.jobs.create(job, idem);
      if (res.kind === "created") await this.publishNew(res.job);
    }
    if (res.kind === "conflict") {
      throw new GatewayError(
        "idempotency_key_reused",
        "This Idempotency-Key was already used with a different request body. Use a new key for a new job.",
        { param: "Idempotency-Key" },
      );
    }
    return { job: res.job, created: res.kind === "created" };
  }

  /**
   * Publishes a job just created. When the queue refuses it, the job is taken back out of the store
   * (with its idempotency key) before the error reaches the client: a refused submission leaves
   * nothing behind that could run later, and a retry with the same key creates the job anew.
   * (Unless a worker already took it: see `refused`.)
   */
  private async publishNew(job: JobRecord): Promise<void> {
    try {
      await this.publish(job);
    } catch (err) {
      await this.refused(job, err);
    }
  }

  /**
   * The queue refused a new job's message: the job leaves the store again, and the client gets the
   * error. A queue can report a failure for a message it stored after all (a publish that timed out
   * while the broker came back): when a worker has already taken the job, it cannot be taken back,
   * and the submission counts as accepted (returns) rather than answering 503 for a job that runs.
   */
  private async refused(job: JobRecord, err: unknown): Promise<void> {
    const discarded = await this.d.store.jobs.discard(job.id).catch(() => undefined);
    if (discarded === false && (await this.d.store.jobs.get(job.id).catch(() => undefined))) return;
    if (err instanceof GatewayError) throw err;
    throw new GatewayError(
      "queue_unavailable",
      "The job queue could not take the job; nothing was accepted. Retry shortly.",
      { cause: err },
    );
  }

  /** Validates a job's request as its front door would (a pipeline's through the pipelines). */
  private checkRequest(principal: Principal, type: JobType, req: Record<string, unknown>) {
    if (type === "pipeline") {
      if (!this.d.pipelines)
        throw new GatewayError("invalid_request", "This gateway runs no pipelines.", { param: "type" });
      this.d.pipelines.checkJob(principal, req);
      return req;
    }
    const op = JOB_OPS[type];
    const request = validateBody(op, req);
    if (request.stream === true) {
      throw new GatewayError(
        "invalid_request",
        "Jobs run without streaming: remove 'stream' from the job's request (read the result with GET /v1/jobs/{id}).",
        { param: "request.stream" },
      );
    }
    const model = request.model as string;
    this.d.router.resolve(op, model);
    checkModelAllowed(principal, model);
    return request;
  }

  /** Puts a PENDING job on the queue. Message ids carry the attempt limit so a manual retry is a new message. */
  async publish(job: Pick<JobRecord, "id" | "attemptLimit" | "priority" | "runAfter">): Promise<void> {
    await this.d.queue.publish(`${job.id}.${job.attemptLimit}`, job.id, {
      priority: job.priority,
      notBefore: job.runAfter,
    });
  }

  /**
   * The job now, then again on every state change, until it is finished or `signal` aborts. Changes
   * made in this process wake it at once; changes made by another process (a worker elsewhere) are
   * seen by reading the store every `pollMs`. Throws `job_not_found` up front (before any output),
   * so a front door can still answer with an error.
   */
  async watch(
    principal: Principal,
    id: string,
    signal: AbortSignal,
    pollMs = 500,
  ): Promise<AsyncGenerator<JobRecord, void, void>> {
    const first = await this.get(principal, id);
    return this.#changes(principal, first, signal, pollMs);
  }

  async *#changes(principal: Principal, first: JobRecord, signal: AbortSignal, pollMs: number) {
    let job: JobRecord | undefined = first;
    let wake: (() => void) | undefined;
    const onChange = () => wake?.();
    const topic = `job:${first.id}`;
    this.d.signals.on(topic, onChange);
    let last = "";
    try {
      while (job) {
        const stamp = `${job.status}|${job.attempts}|${job.updatedAt}`;
        if (stamp !== last) {
          last = stamp;
          yield job;
        }
        if (TERMINAL_STATUSES.has(job.status) || signal.aborted) return;
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, pollMs);
          function done() {
            clearTimeout(t);
            signal.removeEventListener("abort", done);
            wake = undefined;
            resolve();
          }
          wake = done;
          signal.addEventListener("abort", done);
        });
        if (signal.aborted) return;
        job = await this.get(principal, first.id).catch(() => undefined);
      }
    } finally {
      this.d.signals.off(topic, onChange);
    }
  }

  async get(principal: Principal, id: string): Promise<JobRecord> {
    const job = await this.d.store.jobs.get(id);
    if (!job || job.owner !== principal.id) {
      throw new GatewayError("job_not_found", `No job '${id}' exists.`, { param: "id" });
    }
    return job;
  }

  async list(principal: Principal, status: string | undefined, limit: number, after?: string) {
    if (status !== undefined && !(JOB_STATUSES as readonly string[]).includes(status)) {
      throw new GatewayError("invalid_request", `status must be one of ${JOB_STATUSES.join(", ")}.`, {
        param: "status",
      });
    }
    return this.d.store.jobs.list({
      owner: principal.id,
      status: status as JobStatus | undefined,
      limit,
      after,
    });
  }

  async cancel(principal: Principal, id: string): Promise<JobRecord> {
    await this.get(principal, id);
    const job = await this.d.store.jobs.cancel(id, Date.now());
    if (!job) throw new GatewayError("job_not_found", `No job '${id}' exists.`, { param: "id" });
    if (job.status === "CANCELLED") {
      this.d.signals.cancelled(id);
      this.d.signals.changed(job);
    }
    return job;
  }

  async retry(principal: Principal, id: string): Promise<JobRecord> {
    const before = await this.get(principal, id);
    const job = await this.d.store.jobs.retry(id, Date.now());
    if (!job) {
      throw new GatewayError(
        "job_state_conflict",
        `Only a FAILED job can be retried; job '${id}' is ${before.status}.`,
      );
    }
    await this.publish(job);
    this.d.signals.changed(job);
    return job;
  }
}

function parseSubmission(input: unknown) {
  const r = submissionSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const param = issue.path.map(String).join(".") || null;
    throw new GatewayError("invalid_request", `Invalid job: ${param ? `'${param}' ` : ""}${issue.message}.`, {
      param,
    });
  }
  const sub = r.data;
  for (const k of ["run_after", "deadline"] as const) {
    const v = sub[k];
    if (v !== undefined && Number.isNaN(toMs(v))) {
      throw new GatewayError("invalid_request", `Invalid job: '${k}' is not a time.`, { param: k });
    }
  }
  return sub;
}

function storedPrincipal(p: Principal): JobRecord["principal"] {
  return {
    id: p.id,
    kind: p.kind,
    name: p.name,
    ...(p.allowedModels ? { allowedModels: [...p.allowedModels] } : {}),
    limits: { ...p.limits },
    ...(p.priority ? { priority: p.priority } : {}),
  };
}

export function fingerprint(body: Buffer | string): string {
  return createHash("sha256").update(body).digest("hex");
}

/** The job as the API shows it. */
export function jobView(job: JobRecord): Record<string, unknown> {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    id: job.id,
    object: "job",
    type: job.type,
    status: job.status,
    priority: job.priority,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    attempt_errors: job.attemptErrors.map((e) => ({ ...e, at: iso(e.at) })),
    created_at: iso(job.createdAt),
    updated_at: iso(job.updatedAt),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    run_after: iso(job.runAfter),
    deadline: iso(job.deadlineAt),
    result: job.result ?? null,
    error: job.error,
    webhook: job.webhook ? { url: job.webhook.url, delivery: job.webhookState } : null,
    metadata: job.metadata,
    links: {
      self: `/v1/jobs/${job.id}`,
      events: `/v1/jobs/${job.id}/events`,
      cancel: `/v1/jobs/${job.id}/cancel`,
    },
  };
}

/**
 * True when the queue's writes and the job store's commit together, in the order they are asked
 * for (one SQLite file: `Queue.commitGroup`). Two writes that must reach disk in order can then be
 * asked for at once and cost one sync.
 */
export function commitsTogether(store: Store, queue: Queue): boolean {
  return queue.commitGroup !== undefined && queue.commitGroup === store.jobs.commitGroup;
}
