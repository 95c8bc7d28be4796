import type { Registry } from "prom-client";
import type { Usage } from "../core/types.js";
import type { PipelineObserver } from "../pipeline/observer.js";
import { FastCounter, FastHistogram } from "./histogram.js";
import { PREFIX } from "./metrics.js";
import type { Spans } from "./spans.js";
import { traceparentOf } from "./spans.js";

/**
 * Metrics of pipeline runs and steps, on the gateway's registry. Labels are bounded: pipeline, step
 * and model names come from the config, outcomes and codes from the error registry.
 */
export class PipelineMetrics {
  readonly runs: FastCounter;
  readonly runDuration: FastHistogram;
  readonly stepDuration: FastHistogram;
  readonly stepFailures: FastCounter;
  readonly stepInputTokens: FastCounter;
  readonly stepOutputTokens: FastCounter;

  constructor(r: Registry) {
    const n = (s: string) => PREFIX + s;
    this.runs = new FastCounter(
      r,
      n("pipeline_runs_total"),
      "Pipeline runs, by outcome (success or the error code).",
      ["pipeline", "outcome"],
    );
    this.runDuration = new FastHistogram(
      r,
      n("pipeline_run_duration_seconds"),
      "Duration of pipeline runs.",
      ["pipeline", "outcome"],
    );
    this.stepDuration = new FastHistogram(
      r,
      n("pipeline_step_duration_seconds"),
      "Duration of pipeline steps, by status (succeeded, skipped, defaulted, failed).",
      ["pipeline", "step", "status"],
    );
    this.stepFailures = new FastCounter(
      r,
      n("pipeline_step_failures_total"),
      "Pipeline steps that failed (status failed, or defaulted under onError: continue), by error code.",
      ["pipeline", "step", "code"],
    );
    this.stepInputTokens = new FastCounter(
      r,
      n("pipeline_step_input_tokens_total"),
      "Prompt tokens of pipeline steps.",
      ["pipeline", "step", "model"],
    );
    this.stepOutputTokens = new FastCounter(
      r,
      n("pipeline_step_output_tokens_total"),
      "Completion tokens of pipeline steps.",
      ["pipeline", "step", "model"],
    );
  }

  run(pipeline: string, outcome: string, seconds: number): void {
    this.runs.inc(1, pipeline, outcome);
    this.runDuration.labels(pipeline, outcome === "success" ? "success" : "failure").observe(seconds);
  }

  step(
    pipeline: string,
    step: string,
    model: string,
    status: string,
    seconds: number,
    usage: Usage | undefined,
    code?: string,
  ) {
    this.stepDuration.labels(pipeline, step, status).observe(seconds);
    if (code) this.stepFailures.inc(1, pipeline, step, code);
    if (usage) {
      this.stepInputTokens.inc(usage.prompt_tokens, pipeline, step, model);
      this.stepOutputTokens.inc(usage.completion_tokens, pipeline, step, model);
    }
  }
}

/** The observer the pipeline executor reports to: these metrics, and spans when tracing is on. */
export function buildPipelineObserver(
  metrics: PipelineMetrics | undefined,
  spans: Spans | undefined,
): PipelineObserver {
  return {
    traceparent(ctx) {
      const span = spans?.span(ctx);
      return span ? traceparentOf(span) : ctx.traceparent;
    },
    startSpan(ctx, name, attributes) {
      spans?.startContextSpan(ctx, name, "internal", attributes);
    },
    endSpan(ctx, errorCode) {
      spans?.endContextSpan(ctx, errorCode);
    },
    run: (pipeline, outcome, seconds) => metrics?.run(pipeline, outcome, seconds),
    step: (pipeline, step, model, status, seconds, usage, code) =>
      metrics?.step(pipeline, step, model, status, seconds, usage, code),
  };
}
