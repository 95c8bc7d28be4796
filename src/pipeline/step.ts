/**
 * One step of a run: its condition, its context (span, deadline, abort), its call — or its `map`
 * of calls, a bounded number at a time, outputs in the items' order — and its failure policy.
 */
import { abortReason, type RequestContext } from "../core/context.js";
import { GatewayError, toGatewayError } from "../core/errors.js";
import type { Usage } from "../core/types.js";
import { callModel, templateError } from "./call.js";
import type { CompiledStep } from "./compile.js";
import { holds } from "./condition.js";
import { childContext } from "./context.js";
import { evaluate, type Scope, type Value } from "./evaluate.js";
import type { RunEnv, StepRecord } from "./types.js";

type CallResult = { output: Value; usage: Usage | undefined; items?: number; defaulted?: boolean };

export function addUsage(a: Usage | undefined, b: Usage | undefined): Usage | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    prompt_tokens: a.prompt_tokens + b.prompt_tokens,
    completion_tokens: a.completion_tokens + b.completion_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
  };
}

/**
 * The run's error when a step fails under `onError: fail`, naming the pipeline and the step. A
 * retryable cause (an upstream or capacity failure) becomes `pipeline_step_failed`, which a job
 * retries; any other keeps its own code and status (a bad request stays a 400 and is not retried).
 */
export function stepFailed(env: RunEnv, step: string, cause: GatewayError): GatewayError {
  if (cause.code === "pipeline_template_error") return cause;
  const message = `pipeline '${env.pipeline.name}': step '${step}' failed: ${cause.code}: ${cause.message}`;
  const param = cause.param?.startsWith(`steps.${step}.`) ? cause.param : `steps.${step}`;
  const opts = { param, retryAfterSeconds: cause.retryAfterSeconds, cause };
  if (!cause.retryable)
    return new GatewayError(cause.code, message, { ...opts, status: cause.status, headers: cause.headers });
  return new GatewayError("pipeline_step_failed", message, opts);
}

function requestIdOf(parent: RequestContext, suffix: string): string {
  return `${parent.requestId.slice(0, 80)}.${suffix}`;
}

/** Runs `fn` on a child context of `parent` with its own span. */
async function inChild<T>(
  env: RunEnv,
  parent: RequestContext,
  spec: {
    suffix: string;
    timeoutMs: number | undefined;
    span: string;
    attrs: Record<string, string | number>;
  },
  fn: (ctx: RequestContext) => Promise<T>,
): Promise<T> {
  const { observer } = env.deps;
  const child = childContext(parent, {
    requestId: requestIdOf(parent, spec.suffix),
    traceparent: observer.traceparent(parent),
    timeoutMs: spec.timeoutMs,
  });
  observer.startSpan(child.ctx, spec.span, spec.attrs);
  let code: string | undefined;
  try {
    return await fn(child.ctx);
  } catch (err) {
    code = (child.ctx.signal.aborted ? abortReason(child.ctx.signal) : toGatewayError(err)).code;
    throw err;
  } finally {
    observer.endSpan(child.ctx, code);
    child.release();
  }
}

async function runMap(
  env: RunEnv,
  step: CompiledStep,
  scope: Scope,
  stepCtx: RequestContext,
): Promise<CallResult> {
  const map = step.map!;
  let list: Value;
  try {
    list = evaluate(map.over, scope);
  } catch (err) {
    throw templateError(env, step.name, "map.over", err);
  }
  const fail = (msg: string) =>
    new GatewayError(
      "pipeline_template_error",
      `pipeline '${env.pipeline.name}', step '${step.name}': ${msg}`,
      {
        param: `steps.${step.name}`,
      },
    );
  if (!Array.isArray(list)) throw fail(`map.over gave ${list === null ? "null" : typeof list}, not a list`);
  if (list.length > map.maxItems)
    throw fail(`map.over gave ${list.length} items, more than map.maxItems (${map.maxItems})`);
  const items: readonly Value[] = list;
  const outputs: Value[] = new Array(items.length).fill(null);
  let usage: Usage | undefined;
  let defaulted = false;
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stepCtx.signal.aborted) {
      const i = next++;
      const spec = {
        suffix: String(i),
        timeoutMs: step.timeoutMs,
        span: `pipeline.item ${step.name}[${i}]`,
        attrs: { "switchyard.pipeline.item": i },
      };
      try {
        const r = await inChild(env, stepCtx, spec, (ctx) =>
          callModel(env, step, { ...scope, item: items[i], index: i }, ctx, false),
        );
        outputs[i] = r.output;
        usage = addUsage(usage, r.usage);
      } catch (err) {
        if (step.onError === "fail" || env.runCtx.signal.aborted) {
          stepCtx.abort(toGatewayError(err));
          throw err;
        }
        outputs[i] = step.default;
        defaulted = true;
      }
    }
  };
  const workers = Array.from({ length: Math.min(map.concurrency, items.length) }, worker);
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return { output: outputs, usage, items: items.length, defaulted };
}

function conditionHolds(env: RunEnv, step: CompiledStep, scope: Scope): boolean {
  if (!step.when) return true;
  try {
    return holds(step.when, scope);
  } catch (err) {
    throw templateError(env, step.name, `when '${step.when.src}'`, err);
  }
}

/**
 * Runs one step whose dependencies are done. Resolves with its record (succeeded, skipped, or
 * defaulted under `onError: continue`); rejects with the run's error under `onError: fail`, or with
 * the run's own abort reason when the run was cancelled or ran out of time.
 */
export async function runStep(env: RunEnv, step: CompiledStep, scope: Scope): Promise<StepRecord> {
  const t0 = performance.now();
  const startedMs = t0 - env.startedAt;
  const since = () => performance.now() - t0;
  let run: boolean;
  try {
    run = conditionHolds(env, step, scope);
  } catch (err) {
    return settle(env, step, toGatewayError(err), startedMs, since());
  }
  if (!run) return { status: "skipped", output: step.default, usage: undefined, startedMs, durationMs: 0 };
  env.opts.onEvent?.({ type: "step.started", step: step.name, model: step.model });
  const stream = env.opts.stream === true && env.pipeline.streamSteps.includes(step.name);
  const spec = {
    suffix: step.name,
    timeoutMs: step.map ? undefined : step.timeoutMs,
    span: `pipeline.step ${env.pipeline.name}.${step.name}`,
    attrs: {
      "switchyard.pipeline": env.pipeline.name,
      "switchyard.pipeline.step": step.name,
      "gen_ai.request.model": step.model,
    },
  };
  try {
    const r = await inChild<CallResult>(env, env.runCtx, spec, (ctx) =>
      step.map ? runMap(env, step, scope, ctx) : callModel(env, step, scope, ctx, stream),
    );
    const status = r.defaulted ? "defaulted" : "succeeded";
    return { status, output: r.output, usage: r.usage, startedMs, durationMs: since(), items: r.items };
  } catch (err) {
    if (env.runCtx.signal.aborted) throw abortReason(env.runCtx.signal);
    return settle(env, step, toGatewayError(err), startedMs, since());
  }
}

/** The failure policy: `continue` gives the step its default, `fail` ends the run naming the step. */
function settle(
  env: RunEnv,
  step: CompiledStep,
  e: GatewayError,
  startedMs: number,
  durationMs: number,
): StepRecord {
  if (step.onError === "fail") {
    const { observer } = env.deps;
    observer.step(env.pipeline.name, step.name, step.model, "failed", durationMs / 1000, undefined, e.code);
    throw stepFailed(env, step.name, e);
  }
  return { status: "defaulted", output: step.default, usage: undefined, startedMs, durationMs, error: e };
}
