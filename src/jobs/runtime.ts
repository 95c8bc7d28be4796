import type { Config } from "../config/schema.js";
import type { Observability } from "../observability/index.js";
import type { Logger } from "../observability/logger.js";
import { NOOP_PIPELINE_OBSERVER, PipelineRunner } from "../pipeline/index.js";
import type { Gate } from "../policy/gate.js";
import type { Router } from "../routing/router.js";
import { createStore } from "../store/index.js";
import type { Store } from "../store/types.js";
import { SyncIdempotency } from "./idempotency.js";
import { createQueue } from "./queue/index.js";
import type { Queue } from "./queue/types.js";
import { JobService, JobSignals } from "./service.js";
import { WebhookDispatcher, WebhookGuard } from "./webhooks.js";
import { JobWorker } from "./worker.js";

export interface JobsDeps {
  config: Config;
  router: Router;
  gate: Gate;
  logger: Logger;
  /** The gateway's store when it has one (keys); otherwise the jobs open their own on `config.store`. */
  store?: Store;
  /** Workers to run in this process; defaults to `config.jobs.workers`. */
  workers?: number;
  /** The gateway's pipelines (with its metrics); otherwise built here from the config. */
  pipelines?: PipelineRunner;
  /** Spans of job runs (when tracing is on). */
  observability?: Pick<Observability, "startContextSpan" | "endContextSpan">;
}

export interface JobsRuntime {
  readonly service: JobService;
  readonly idempotency: SyncIdempotency;
  readonly queue: Queue;
  readonly store: Store;
  /** The in-process worker, when `workers` > 0. */
  readonly worker: JobWorker | undefined;
  /** Stops the worker (running jobs finish or go back to the queue), then closes what it opened. */
  close(graceMs?: number): Promise<void>;
}

/** Builds the jobs part of a gateway (or of `switchyard worker`): store, queue, service, workers, purge. */
export async function createJobs(deps: JobsDeps): Promise<JobsRuntime> {
  const cfg = deps.config.jobs;
  const ownStore = deps.store ? undefined : await createStore(deps.config.store);
  const store = deps.store ?? ownStore!;
  const queue = await createQueue(cfg.queue, deps.config.store, {
    pollIntervalMs: cfg.pollIntervalMs,
    onError: (err) => deps.logger.warn({ err, queue: cfg.queue.kind }, "job queue connection error"),
  });
  const signals = new JobSignals();
  const guard = new WebhookGuard(cfg.webhooks);
  const webhooks = new WebhookDispatcher({
    cfg: cfg.webhooks,
    store,
    guard,
    onError: (err) => deps.logger.warn({ err }, "webhook delivery failed"),
  });
  const pipelines =
    deps.pipelines ??
    PipelineRunner.fromConfig(deps.config, {
      router: deps.router,
      gate: deps.gate,
      observer: NOOP_PIPELINE_OBSERVER,
    });
  const service = new JobService({
    config: cfg,
    store,
    queue,
    router: deps.router,
    signals,
    webhooks: guard,
    pipelines,
  });
  const concurrency = deps.workers ?? cfg.workers;
  const worker =
    concurrency > 0
      ? new JobWorker({
          config: cfg,
          concurrency,
          store,
          queue,
          router: deps.router,
          gate: deps.gate,
          signals,
          webhooks,
          logger: deps.logger,
          pipelines,
          observability: deps.observability,
        })
      : undefined;
  worker?.start();
  const purge = async () => {
    try {
      const now = Date.now();
      await store.jobs.purge(now - cfg.retentionMs);
      await store.idempotency.purge(now);
      await republishStale(now);
    } catch (err) {
      deps.logger.warn({ err }, "purging finished jobs failed");
    }
  };
  // A job row and its queue message are written one after the other: a crash between the two
  // leaves a PENDING job on no queue. Re-publishing PENDING jobs that have not moved for a while
  // repairs that; a job whose message is still queued is not duplicated (publishes are idempotent by id).
  const republishStale = async (now: number) => {
    const stale = await store.jobs.stale(now - cfg.leaseMs, 500);
    for (const job of stale) await service.publish(job);
    if (stale.length > 0)
      deps.logger.info(
        { jobs: stale.length },
        "re-published PENDING and abandoned RUNNING jobs missing from the queue",
      );
  };
  void republishStale(Date.now()).catch((err: unknown) =>
    deps.logger.warn({ err }, "re-publishing stale jobs failed"),
  );
  const timer = setInterval(() => void purge(), cfg.purgeIntervalMs);
  timer.unref();
  let closed = false;
  return {
    service,
    idempotency: new SyncIdempotency(store.idempotency, cfg.idempotencyTtlMs),
    queue,
    store,
    worker,
    async close(graceMs = cfg.stopGraceMs) {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await worker?.stop(graceMs);
      await webhooks.close();
      await queue.close();
      await ownStore?.close();
    },
  };
}
