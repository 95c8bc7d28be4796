/**
 * One model call of a step: render the request from the templates, pass the policy gate (the
 * caller's limits count every step), then ONE `router.execute` with the step's context (deadline,
 * abort, span) and retry override. Retries, fallbacks, breakers and balancing are the router's.
 */

import { parseInferRequest, TensorError } from "../backends/kserve-tensors.js";
import type { RequestContext } from "../core/context.js";
import { GatewayError } from "../core/errors.js";
import type { RouteResult, Usage } from "../core/types.js";
import { validateBody } from "../http/validation.js";
import type { CompiledStep } from "./compile.js";
import { EvalTypeError, MissingValueError, type Scope, toText, type Value } from "./evaluate.js";
import { outputOf, StreamCollector } from "./output.js";
import { render, type Template } from "./template.js";
import type { RunEnv } from "./types.js";

const NO_USAGE: Usage = Object.freeze({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

/** Turns a template's run-time failure into `pipeline_template_error` naming the pipeline and step. */
export function templateError(
  env: RunEnv,
  step: string | undefined,
  what: string,
  err: unknown,
): GatewayError {
  if (!(err instanceof MissingValueError || err instanceof EvalTypeError)) throw err;
  const hint =
    err instanceof MissingValueError ? " (wrap it in default(..., fallback) if it may be absent)" : "";
  const where = step === undefined ? "" : `, step '${step}'`;
  return new GatewayError(
    "pipeline_template_error",
    `pipeline '${env.pipeline.name}'${where}: ${what}: ${err.message}${hint}`,
    { param: step === undefined ? "output" : `steps.${step}` },
  );
}

function renderOrThrow(env: RunEnv, step: string, what: string, t: Template, scope: Scope): Value {
  try {
    return render(t, scope);
  } catch (err) {
    throw templateError(env, step, what, err);
  }
}

function headersOf(env: RunEnv, step: CompiledStep, scope: Scope): Record<string, string> | undefined {
  const fwd = env.opts.forwardHeaders;
  if (!step.headers) return fwd;
  const rendered = renderOrThrow(env, step.name, "headers", step.headers, scope) as Record<string, Value>;
  const out: Record<string, string> = { ...fwd };
  for (const [k, v] of Object.entries(rendered)) out[k.toLowerCase()] = toText(v);
  return out;
}

/** The request body of one call, checked as the sync API checks a client's body. */
function bodyOf(env: RunEnv, step: CompiledStep, scope: Scope, stream: boolean): Record<string, unknown> {
  const rendered = renderOrThrow(env, step.name, "request", step.body, scope) as Record<string, unknown>;
  let body: Record<string, unknown> = { ...rendered, model: step.model };
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  try {
    if (step.op === "infer") body = { ...parseInferRequest(rendered), model: step.model };
    else validateBody(step.op, body);
  } catch (err) {
    const e = err instanceof TensorError ? err.toGatewayError() : err;
    if (!(e instanceof GatewayError)) throw e;
    throw new GatewayError(e.code, `the request built for step '${step.name}' is invalid: ${e.message}`, {
      param: e.param ? `steps.${step.name}.request.${e.param}` : `steps.${step.name}`,
    });
  }
  return body;
}

async function collect(env: RunEnv, step: CompiledStep, res: RouteResult, ctx: RequestContext) {
  if (res.kind === "json") {
    const text = typeof res.payload === "string" ? res.payload : res.payload.toString("utf8");
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new GatewayError("upstream_bad_response", "the upstream's answer is not JSON");
    }
    const out = outputOf(step.op, parsed);
    return { ...out, usage: out.usage ?? res.usage };
  }
  const collector = new StreamCollector(step.op);
  ctx.streamStarted = true;
  for await (const data of res.events) {
    const text = collector.push(data);
    if (text) env.opts.onEvent?.({ type: "token", step: step.name, text });
  }
  return collector.result(res.usage());
}

/** Runs one call of `step` on `ctx` with `scope` (which holds `item`/`index` inside a `map`). */
export async function callModel(
  env: RunEnv,
  step: CompiledStep,
  scope: Scope,
  ctx: RequestContext,
  stream: boolean,
): Promise<{ output: Value; usage: Usage | undefined }> {
  const body = bodyOf(env, step, scope, stream);
  const forwardHeaders = headersOf(env, step, scope);
  const { gate, router } = env.deps;
  const { principal, priority } = env.opts;
  const admitted = gate.admit(principal, step.op, step.model, body);
  const ticket = admitted instanceof Promise ? await admitted : admitted;
  try {
    const res = await router.execute(
      {
        op: step.op,
        model: step.model,
        body,
        stream,
        clientWantsStreamUsage: stream,
        priority: principal.priority ?? priority,
        forwardHeaders,
        retry: step.retry,
      },
      ctx,
    );
    const out = await collect(env, step, res, ctx);
    ctx.usage = out.usage;
    return out;
  } finally {
    // Real usage when known; nothing when the call failed before a stream started; unknown otherwise.
    ticket.finish(ctx.usage ?? (ctx.streamStarted ? null : NO_USAGE));
  }
}
