import type { RequestContext } from "../core/context.js";
import type { Usage } from "../core/types.js";

/** How a step ended. */
export type StepStatus = "succeeded" | "skipped" | "defaulted" | "failed";

/**
 * What the pipeline executor reports to observability: one span per run, per step and per `map`
 * item (the router's attempt spans sit beneath the step's or item's), and metrics per pipeline and
 * step. `NOOP_PIPELINE_OBSERVER` costs nothing when observability is off.
 */
export interface PipelineObserver {
  /** The `traceparent` a child of `ctx` carries, so its span is a child of `ctx`'s span. */
  traceparent(ctx: RequestContext): string;
  startSpan(ctx: RequestContext, name: string, attributes: Record<string, string | number | boolean>): void;
  endSpan(ctx: RequestContext, errorCode?: string): void;
  /** A run ended: `success` or the error code it failed with. */
  run(pipeline: string, outcome: string, seconds: number): void;
  /** A step ended (skipped steps included, with zero duration). */
  step(
    pipeline: string,
    step: string,
    model: string,
    status: StepStatus,
    seconds: number,
    usage: Usage | undefined,
    errorCode: string | undefined,
  ): void;
}

export const NOOP_PIPELINE_OBSERVER: PipelineObserver = {
  traceparent: (ctx) => ctx.traceparent,
  startSpan: () => {},
  endSpan: () => {},
  run: () => {},
  step: () => {},
};
