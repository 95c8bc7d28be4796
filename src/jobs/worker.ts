import { RequestContext } from "../core/context.js";
import { GatewayError, toGatewayError } from "../core/errors.js";
import type { Observability } from "../observability/index.js";
import type { Logger } from "../observability/logger.js";
import type { Gate } from "../policy/gate.js";
import { backoffMs, type Router } from "../routing/router.js";
import { type JobRecord, TERMINAL_STATUSES } from "../store/job-types.js";
import type { Store } from "../store/types.js";
import type { JobsConfig } from "./config.js";
import type { Delivery, Queue } from "./queue/types.js";
import { commitsTogether, JOB_OPS, type JobSignals, type PipelineJobs } from "./service.js";
import type { WebhookDispatcher } from "./webhooks.js";

export interface WorkerDeps {
  config: JobsConfig;
  /** Jobs run at once. */
  concurrency: number;
  store: Store;
  queue: Queue;
  router: Router;
  gate: Gate;
  signals: JobSignals;
  webhooks: WebhookDispatcher;
  logger: Logger;
  /** Runs jobs of type `pipeline`. */
  pipelines?: PipelineJobs;
  /** A span per run, a child of the submitting request's span (when tracing is on). */
  observability?: Pick<Observability, "startContextSpan" | "endContextSpan">;
}

interface Running {
  ctx: RequestContext;
  delivery: Delivery;
  done: Promise<void>;
}

const cancelledError = () => new GatewayError("client_closed_request", "the job was cancelled");

/**
 * Every ack of the worker comes after the store holds the job's end (or refused to let this delivery
 * run it): a lost ack only brings the message back, and the claim then refuses it and acks again. So
 * the worker does not wait for the broker to confirm its acks (see `AckOptions`).
 */
const SETTLED = { confirm: false } as const;

/**
 * Takes jobs off the queue and runs each through `router.execute` (the one request path), at most
 * `concurrency` at once. The lease is extended while a job runs; a cancel (in-process signal, or
 * a CANCELLED status seen by polling the store) aborts the job's context and so its upstream call.
 */
export class JobWorker {
  readonly #d: WorkerDeps;
  readonly #running = new Map<string, Running>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #freed: (() => void) | undefined;
  readonly #onCancel = (id: string) => this.#running.get(id)?.ctx.abort(cancelledError());

  constructor(deps: WorkerDeps) {
    this.#d = deps;
  }

  start(): void {
    if (this.#loop) return;
    this.#d.signals.on("cancel", this.#onCancel);
    const { leaseMs, cancelPollMs } = this.#d.config;
    const tick = Math.min(cancelPollMs, Math.floor(leaseMs / 3));
    let lastExtend = Date.now();
    this.#timer = setInterval(() => {
      const extend = Date.now() - lastExtend >= leaseMs / 3;
      if (extend) lastExtend = Date.now();
      void this.#housekeep(extend);
    }, tick);
    this.#timer.unref();
    this.#loop = this.#run();
  }

  get active(): number {
    return this.#running.size;
  }

  async #run(): Promise<void> {
    const { queue, concurrency, config, logger } = this.#d;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      const free = concurrency - this.#running.size;
      if (free <= 0) {
        await new Promise<void>((r) => {
          this.#freed = r;
        });
        continue;
      }
      let got: Delivery[];
      try {
        got = await queue.receive({ max: free, leaseMs: config.leaseMs, waitMs: 1_000, signal });
      } catch (err) {
        if (signal.aborted) break;
        logger.warn({ err }, "job queue receive failed; retrying");
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const d of got) this.#start(d);
    }
  }

  #start(d: Delivery): void {
    if (this.#running.has(d.payload)) {
      // Another copy of a job this worker is running (a redelivery, a re-publish): it must not take
      // the running one's place here (its lease would no longer be extended). It waits in the queue
      // until that lease could have ended, and then finds the job finished or still held.
      this.#d.queue
        .nack(d, this.#d.config.leaseMs + LEASE_MARGIN_MS)
        .catch((err: unknown) => this.#d.logger.warn({ err, job: d.payload }, "returning a job copy failed"));
      return;
    }
    const ctx = new RequestContext({ requestId: d.payload });
    const entry: Running = { ctx, delivery: d, done: Promise.resolve() };
    this.#running.set(d.payload, entry);
    entry.done = this.#process(d, entry)
      .catch((err: unknown) => this.#d.logger.error({ err, job: d.payload }, "job processing failed"))
      .finally(() => {
        this.#running.delete(d.payload);
        this.#freed?.();
        this.#freed = undefined;
      });
  }

  async #process(d: Delivery, entry: Running): Promise<void> {
    const { store, queue } = this.#d;
    const id = d.payload;
    if (d.exhausted !== undefined) {
      await this.#exhausted(d, id);
      return;
    }
    // Claim first: the claim itself refuses a finished job and one another attempt holds, so the
    // common case costs the store one statement; only a refused claim reads the job to decide.
    const now = Date.now();
    const job = await store.jobs.claim(id, d.leaseId, now, now + this.#d.config.leaseMs);
    if (!job) {
      await this.#unclaimed(d, id);
      return;
    }
    if (job.attempts > job.attemptLimit) {
      // Its attempts ran out with a worker that stopped mid-attempt: the job fails, it does not run
      // again. The claim counted one attempt more; the error names the last attempt that started.
      await this.#end(
        d,
        { ...job, attempts: job.attempts - 1 },
        "FAILED",
        new GatewayError("internal_error", "attempts exhausted (the worker stopped during the attempts)"),
      );
      return;
    }
    this.#d.signals.changed(job);
    const ctx = new RequestContext({
      traceparent: job.traceparent ?? undefined,
      tracestate: job.tracestate ?? undefined,
      requestId: job.id,
    });
    if (entry.ctx.signal.aborted) ctx.abort(cancelledError());
    entry.ctx = ctx;
    if (this.#stop.signal.aborted) ctx.abort(new GatewayError("shutting_down", "the worker is stopping"));
    const remaining = (job.deadlineAt ?? Number.POSITIVE_INFINITY) - Date.now();
    if (remaining <= 0) {
      await this.#end(d, job, "FAILED", new GatewayError("deadline_exceeded", "the job's deadline passed"));
      return;
    }
    if (Number.isFinite(remaining)) ctx.setDeadline(remaining);
    // The run's span continues the trace of the request that submitted the job (its traceparent and
    // tracestate), and the run's upstream calls carry both.
    const obs = this.#d.observability;
    obs?.startContextSpan(ctx, `job ${job.type}`, "consumer", {
      "switchyard.job_id": id,
      "switchyard.job.type": job.type,
      "switchyard.job.attempt": job.attempts,
    });
    let errorCode: string | undefined;
    try {
      const result = await this.#execute(job, ctx);
      const success = { status: "SUCCESS", result } as const;
      if (commitsTogether(store, queue)) {
        // The result, then the ack, in one disk sync: the ack can never be durable without the result.
        const [ok] = await Promise.all([
          store.jobs.finishAttempt(id, d.leaseId, success, Date.now()),
          queue.ack(d),
        ]);
        await this.#after(d, job, ok, true);
      } else {
        const ok = await store.jobs.finishAttempt(id, d.leaseId, success, Date.now());
        await this.#after(d, job, ok);
      }
    } catch (err) {
      const e = this.#errorOf(ctx, err);
      errorCode = e.code;
      await this.#failed(d, job, e);
    } finally {
      obs?.endContextSpan(ctx, errorCode);
      ctx.finish();
    }
  }

  /**
   * A delivery the queue gave up on (delivered past its limit without being settled, for example
   * because each worker that took it died before claiming it): the job fails without running, and
   * the message goes to the dead letters. A job already finished only has its stale message acked.
   */
  async #exhausted(d: Delivery, id: string): Promise<void> {
    const job = await this.#d.store.jobs.get(id);
    if (!job || TERMINAL_STATUSES.has(job.status)) {
      await this.#d.queue.ack(d, SETTLED);
      return;
    }
    const reason = d.exhausted ?? "max_deliveries";
    const error = new GatewayError("internal_error", `the queue gave up on the job: ${reason}`);
    // `#end` claims the job to fail it, which counts one attempt: the error names that attempt.
    await this.#end(d, { ...job, attempts: job.attempts + 1 }, "FAILED", error);
  }

  /** What ended a run: the reason it was aborted with (cancel, deadline, stop), else the error thrown. */
  #errorOf(ctx: RequestContext, err: unknown): GatewayError {
    return ctx.signal.aborted && ctx.signal.reason instanceof GatewayError
      ? ctx.signal.reason
      : toGatewayError(err);
  }

  async #execute(job: JobRecord, ctx: RequestContext): Promise<unknown> {
    if (job.type === "pipeline") {
      // The same executor as a sync run; each step passes the gate and the router on its own.
      if (!this.#d.pipelines) throw new GatewayError("internal_error", "this worker runs no pipelines");
      return this.#d.pipelines.runJob(job.principal, job.request, ctx);
    }
    const op = JOB_OPS[job.type];
    const model = job.request.model as string;
    const ticket = await this.#d.gate.admit(job.principal, op, model, job.request);
    ctx.ticket = ticket;
    try {
      const res = await this.#d.router.execute(
        {
          op,
          model,
          body: job.request,
          stream: false,
          clientWantsStreamUsage: false,
          priority: job.principal.priority,
        },
        ctx,
      );
      if (res.kind !== "json") {
        res.discard();
        throw new GatewayError("upstream_bad_response", "a job got a stream where it asked for JSON");
      }
      ctx.usage = res.usage;
      const text = typeof res.payload === "string" ? res.payload : res.payload.toString("utf8");
      return JSON.parse(text) as unknown;
    } finally {
      ticket.finish(ctx.usage ?? null);
    }
  }

  async #failed(d: Delivery, job: JobRecord, e: GatewayError): Promise<void> {
    const { store, queue, config } = this.#d;
    if (e.code === "shutting_down") {
      // Graceful stop: hand the job back at once, the attempt not counted as failed.
      const error = { attempt: job.attempts, code: e.code, message: e.message, at: Date.now() };
      await store.jobs.finishAttempt(
        job.id,
        d.leaseId,
        { status: "PENDING", error, runAfter: Date.now() },
        Date.now(),
      );
      await queue.nack(d, 0);
      return;
    }
    const fresh = await store.jobs.get(job.id);
    if (!fresh || fresh.status === "CANCELLED" || fresh.runToken !== d.leaseId) {
      await queue.ack(d, SETTLED);
      return;
    }
    const error = { attempt: job.attempts, code: e.code, message: e.message, at: Date.now() };
    const retryable = e.retryable && e.code !== "deadline_exceeded";
    let wait = backoffMs(job.attempts, config.backoff.baseMs, config.backoff.maxMs);
    if (e.retryAfterSeconds !== undefined) wait = Math.max(wait, e.retryAfterSeconds * 1000);
    const deadline = job.deadlineAt ?? Number.POSITIVE_INFINITY;
    if (retryable && job.attempts < job.attemptLimit && Date.now() + wait < deadline) {
      const ok = await store.jobs.finishAttempt(
        job.id,
        d.leaseId,
        { status: "PENDING", error, runAfter: Date.now() + wait },
        Date.now(),
      );
      if (ok) await queue.nack(d, wait);
      const after = await store.jobs.get(job.id);
      if (after) this.#d.signals.changed(after);
      return;
    }
    await this.#end(d, job, "FAILED", e);
  }

  async #end(d: Delivery, job: JobRecord, _status: "FAILED", e: GatewayError): Promise<void> {
    const { store, queue } = this.#d;
    const error = { attempt: job.attempts, code: e.code, message: e.message, at: Date.now() };
    const token = job.runToken === d.leaseId ? d.leaseId : undefined;
    let ok = false;
    if (token) ok = await store.jobs.finishAttempt(job.id, token, { status: "FAILED", error }, Date.now());
    else {
      // Not claimed in this delivery (exhausted or expired before it ran): take it, then fail it.
      const now = Date.now();
      const claimed = await store.jobs.claim(job.id, d.leaseId, now, now + this.#d.config.leaseMs);
      if (!claimed) {
        await this.#unclaimed(d, job.id);
        return;
      }
      ok = await store.jobs.finishAttempt(job.id, d.leaseId, { status: "FAILED", error }, Date.now());
    }
    if (ok) await queue.deadLetter(d, `${e.code}: ${e.message}`);
    else await queue.ack(d, SETTLED);
    await this.#after(d, job, ok, true);
  }

  /** After a job's end was written: tells in-process watchers and sends its webhook (read back only for them). */
  async #after(d: Delivery, before: JobRecord, wrote: boolean, alreadyAcked = false): Promise<void> {
    if (!alreadyAcked) await this.#d.queue.ack(d, SETTLED);
    if (!wrote || (!before.webhook && !this.#d.signals.watched(before.id))) return;
    const job = await this.#d.store.jobs.get(before.id);
    if (!job) return;
    this.#d.signals.changed(job);
    this.#d.webhooks.notify(job);
  }

  /**
   * A delivery whose claim failed: done with it when the job finished (or is gone); back to the queue
   * when another attempt holds a live lease (it comes again once that lease has ended, in case its
   * worker died); back to the queue shortly when the job became claimable since the claim (that
   * lease ended in between). A message of a job that has not finished is never acknowledged here.
   */
  async #unclaimed(d: Delivery, id: string): Promise<void> {
    const job = await this.#d.store.jobs.get(id);
    if (!job || TERMINAL_STATUSES.has(job.status)) {
      await this.#d.queue.ack(d, SETTLED);
      return;
    }
    await this.#d.queue.nack(d, heldFor(job, d, Date.now()) || LEASE_MARGIN_MS);
  }

  /** Extends leases of running jobs and learns of cancels made in other processes. */
  async #housekeep(extend: boolean): Promise<void> {
    const entries = [...this.#running.entries()];
    if (entries.length === 0) return;
    try {
      const statuses = await this.#d.store.jobs.statuses(entries.map(([id]) => id));
      const leases: { id: string; token: string }[] = [];
      for (const [id, r] of entries) {
        if (statuses.get(id) === "CANCELLED") r.ctx.abort(cancelledError());
        else if (extend) {
          await this.#d.queue.extend(r.delivery, this.#d.config.leaseMs);
          leases.push({ id, token: r.delivery.leaseId });
        }
      }
      await this.#d.store.jobs.extendLeases(leases, Date.now() + this.#d.config.leaseMs);
    } catch (err) {
      this.#d.logger.warn({ err }, "job housekeeping failed");
    }
  }

  /**
   * Stops taking jobs; running ones may finish within `graceMs`, then they are aborted and handed
   * back to the queue (PENDING, to run again at once elsewhere).
   */
  async stop(graceMs = this.#d.config.stopGraceMs): Promise<void> {
    this.#stop.abort();
    this.#d.signals.off("cancel", this.#onCancel);
    this.#freed?.();
    await this.#loop;
    const all = () => Promise.allSettled([...this.#running.values()].map((r) => r.done));
    const cut = setTimeout(() => {
      for (const r of this.#running.values())
        r.ctx.abort(new GatewayError("shutting_down", "the worker is stopping"));
    }, graceMs);
    await all();
    clearTimeout(cut);
    if (this.#timer) clearInterval(this.#timer);
  }
}

/** Extra wait after another attempt's lease ends before a bounced delivery comes back. */
const LEASE_MARGIN_MS = 100;

/**
 * How long (ms) another attempt still holds a RUNNING job, 0 when nobody does: the job is not
 * running, this delivery holds it, or the holder's lease has ended (its worker died).
 */
function heldFor(job: JobRecord, d: Delivery, now: number): number {
  if (job.status !== "RUNNING" || job.runToken === d.leaseId || job.leaseUntil === null) return 0;
  return job.leaseUntil > now ? job.leaseUntil - now + LEASE_MARGIN_MS : 0;
}
