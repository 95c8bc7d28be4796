import { buildCore } from "../app.js";
import type { Config } from "../config/schema.js";
import { createJobs } from "../jobs/runtime.js";
import { createLogging } from "../observability/logger.js";
import { ConfigError, loadConfig } from "./load.js";
import { parseFlags, UsageError } from "./options.js";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `switchyard worker --config FILE [--concurrency N]`: runs job workers alone (no HTTP listener)
 * against the store and queue of the config, until SIGTERM/SIGINT; then running jobs finish within
 * `jobs.stopGraceMs` or go back to the queue.
 */
export async function workerCommand(args: string[], env: Env): Promise<number> {
  const { values } = parseFlags(args, {
    config: { type: "string", short: "c" },
    concurrency: { type: "string" },
  });
  let config: Config;
  try {
    config = loadConfig(values.config, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let concurrency = config.jobs.workers > 0 ? config.jobs.workers : 4;
  if (values.concurrency !== undefined) {
    if (!/^\d{1,4}$/.test(values.concurrency) || Number(values.concurrency) < 1) {
      throw new UsageError(
        `--concurrency must be a whole number from 1 to 9999, got '${values.concurrency}'`,
      );
    }
    concurrency = Number(values.concurrency);
  }
  const logging = createLogging({ level: config.logging.level });
  const { logger } = logging;
  // Spans and metrics as in `serve`: a run's spans join the submitting request's trace, and
  // metrics are served when `observability.metrics.port` gives them a listener of their own.
  const { observability, router, policy, pipelines } = await buildCore(config, logger);
  const jobs = await createJobs({
    config,
    router,
    gate: policy.gate,
    logger,
    store: policy.store,
    workers: concurrency,
    pipelines,
    observability,
  });
  const metricsPort = await observability.listen(config.server.host);
  const lifecycle = logger.child({}, { level: config.logging.level === "silent" ? "silent" : "info" });
  // `port: 0`: a worker listens on nothing; the field keeps the ready line's shape the same as serve's.
  lifecycle.info(
    { port: 0, pid: process.pid, concurrency, store: config.store.kind, metricsPort },
    "switchyard worker started",
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      lifecycle.info({ signal, graceMs: config.jobs.stopGraceMs }, "worker stopping");
      resolve();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  await jobs.close();
  await router.close();
  await policy.close();
  await observability.close();
  lifecycle.info("stopped");
  logging.flush();
  await new Promise((r) => setImmediate(r));
  return 0;
}
