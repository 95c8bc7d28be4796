import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Pinning, pinned } from "./pinning.js";
import { type Managed, StartError, startLogged, waitForPort } from "./processes.js";
import { transpileFile } from "./transpile.js";

/** The three processes of one bench run. */
export interface Fleet {
  sim: Managed & { port: number };
  reference: Managed & { port: number };
  gateway: Managed & { port: number };
}

export interface FleetPaths {
  root: string;
  logDir: string;
}

const START_TIMEOUT_MS = 20_000;

function gatewayConfig(simPort: number): string {
  return [
    "logging: { level: info }",
    "models:",
    "  bench:",
    "    endpoints:",
    "      - kind: openai",
    `        url: http://127.0.0.1:${simPort}/v1`,
    "",
  ].join("\n");
}

async function start(
  name: string,
  cpu: number,
  nodeArgs: string[],
  msg: string,
  paths: FleetPaths,
  pinning: Pinning,
) {
  const [cmd, args] = pinned(pinning, cpu, process.execPath, nodeArgs);
  const managed = startLogged(name, cmd, args, join(paths.logDir, `${name}.log`), paths.root);
  const port = await waitForPort(managed, msg, START_TIMEOUT_MS);
  return { ...managed, port };
}

/** Starts the sim (load CPU), the reference proxy and the gateway (both on the test CPU), all on bare node. */
export async function startFleet(paths: FleetPaths, pinning: Pinning): Promise<Fleet> {
  const cli = join(paths.root, "dist", "bin", "switchyard.js");
  if (!existsSync(cli)) throw new StartError(`${cli} is missing: run 'npm run build' first`);
  mkdirSync(paths.logDir, { recursive: true });
  const sim = await start(
    "sim",
    pinning.loadCpu,
    [cli, "sim", "--port", "0", "--model", "bench:instant"],
    "sim listening",
    paths,
    pinning,
  );
  const upstream = `http://127.0.0.1:${sim.port}/v1`;
  const proxy = transpileFile(
    join(paths.root, "bench", "reference-proxy.ts"),
    join(paths.logDir, "..", "build"),
  );
  const proxyArgs = [proxy, "--port", "0", "--upstream", upstream];
  const reference = await start(
    "reference",
    pinning.testCpu,
    proxyArgs,
    "reference proxy listening",
    paths,
    pinning,
  );
  const configPath = join(paths.logDir, "gateway.yaml");
  writeFileSync(configPath, gatewayConfig(sim.port));
  const serveArgs = [cli, "serve", "--config", configPath, "--port", "0", "--host", "127.0.0.1"];
  const gateway = await start("gateway", pinning.testCpu, serveArgs, "switchyard listening", paths, pinning);
  return { sim, reference, gateway };
}
