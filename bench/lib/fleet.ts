import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pinned } from "./pinning.js";
import { type Managed, StartError, startLogged, stopOne, waitForPort } from "./processes.js";
import type { ScenarioContext } from "./scenario.js";

/** Processes and scratch folders of one scenario, stopped and removed together when it ends. */
export class ScenarioFleet {
  private readonly procs: Managed[] = [];
  private readonly dirs: string[] = [];

  constructor(private readonly ctx: ScenarioContext) {}

  get cli(): string {
    const cli = join(this.ctx.root, "dist", "bin", "switchyard.js");
    if (!existsSync(cli)) throw new StartError(`${cli} is missing: run 'npm run build' first`);
    return cli;
  }

  /** A fresh folder under the OS temp dir (removed at stop). */
  scratch(name: string): string {
    const dir = mkdtempSync(join(tmpdir(), `switchyard-bench-${name}-`));
    this.dirs.push(dir);
    return dir;
  }

  track(m: Managed): void {
    this.procs.push(m);
  }

  /** `switchyard sim --model SPEC` on the load CPU. */
  async sim(name: string, modelSpec: string): Promise<Managed & { port: number }> {
    const [cmd, args] = pinned(this.ctx.pinning, this.ctx.pinning.loadCpu, process.execPath, [
      this.cli,
      "sim",
      "--port",
      "0",
      "--model",
      modelSpec,
    ]);
    const m = startLogged(name, cmd, args, join(this.ctx.logDir, `${name}.log`), this.ctx.root);
    this.track(m);
    return { ...m, port: await waitForPort(m, "sim listening", 20_000) };
  }

  /** `switchyard serve` on the test CPU with `config` (written as JSON, which YAML reads). */
  async gateway(name: string, config: Record<string, unknown>): Promise<Managed & { port: number }> {
    const configPath = join(this.ctx.logDir, `${name}.yaml`);
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const serve = [this.cli, "serve", "--config", configPath, "--port", "0", "--host", "127.0.0.1"];
    const [cmd, args] = pinned(this.ctx.pinning, this.ctx.pinning.testCpu, process.execPath, serve);
    const m = startLogged(name, cmd, args, join(this.ctx.logDir, `${name}.log`), this.ctx.root);
    this.track(m);
    return { ...m, port: await waitForPort(m, "switchyard listening", 20_000) };
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.splice(0).map((m) => stopOne(m)));
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/** The gateway config of the core bench (default middleware, access log on) for model `bench`. */
export function baseGatewayConfig(simPort: number): Record<string, unknown> {
  return {
    logging: { level: "info" },
    models: { bench: { endpoints: [{ kind: "openai", url: `http://127.0.0.1:${simPort}/v1` }] } },
  };
}

/** A port free right now on 127.0.0.1 (for servers that cannot be told to pick one: redis-server). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** File system type of a folder (`ext4`, `tmpfs`…): SQLite's fsync cost depends on it. */
export function fsType(dir: string): string {
  try {
    const out = execFileSync("findmnt", ["-n", "-o", "FSTYPE", "--target", dir], { encoding: "utf8" });
    return out.trim() || "unknown";
  } catch {
    return "unknown";
  }
}
