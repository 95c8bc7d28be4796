/**
 * The gRPC front door: `switchyard.v1.Inference` and `switchyard.v1.Jobs` over the same gate,
 * router and job service as HTTP, plus standard health checking (`grpc.health.v1`) and server
 * reflection. Built by the composition root (src/app.ts), started by `listen`, drained by `close`.
 */
import { type ChannelOptions, Server, type ServiceDefinition } from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import type { Config } from "../config/schema.js";
import type { RequestContext } from "../core/context.js";
import { GatewayError } from "../core/errors.js";
import type { JobsRuntime } from "../jobs/runtime.js";
import type { Observability } from "../observability/index.js";
import type { AccessLog, Logger } from "../observability/logger.js";
import type { PipelineRunner } from "../pipeline/index.js";
import type { Gate } from "../policy/gate.js";
import type { Router } from "../routing/router.js";
import { type CallDeps, tolerantService } from "./calls.js";
import { INFERENCE_SERVICE, inferenceHandlers } from "./inference-service.js";
import { JOBS_SERVICE, jobsHandlers } from "./jobs-service.js";
import { PIPELINES_SERVICE, pipelinesHandlers } from "./pipelines-service.js";
import { switchyardPackage } from "./protos.js";
import { reflectionService } from "./reflection.js";
import { serverCredentials } from "./tls.js";

const HEALTH_REFRESH_MS = 1_000;

export interface GrpcDeps {
  config: Config;
  router: Router;
  gate: Gate;
  logger: Logger;
  accessLogger: AccessLog;
  observability?: Observability;
  /** Async jobs: the Jobs service and `idempotency-key` on unary calls; none when disabled. */
  jobs?: JobsRuntime;
  /** Pipelines: the Pipelines service; none when absent. */
  pipelines?: PipelineRunner;
}

export interface GrpcFrontDoor {
  /** The bound port, once listening. */
  readonly port: number | undefined;
  listen(port: number, host: string): Promise<number>;
  /**
   * Reports NOT_SERVING, takes no new calls, lets calls in flight finish within `graceMs`, then
   * cuts the rest (their upstream calls are aborted) and closes every connection.
   */
  close(graceMs: number): Promise<void>;
}

function serverOptions(cfg: Config["grpc"]): ChannelOptions {
  const k = cfg.keepalive;
  const opts: ChannelOptions = {
    "grpc.max_receive_message_length": cfg.maxMessageBytes,
    "grpc.max_send_message_length": cfg.maxSendMessageBytes,
    "grpc.max_concurrent_streams": cfg.maxConcurrentStreams,
    "grpc.keepalive_time_ms": k.timeMs,
    "grpc.keepalive_timeout_ms": k.timeoutMs,
  };
  if (k.maxConnectionIdleMs > 0) opts["grpc.max_connection_idle_ms"] = k.maxConnectionIdleMs;
  if (k.maxConnectionAgeMs > 0) {
    opts["grpc.max_connection_age_ms"] = k.maxConnectionAgeMs;
    opts["grpc.max_connection_age_grace_ms"] = k.maxConnectionAgeGraceMs;
  }
  return opts;
}

function address(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

export function createGrpcFrontDoor(deps: GrpcDeps): GrpcFrontDoor {
  const cfg = deps.config.grpc;
  const pkg = switchyardPackage();
  const server = new Server(serverOptions(cfg));
  const inFlight = new Set<RequestContext>();
  let draining = false;
  const base: CallDeps = {
    config: deps.config,
    gate: deps.gate,
    logger: deps.logger,
    accessLogger: deps.accessLogger,
    observability: deps.observability,
    inFlight,
    isDraining: () => draining,
  };
  const definition = (name: string) => tolerantService(pkg[name] as ServiceDefinition);
  server.addService(
    definition(INFERENCE_SERVICE),
    inferenceHandlers({ ...base, router: deps.router, idempotency: deps.jobs?.idempotency }),
  );
  if (deps.jobs)
    server.addService(definition(JOBS_SERVICE), jobsHandlers({ ...base, jobs: deps.jobs.service }));
  if (deps.pipelines)
    server.addService(
      definition(PIPELINES_SERVICE),
      pipelinesHandlers({ ...base, pipelines: deps.pipelines }),
    );
  const health = new HealthImplementation();
  health.addToServer(server);
  if (cfg.reflection) reflectionService().addToServer(server);

  const statuses = new Map<string, ServingStatus>();
  const setStatus = (service: string, s: ServingStatus) => {
    if (statuses.get(service) === s) return;
    statuses.set(service, s);
    health.setStatus(service, s);
  };
  /** Overall and Jobs: serving until drained. Inference: the `/readyz` rule (every model has a healthy endpoint). */
  const refresh = () => {
    const up = !draining;
    const ready = up && deps.router.models().every((p) => p.endpoints.some((e) => e.healthy));
    setStatus("", up ? "SERVING" : "NOT_SERVING");
    setStatus(INFERENCE_SERVICE, ready ? "SERVING" : "NOT_SERVING");
    if (deps.jobs) setStatus(JOBS_SERVICE, up ? "SERVING" : "NOT_SERVING");
    if (deps.pipelines) setStatus(PIPELINES_SERVICE, up ? "SERVING" : "NOT_SERVING");
  };
  refresh();
  let timer: NodeJS.Timeout | undefined;
  let bound: number | undefined;

  return {
    get port() {
      return bound;
    },
    async listen(port, host) {
      const creds = serverCredentials(cfg.tls);
      bound = await new Promise<number>((resolve, reject) =>
        server.bindAsync(address(host, port), creds, (err, p) => (err ? reject(err) : resolve(p))),
      );
      timer = setInterval(refresh, HEALTH_REFRESH_MS);
      timer.unref();
      return bound;
    },
    async close(graceMs) {
      if (draining) return;
      draining = true;
      clearInterval(timer);
      refresh();
      await drain(server, inFlight, graceMs);
    },
  };
}

/**
 * Stops taking connections, waits for the calls in flight (up to `graceMs`, then aborts them),
 * and closes what is left: health watches and idle connections do not hold shutdown up.
 */
function drain(server: Server, inFlight: Set<RequestContext>, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(cut);
      clearInterval(poll);
      server.forceShutdown();
      resolve();
    };
    const cut = setTimeout(() => {
      for (const ctx of inFlight) {
        ctx.abort(new GatewayError("shutting_down", "The gateway shut down before the call finished."));
      }
      // Give the aborted calls a moment to send their status, then close what is left.
      setTimeout(finish, 200).unref();
    }, graceMs);
    const poll = setInterval(() => {
      if (inFlight.size === 0) finish();
    }, 20);
    server.tryShutdown(finish);
  });
}
