import { createConnection } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./fleet.js";
import { type Pinning, pinned } from "./pinning.js";
import { type Managed, runCaptured, StartError, startLogged } from "./processes.js";

/** One PING over a fresh connection; true on +PONG. */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once("error", () => done(false));
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

/** redis-server on a free loopback port, on the load CPU, no persistence; waits until it answers. */
export async function startRedis(
  pinning: Pinning,
  logDir: string,
  cwd: string,
  dataDir: string,
): Promise<Managed & { port: number }> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  args.push("--dir", dataDir);
  const [cmd, argv] = pinned(pinning, pinning.loadCpu, "redis-server", args);
  const m = startLogged("redis", cmd, argv, join(logDir, "redis.log"), cwd);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await pingOnce(port)) return { ...m, port };
    if (m.child.exitCode !== null) break;
    await sleep(50);
  }
  throw new StartError(`redis-server did not answer PING on port ${port} (see ${m.logPath})`);
}

/**
 * `redis-benchmark -t ping -n 2000 -c 1 -q` on `cpu`: one client, so its mean round trip is 1 ÷ req/s.
 * Returns µs per round trip (mean) and the p50 it prints, or undefined when it cannot run.
 */
export async function redisBenchmarkRtt(
  pinning: Pinning,
  port: number,
  cpu: number,
  cwd: string,
): Promise<{ meanUs: number; p50Us: number | undefined; line: string } | undefined> {
  const args = ["-h", "127.0.0.1", "-p", String(port), "-t", "ping", "-n", "2000", "-c", "1", "-q"];
  const [cmd, argv] = pinned(pinning, cpu, "redis-benchmark", args);
  try {
    const out = await runCaptured(cmd, argv, { cwd, timeoutMs: 30_000 });
    const lines = out.stdout.split(/[\r\n]+/).filter((l) => /requests per second/.test(l));
    const line = lines.find((l) => l.startsWith("PING_MBULK")) ?? lines[0];
    if (out.code !== 0 || line === undefined) return undefined;
    const rps = Number(/:\s*([\d.]+) requests per second/.exec(line)?.[1]);
    const p50 = /p50=([\d.]+) msec/.exec(line)?.[1];
    if (!Number.isFinite(rps) || rps <= 0) return undefined;
    return {
      meanUs: 1e6 / rps,
      p50Us: p50 === undefined ? undefined : Number(p50) * 1000,
      line: line.trim(),
    };
  } catch {
    return undefined;
  }
}
