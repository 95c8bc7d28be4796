import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import type { DriverReply, DriverRun, GrpcStreamResult, GrpcUnaryResult } from "./grpc-types.js";
import { type Pinning, repin } from "./pinning.js";
import type { StreamProbeResult } from "./types.js";

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The gRPC load driver (bench/lib/grpc-driver.ts), one long-lived child on the load CPU that keeps
 * its channels between runs. Runs are sent over the IPC channel one at a time.
 */
export class GrpcDriver {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exitReason: string | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on("message", (m: DriverReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`grpc driver: ${m.error}`));
    });
    child.once("exit", (code, signal) => {
      this.exitReason = `grpc driver exited (code ${code}, signal ${signal})`;
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(this.exitReason));
      }
      this.pending.clear();
    });
  }

  /** Forks the driver under tsx (like bench/load-driver.ts) and pins it to the load CPU. */
  static start(root: string, pinning: Pinning): GrpcDriver {
    const child = fork(join(root, "bench", "lib", "grpc-driver.ts"), [], {
      cwd: root,
      execArgv: ["--import", "tsx"],
      // The bench's stdout is the report: anything the driver prints goes to stderr.
      stdio: ["ignore", 2, 2, "ipc"],
    });
    if (child.pid === undefined) throw new Error("could not fork the grpc driver");
    repin(pinning, child.pid, pinning.loadCpu);
    return new GrpcDriver(child);
  }

  private send(run: DriverRun, timeoutMs: number): Promise<unknown> {
    if (this.exitReason !== undefined) return Promise.reject(new Error(this.exitReason));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`grpc driver: no answer to a ${run.kind} run within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ id, run });
    });
  }

  /** One Chat and one ChatStream on `port` must succeed (the driver waits up to 5 s for the channel). */
  async check(port: number, itlMs: number): Promise<void> {
    await this.send({ kind: "check", port, itlMs }, 30_000);
  }

  async unary(port: number, concurrency: number, seconds: number): Promise<GrpcUnaryResult> {
    const run: DriverRun = { kind: "unary", port, concurrency, seconds };
    return (await this.send(run, (seconds + 30) * 1000)) as GrpcUnaryResult;
  }

  async stream(
    port: number,
    concurrency: number,
    seconds: number,
    itlMs: number,
    maxTokens: number,
  ): Promise<GrpcStreamResult> {
    const run: DriverRun = { kind: "stream", port, concurrency, seconds, itlMs, maxTokens };
    return (await this.send(run, (seconds + 30) * 1000)) as GrpcStreamResult;
  }

  /** The HTTP streaming probe at c1 (bench/lib/stream-probe.ts), run inside the driver. */
  async httpStream(
    port: number,
    seconds: number,
    itlMs: number,
    maxTokens: number,
  ): Promise<StreamProbeResult> {
    const run: DriverRun = { kind: "http-stream", port, seconds, itlMs, maxTokens };
    return (await this.send(run, (seconds + 30) * 1000)) as StreamProbeResult;
  }

  /** Disconnects (the driver closes its channels and exits); SIGKILL if it is still there after 3 s. */
  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    if (c.connected) c.disconnect();
    const timer = setTimeout(() => c.kill("SIGKILL"), 3_000);
    await exited;
    clearTimeout(timer);
  }
}
