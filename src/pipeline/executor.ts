/**
 * Runs a pipeline's step graph: every step starts as soon as the steps it needs are done, so
 * independent branches run at the same time. The run has its own context (span, deadline bounded by
 * the caller's, abort linked to the caller's); a failing step under `onError: fail` aborts the steps
 * still running and fails the run with the step named.
 */
import { abortReason } from "../core/context.js";
import { type GatewayError, toGatewayError } from "../core/errors.js";
import { newTraceId } from "../core/ids.js";
import type { Usage } from "../core/types.js";
import { templateError } from "./call.js";
import type { CompiledPipeline, CompiledStep } from "./compile.js";
import { childContext } from "./context.js";
import type { Value } from "./evaluate.js";
import { addUsage, runStep } from "./step.js";
import { render } from "./template.js";
import type { PipelineDeps, PipelineResult, RunEnv, RunOptions, StepRecord, StepReport } from "./types.js";

const ZERO: Usage = Object.freeze({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

const round = (ms: number) => Math.round(ms * 10) / 10;

function reportOf(step: CompiledStep, r: StepRecord): StepReport {
  return {
    status: r.status,
    model: step.model,
    output: r.output,
    usage: r.usage ?? null,
    started_ms: round(r.startedMs),
    duration_ms: round(r.durationMs),
    ...(r.items !== undefined ? { items: r.items } : {}),
    ...(r.error ? { error: { code: r.error.code, message: r.error.message } } : {}),
  };
}

/** What later steps' templates read as `steps.NAME`. */
function stepView(r: StepRecord): Value {
  return {
    output: r.output,
    status: r.status,
    error: r.error?.code ?? null,
    usage: r.usage ? { ...r.usage } : null,
  };
}

/** Runs the graph; resolves with every step's record, or rejects with the first failure. */
function runGraph(env: RunEnv): Promise<Map<string, StepRecord>> {
  const { pipeline, deps, runCtx } = env;
  const records = new Map<string, StepRecord>();
  const started = new Set<string>();
  const views: Record<string, Value> = {};
  return new Promise((resolve, reject) => {
    let failed = false;
    const finish = (step: CompiledStep, r: StepRecord) => {
      records.set(step.name, r);
      views[step.name] = stepView(r);
      const seconds = r.durationMs / 1000;
      deps.observer.step(pipeline.name, step.name, step.model, r.status, seconds, r.usage, r.error?.code);
      env.opts.onEvent?.({ type: "step.finished", step: step.name, report: reportOf(step, r) });
    };
    const fail = (err: unknown) => {
      const e = toGatewayError(err);
      if (!runCtx.signal.aborted) runCtx.abort(e);
      if (!failed) {
        failed = true;
        reject(abortReason(runCtx.signal));
      }
    };
    const launch = () => {
      if (failed) return;
      if (records.size === pipeline.steps.length) return resolve(records);
      for (const step of pipeline.steps) {
        if (started.has(step.name) || !step.deps.every((d) => records.has(d))) continue;
        started.add(step.name);
        const scope = { input: env.opts.input as Value, steps: { ...views } };
        runStep(env, step, scope).then(
          (r) => {
            if (failed) return;
            finish(step, r);
            launch();
          },
          (err: unknown) => fail(err),
        );
      }
    };
    launch();
  });
}

function renderOutput(env: RunEnv, records: Map<string, StepRecord>): Value {
  const steps: Record<string, Value> = {};
  for (const [name, r] of records) steps[name] = stepView(r);
  try {
    return render(env.pipeline.output, { input: env.opts.input as Value, steps });
  } catch (err) {
    throw templateError(env, undefined, "output", err);
  }
}

/** Runs one pipeline for one caller. Rejects with a GatewayError (the step named when one failed). */
export async function runPipeline(
  pipeline: CompiledPipeline,
  deps: PipelineDeps,
  opts: RunOptions,
): Promise<PipelineResult> {
  const startedAt = performance.now();
  const { observer } = deps;
  const run = childContext(opts.ctx, {
    requestId: opts.ctx.requestId,
    traceparent: observer.traceparent(opts.ctx),
    timeoutMs: pipeline.timeoutMs,
  });
  const runCtx = run.ctx;
  const env: RunEnv = { pipeline, deps, opts, runCtx, startedAt };
  observer.startSpan(runCtx, `pipeline ${pipeline.name}`, { "switchyard.pipeline": pipeline.name });
  let error: GatewayError | undefined;
  try {
    const records = await runGraph(env);
    const output = renderOutput(env, records);
    let usage: Usage | undefined;
    for (const r of records.values()) usage = addUsage(usage, r.usage);
    runCtx.usage = usage;
    const steps: Record<string, StepReport> = {};
    if (opts.debug)
      for (const s of pipeline.steps) steps[s.name] = reportOf(s, records.get(s.name) as StepRecord);
    return {
      id: `run_${newTraceId().slice(0, 24)}`,
      object: "pipeline.run",
      pipeline: pipeline.name,
      output,
      usage: usage ?? ZERO,
      duration_ms: round(performance.now() - startedAt),
      ...(opts.debug ? { steps } : {}),
    };
  } catch (err) {
    error = runCtx.signal.aborted ? abortReason(runCtx.signal) : toGatewayError(err);
    throw error;
  } finally {
    observer.endSpan(runCtx, error?.code);
    observer.run(pipeline.name, error?.code ?? "success", (performance.now() - startedAt) / 1000);
    run.release();
  }
}
