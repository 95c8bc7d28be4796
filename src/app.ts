import type { FastifyInstance } from "fastify";
import { createBackend } from "./backends/factory.js";
import type { Config } from "./config/schema.js";
import type { RequestContext } from "./core/context.js";
import { GatewayError } from "./core/errors.js";
import { buildHttpServer } from "./http/server.js";
import { createLogging, type Logger } from "./observability/logger.js";
import { buildPolicy } from "./policy/build.js";
import type { Gate } from "./policy/gate.js";
import type { BreakerState } from "./routing/breaker.js";
import { Endpoint } from "./routing/endpoint.js";
import { NOOP_OBSERVER, type RouterObserver } from "./routing/observer.js";
import { Pool } from "./routing/pool.js";
import { Router } from "./routing/router.js";

export interface GatewayOptions {
  logger?: Logger;
}

export interface Gateway {
  readonly config: Config;
  readonly router: Router;
  readonly http: FastifyInstance;
  readonly logger: Logger;
  readonly gate: Gate;
  /** Starts listening; resolves with the bound port. */
  listen(port?: number, host?: string): Promise<number>;
  /**
   * Stops taking requests, lets in-flight requests and streams finish within `graceMs`, then cuts
   * the rest (their upstream calls are aborted) and releases every connection.
   */
  close(graceMs?: number): Promise<void>;
}

/** Builds the pools and the one router from a config. */
export function buildRouter(config: Config, observer: RouterObserver = NOOP_OBSERVER): Router {
  const pools = new Map<string, Pool>();
  for (const [name, model] of Object.entries(config.models)) {
    const events = {
      breaker: (ep: Endpoint, from: BreakerState, to: BreakerState) =>
        observer.breaker(name, ep.id, from, to),
    };
    const endpoints = model.endpoints.map((ep, i) => {
      const backend = createBackend(ep, name, i);
      const upstreamModel = ep.kind === "openai" ? ep.model : undefined;
      return new Endpoint(
        ep.id ?? backend.label,
        backend,
        ep.weight,
        upstreamModel,
        model.breaker,
        model.outlier,
        events,
      );
    });
    pools.set(name, new Pool(name, model, endpoints, observer));
  }
  return new Router(pools, observer);
}

/** The composition root: one config in, one running gateway out. Many can live in one process. */
export async function createGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const logging = opts.logger
    ? { logger: opts.logger, access: opts.logger, flush: () => {} }
    : createLogging({ level: config.logging.level });
  const { logger } = logging;
  const router = buildRouter(config);
  router.start();
  const policy = await buildPolicy(config, logger);
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
    await closing;
    clearTimeout(cut);
    await router.close();
    await policy.close();
    logging.flush();
  }

  return {
    config,
    router,
    http,
    logger,
    gate: policy.gate,
    async listen(port = config.server.port, host = config.server.host) {
      await http.listen({ port, host });
      const addr = http.server.address();
      return typeof addr === "object" && addr ? addr.port : port;
    },
    close,
  };
}
