import type { FastifyInstance } from "fastify";
import { ConfigReloader, type ReloadOutcome } from "./config/reload.js";
import type { Config } from "./config/schema.js";
import type { RequestContext } from "./core/context.js";
import { GatewayError } from "./core/errors.js";
import { createGrpcFrontDoor } from "./grpc/server.js";
import { registerReloadRoute } from "./http/admin-routes.js";
import { buildHttpServer } from "./http/server.js";
import { createJobs } from "./jobs/runtime.js";
import { createObservability, type Observability } from "./observability/index.js";
import { accessLogFrom, createLogging, type Logger } from "./observability/logger.js";
import { PipelineRunner } from "./pipeline/index.js";
import { buildPolicy } from "./policy/build.js";
import type { Gate } from "./policy/gate.js";
import { buildPools } from "./routing/build.js";
import { NOOP_OBSERVER, type RouterObserver } from "./routing/observer.js";
import { Router } from "./routing/router.js";

export interface GatewayOptions {
  logger?: Logger;
  /** Reads and validates the config again from its file, for hot reload (SIGHUP, `POST /admin/reload`). */
  loadConfig?: () => Config;
}

export interface Gateway {
  readonly config: Config;
  readonly router: Router;
  readonly http: FastifyInstance;
  readonly logger: Logger;
  readonly gate: Gate;
  /** Metrics and traces of this gateway. */
  readonly observability: Observability;
  /** The bound gRPC port, once listening (undefined when `grpc.enabled` is false). */
  readonly grpcPort: number | undefined;
  /**
   * Starts listening; resolves with the bound HTTP port. The gRPC listener (when enabled) binds
   * `grpcPort`, by default `grpc.port`, or a free port when `port` is 0 (a free HTTP port).
   */
  listen(port?: number, host?: string, grpcPort?: number): Promise<number>;
  /**
   * Stops taking requests, lets in-flight requests and streams finish within `graceMs`, then cuts
   * the rest (their upstream calls are aborted) and releases every connection.
   */
  close(graceMs?: number): Promise<void>;
  /** Hot reload: `next`, or the config from its file; rejects with ConfigError and keeps the running config. */
  reload(next?: Config): Promise<ReloadOutcome>;
  /** Reloads on SIGHUP and when `file` changes; returns the function that stops that. */
  watchConfig(file: string | undefined): () => void;
}

/** Builds the pools and the one router from a config. */
export function buildRouter(
  config: Config,
  observer: RouterObserver = NOOP_OBSERVER,
  logger?: Logger,
): Router {
  const warn = logger
    ? (msg: string, fields: Record<string, unknown>) => logger.warn(fields, msg)
    : undefined;
  return new Router(buildPools(config, { observer, warn }), observer);
}

/**
 * What a gateway and a standalone worker both run on: observability, the started router, the
 * policy (auth, limits, the store) and the pipelines, wired to one another.
 */
export async function buildCore(config: Config, logger: Logger) {
  const observability = await createObservability(config, logger);
  const router = buildRouter(config, observability.router, logger);
  observability.attach(() => router.models());
  await router.start();
  const policy = await buildPolicy(config, logger, observability.gate);
  const pipelines = PipelineRunner.fromConfig(config, {
    router,
    gate: policy.gate,
    observer: observability.pipelines,
  });
  return { observability, router, policy, pipelines };
}

/** The composition root: one config in, one running gateway out. Many can live in one process. */
export async function createGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const logging = opts.logger
    ? { logger: opts.logger, access: accessLogFrom(opts.logger), flush: () => {} }
    : createLogging({ level: config.logging.level, logPrompts: config.logging.logPrompts });
  const { logger } = logging;
  const { observability, router, policy, pipelines } = await buildCore(config, logger);
  const reloader = new ConfigReloader({
    router,
    config,
    observer: observability.router,
    logger,
    load: opts.loadConfig,
  });
  const jobs = config.jobs.enabled
    ? await createJobs({
        config,
        router,
        gate: policy.gate,
        logger,
        store: policy.store,
        pipelines,
        observability,
      })
    : undefined;
  if (config.auth.mode === "none") {
    logger.warn(
      "auth.mode is none: every client may call every model (set auth.mode to keys or jwt in production)",
    );
  }
  const inFlight = new Set<RequestContext>();
  let draining = false;
  const http = await buildHttpServer({
    config,
    router,
    logger,
    accessLogger: logging.access,
    gate: policy.gate,
    store: policy.store,
    inFlight,
    isDraining: () => draining,
    observability,
    jobs,
    pipelines,
  });
  const grpc = config.grpc.enabled
    ? createGrpcFrontDoor({
        config,
        router,
        gate: policy.gate,
        logger,
        accessLogger: logging.access,
        observability,
        jobs,
        pipelines,
      })
    : undefined;
  registerReloadRoute(http, {
    gate: policy.gate,
    adminKeySet: Boolean(config.auth.adminKey),
    reload: () => reloader.reload(),
  });

  async function close(graceMs = config.server.shutdownGraceMs): Promise<void> {
    if (draining) return;
    draining = true;
    const closing = http.close();
    const cut = setTimeout(() => {
      for (const ctx of inFlight) {
        ctx.abort(new GatewayError("shutting_down", "The gateway shut down before the request finished."));
      }
      // Give the aborted streams a moment to write their final error event, then drop what is left.
      setTimeout(() => http.server.closeAllConnections(), 200).unref();
    }, graceMs);
    cut.unref();
    await Promise.all([closing, grpc?.close(graceMs)]);
    clearTimeout(cut);
    await jobs?.close(Math.min(graceMs, config.jobs.stopGraceMs));
    await router.close();
    await policy.close();
    await observability.close();
    logging.flush();
  }

  return {
    config,
    router,
    http,
    logger,
    gate: policy.gate,
    observability,
    get grpcPort() {
      return grpc?.port;
    },
    async listen(port = config.server.port, host = config.server.host, grpcPort?: number) {
      await http.listen({ port, host });
      await grpc?.listen(grpcPort ?? (port === 0 ? 0 : config.grpc.port), config.grpc.host ?? host);
      await observability.listen(host);
      const addr = http.server.address();
      return typeof addr === "object" && addr ? addr.port : port;
    },
    close,
    reload: (next) => reloader.reload(next),
    watchConfig: (file) => reloader.watch(file),
  };
}
