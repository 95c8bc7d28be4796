import type { Percentiles, WrkResult } from "./types.js";

/** Shapes shared by the `grpc` section and its driver child (bench/lib/grpc-driver.ts). Times in µs. */

/** A closed-loop unary run, in wrk's shape (so runs merge with `mergeWrk`), plus the driver's own CPU. */
export interface GrpcUnaryResult extends WrkResult {
  /** CPU the driver process spent over the run (user + system). */
  driverCpuUs: number;
}

/** A closed-loop ChatStream run: time to the first message with text, and to the end of the stream. */
export interface GrpcStreamResult {
  concurrency: number;
  streams: number;
  errors: number;
  /** Messages received over the recorded streams. */
  messages: number;
  durationUs: number;
  ttftUs: Percentiles;
  totalUs: Percentiles;
}

export type DriverRun =
  | { kind: "check"; port: number; itlMs: number }
  | { kind: "unary"; port: number; concurrency: number; seconds: number }
  | { kind: "stream"; port: number; concurrency: number; seconds: number; itlMs: number; maxTokens: number }
  /** The HTTP streaming probe of bench/lib/stream-probe.ts, run in the driver to spare a child per run. */
  | { kind: "http-stream"; port: number; seconds: number; itlMs: number; maxTokens: number };

export interface DriverRequest {
  id: number;
  run: DriverRun;
}

export type DriverReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };
