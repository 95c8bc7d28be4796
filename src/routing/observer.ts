import type { RequestContext } from "../core/context.js";
import type { BreakerState } from "./breaker.js";

export type AttemptOutcome = "success" | "failure" | "neutral";

/** Ends one upstream attempt's measurement (metrics, span). */
export interface AttemptEnd {
  (outcome: AttemptOutcome, code?: string): void;
  /** When tracing: the `traceparent` naming the attempt's span, sent upstream instead of the request's. */
  readonly traceparent?: string;
}

/** Records the gap in ms between two events of a relayed stream (one shared function per pool). */
export type GapRecorder = (gapMs: number) => void;

/**
 * What the routing core reports to observability. The router only calls this narrow interface;
 * metrics and tracing implement it. `NOOP_OBSERVER` costs nothing when observability is off.
 */
export interface RouterObserver {
  attemptStart(
    ctx: RequestContext,
    pool: string,
    endpoint: string,
    attempt: number,
    hedge: boolean,
  ): AttemptEnd;
  firstByte(ctx: RequestContext, pool: string, endpoint: string, ms: number): void;
  retry(pool: string, errorClass: string): void;
  retryBudgetExhausted(pool: string): void;
  hedge(pool: string): void;
  fallback(from: string, to: string, errorClass: string): void;
  breaker(pool: string, endpoint: string, from: BreakerState, to: BreakerState): void;
  ejected(pool: string, endpoint: string, untilMs: number): void;
  health(pool: string, endpoint: string, healthy: boolean): void;
  shed(pool: string, reason: string): void;
  /** A mirrored (shadow) request to `pool` ended: `success`, `failure`, or `dropped` at the concurrency cap. */
  shadow(pool: string, outcome: "success" | "failure" | "dropped", ms: number): void;
  /** The recorder of inter-token gaps for streams of `pool` (looked up once per stream, called per event). */
  interTokenRecorder?(pool: string): GapRecorder;
  /**
   * A dynamic batch of `items` inputs left the batch queue of `model` for one upstream call;
   * `queueDelaysMs` holds how long each of its requests waited in the queue.
   */
  batch?(model: string, items: number, queueDelaysMs: readonly number[]): void;
}

/** A gap recorder that records nothing. */
export const NO_GAPS: GapRecorder = () => {};

const noEnd: AttemptEnd = () => {};

export const NOOP_OBSERVER: RouterObserver = {
  attemptStart: () => noEnd,
  firstByte: () => {},
  retry: () => {},
  retryBudgetExhausted: () => {},
  hedge: () => {},
  fallback: () => {},
  breaker: () => {},
  ejected: () => {},
  health: () => {},
  shed: () => {},
  shadow: () => {},
};
