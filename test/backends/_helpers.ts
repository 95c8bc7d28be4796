import { call, type Json } from "../helpers/http.js";
import { type Running, startSim } from "../helpers/proc.js";

/** A `switchyard sim` that also serves gRPC; `grpcTarget` is its `host:port`. */
export interface GrpcSim extends Running {
  grpcPort: number;
  grpcTarget: string;
}

/** Starts `switchyard sim --grpc-port 0` with the given `--model` flags. */
export async function startGrpcSim(models: string[]): Promise<GrpcSim> {
  const sim = await startSim(["--grpc-port", "0", ...models.flatMap((m) => ["--model", m])]);
  const ready = sim.lines.find((l) => l.msg === "sim listening");
  const grpcPort = Number(ready?.grpcPort);
  if (!Number.isInteger(grpcPort) || grpcPort <= 0) {
    await sim.stop();
    throw new Error(`the sim printed no grpcPort: ${JSON.stringify(ready)}`);
  }
  return Object.assign(sim, { grpcPort, grpcTarget: `127.0.0.1:${grpcPort}` });
}

/** Requests the sim received (HTTP and gRPC) since start or the last reset. */
export async function received(sim: Running): Promise<number> {
  const { json } = await call(sim.url, "/sim/stats");
  return Number(json.requests ?? 0);
}

export const setFaults = (sim: Running, faults: Json) =>
  call(sim.url, "/sim/faults", { method: "PUT", body: faults });
export const clearFaults = (sim: Running) => call(sim.url, "/sim/faults", { method: "DELETE" });
export const resetStats = (sim: Running) => call(sim.url, "/sim/stats/reset", { method: "POST" });

/** What the sim's classifier answers, computed here independently: sums of features by index mod k. */
export function expectedScores(rows: number[][], classes: number): { scores: number[]; labels: number[] } {
  const scores: number[] = [];
  const labels: number[] = [];
  for (const row of rows) {
    const s = Array.from({ length: classes }, (_, j) =>
      Math.fround(row.reduce((acc, x, d) => (d % classes === j ? acc + Math.fround(x) : acc), 0)),
    );
    scores.push(...s);
    labels.push(s.indexOf(Math.max(...s)));
  }
  return { scores, labels };
}

/** Features of a text as the sim's classifier makes them: byte / 255 summed per position mod dim. */
export function textRow(text: string, dim: number): number[] {
  const x = new Array<number>(dim).fill(0);
  const bytes = Buffer.from(text, "utf8");
  bytes.forEach((b, p) => {
    x[p % dim] = (x[p % dim] as number) + b / 255;
  });
  return x.map(Math.fround);
}
