import { createGateway } from "../app.js";
import { AUTH_MODES } from "../auth/authenticate.js";
import { withOverrides } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { ConfigError, loadConfig } from "./load.js";
import { parseFlags, parsePort, UsageError } from "./options.js";

type Env = Readonly<Record<string, string | undefined>>;

/** `switchyard serve`: runs until SIGTERM/SIGINT, then drains and exits 0. */
export async function serveCommand(args: string[], env: Env): Promise<number> {
  const { values } = parseFlags(args, {
    config: { type: "string", short: "c" },
    port: { type: "string", short: "p" },
    "grpc-port": { type: "string" },
    host: { type: "string" },
    auth: { type: "string" },
  });
  let config: Config;
  try {
    config = loadConfig(values.config, env);
    if (values.auth !== undefined) {
      if (!(AUTH_MODES as readonly string[]).includes(values.auth)) {
        throw new UsageError(`--auth must be one of ${AUTH_MODES.join(", ")}, got '${values.auth}'`);
      }
      config = withOverrides(config, { auth: { mode: values.auth } });
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // An empty PORT counts as unset, as `${PORT:-}` would (a container template that always sets it).
  const port =
    parsePort(values.port ?? (env.PORT || undefined), values.port ? "--port" : "PORT") ?? config.server.port;
  // A free HTTP port (0) asks for a free gRPC port too, unless --grpc-port names one.
  const grpcPort = parsePort(values["grpc-port"], "--grpc-port") ?? (port === 0 ? 0 : config.grpc.port);
  // Hot reload reads the same file with the same command-line overrides.
  const file = values.config ?? (env.SWITCHYARD_CONFIG || undefined);
  const loadAgain = (): Config => {
    const next = loadConfig(values.config, env);
    return values.auth === undefined ? next : withOverrides(next, { auth: { mode: values.auth } });
  };
  const gateway = await createGateway(config, file ? { loadConfig: loadAgain } : {});
  const stopWatching = gateway.watchConfig(file);
  const bound = await gateway.listen(port, values.host ?? config.server.host, grpcPort);
  // Lifecycle lines are written at info even when the configured level is higher, so supervisors
  // and scripts always see when the gateway is ready and when it stops (only `silent` hides them).
  const lifecycle = gateway.logger.child(
    {},
    { level: config.logging.level === "silent" ? "silent" : "info" },
  );
  lifecycle.info(
    {
      port: bound,
      ...(gateway.grpcPort === undefined ? {} : { grpcPort: gateway.grpcPort }),
      models: Object.keys(config.models),
      config: file ?? "embedded default",
    },
    "switchyard listening",
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      lifecycle.info({ signal, graceMs: config.server.shutdownGraceMs }, "shutting down");
      stopWatching();
      gateway.close().then(resolve, (err: unknown) => {
        gateway.logger.error({ err }, "error while shutting down");
        resolve();
      });
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  lifecycle.info("stopped");
  gateway.logger.flush();
  await new Promise((r) => setImmediate(r));
  return 0;
}
