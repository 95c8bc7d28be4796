/** The jobs module's public surface. */
export { type JobsConfig, jobsConfigSchema, type WebhookConfig, webhookConfigSchema } from "./config.js";
export { SyncIdempotency } from "./idempotency.js";
export { createQueue } from "./queue/index.js";
export type {
  AckOptions,
  DeadLetter,
  Delivery,
  PublishOptions,
  Queue,
  QueueStats,
  ReceiveOptions,
} from "./queue/types.js";
export { createJobs, type JobsDeps, type JobsRuntime } from "./runtime.js";
export { JobService, JobSignals, jobView, newJobId, type SubmitOptions } from "./service.js";
export { isPrivateAddress, signWebhook, WebhookDispatcher, WebhookGuard } from "./webhooks.js";
export { JobWorker, type WorkerDeps } from "./worker.js";
