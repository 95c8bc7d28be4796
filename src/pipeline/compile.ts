/**
 * Load-time checks and compilation of pipelines: models exist and serve the step's call, every
 * template and condition parses, every reference names a declared input or an earlier step (and,
 * where the output's shape is known, one of its fields), `needs` names steps, and the step graph has
 * no cycle. The config schema reports each problem with its path; the executor runs the result.
 */
import type { ModelType, Operation } from "../core/types.js";
import { type Condition, parseCondition } from "./condition.js";
import type { Value } from "./evaluate.js";
import { type Expr, ExprSyntaxError, parseExpr, pathsOf } from "./expr.js";
import { orderSteps } from "./graph.js";
import {
  type CompileEnv,
  checkRef,
  DEFAULT_OP,
  type Issue,
  opResolver,
  type RefContext,
  SERVES,
} from "./refs.js";

export type { CompileEnv } from "./refs.js";

import { buildInputSchema, checkInputBounds, checkInputDefault, type InputSchema } from "./inputs.js";
import type {
  PipelineConfig,
  PipelineInputConfig,
  PipelineStepConfig,
  PipelinesConfig,
  StepRetry,
} from "./spec.js";
import { asText, compileTemplate, expressionsOf, type Template, TemplateSyntaxError } from "./template.js";

export interface CompiledStep {
  readonly name: string;
  readonly model: string;
  readonly op: Operation;
  /** Steps that finish before this one starts (from `needs` and from what it reads). */
  readonly deps: readonly string[];
  readonly when: Condition | undefined;
  readonly map: { readonly over: Expr; readonly concurrency: number; readonly maxItems: number } | undefined;
  /** The request body without `model` and `stream`. */
  readonly body: Template;
  readonly headers: Template | undefined;
  readonly timeoutMs: number | undefined;
  readonly retry: StepRetry | undefined;
  readonly onError: "fail" | "continue";
  readonly default: Value;
}

export interface CompiledPipeline {
  readonly name: string;
  readonly description: string | undefined;
  readonly inputs: Readonly<Record<string, PipelineInputConfig>>;
  readonly inputSchema: InputSchema;
  /** In an order where every step comes after the steps it needs. */
  readonly steps: readonly CompiledStep[];
  readonly output: Template;
  /** The steps whose tokens a streaming run sends. */
  readonly streamSteps: readonly string[];
  readonly timeoutMs: number;
}

export interface CompileIssue {
  readonly path: PropertyKey[];
  readonly message: string;
}

interface StepDraft {
  readonly name: string;
  readonly cfg: PipelineStepConfig;
  readonly op: Operation | undefined;
  readonly deps: Set<string>;
  readonly exprs: Array<{ expr: Expr; src: string; field: string; itemOk: boolean }>;
}

function opFor(
  cfg: PipelineStepConfig,
  env: CompileEnv,
  at: PropertyKey[],
  issue: Issue,
): Operation | undefined {
  const model = env.models[cfg.model];
  if (!model) {
    issue([...at, "model"], `unknown model '${cfg.model}'`);
    return undefined;
  }
  const op = cfg.kind ?? DEFAULT_OP[model.type];
  if (SERVES[op] !== model.type) {
    const a = model.type === "embedding" ? "an" : "a";
    issue([...at, "kind"], `'${cfg.model}' is ${a} ${model.type} model and does not serve ${op}`);
    return undefined;
  }
  return op;
}

/** The request body a step sends, before templating: `prompt`/`system`/`input` folded into `request`. */
function bodyOf(
  cfg: PipelineStepConfig,
  op: Operation,
  at: PropertyKey[],
  issue: Issue,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...cfg.request };
  for (const k of ["model", "stream", "stream_options"])
    if (k in body) issue([...at, "request", k], `'${k}' is set by the pipeline, not in 'request'`);
  const has = (k: string) => body[k] !== undefined;
  const only = (field: "prompt" | "system" | "input", ok: boolean) => {
    if (cfg[field] !== undefined && !ok) issue([...at, field], `'${field}' does not apply to a ${op} step`);
  };
  if (op === "chat") {
    only("input", false);
    if (cfg.prompt !== undefined && has("messages"))
      issue([...at, "prompt"], "give 'prompt' or request.messages, not both");
    if (cfg.system !== undefined && cfg.prompt === undefined)
      issue([...at, "system"], "'system' needs 'prompt'");
    if (cfg.prompt !== undefined) {
      const system = cfg.system === undefined ? [] : [{ role: "system", content: cfg.system }];
      body.messages = [...system, { role: "user", content: cfg.prompt }];
    } else if (!has("messages")) issue(at, "a chat step needs 'prompt' or request.messages");
  } else if (op === "completion") {
    only("input", false);
    only("system", false);
    if (cfg.prompt !== undefined) body.prompt = cfg.prompt;
    else if (!has("prompt")) issue(at, "a completion step needs 'prompt'");
  } else if (op === "embedding") {
    only("prompt", false);
    only("system", false);
    if (cfg.input !== undefined) body.input = cfg.input;
    else if (!has("input")) issue(at, "an embedding step needs 'input'");
  } else {
    only("prompt", false);
    only("system", false);
    only("input", false);
    if (!has("inputs")) issue(at, "an infer step needs request.inputs (KServe v2 tensors)");
  }
  return body;
}

/** `prompt` and `system` are text even when they are one expression (`"{{ input.n }}"` with a number). */
function promptsAsText(body: Template, op: Operation, fromPrompt: boolean): Template {
  if (body.t !== "object" || !fromPrompt) return body;
  const content = (m: Template): Template =>
    m.t === "object"
      ? { t: "object", entries: m.entries.map(([k, v]) => [k, k === "content" ? asText(v) : v]) }
      : m;
  const entries = body.entries.map(([k, v]): readonly [string, Template] => {
    if (op === "completion" && k === "prompt") return [k, asText(v)];
    if (op === "chat" && k === "messages" && v.t === "array")
      return [k, { t: "array", items: v.items.map(content) }];
    return [k, v];
  });
  return { t: "object", entries };
}

function compileOrIssue(value: unknown, at: PropertyKey[], issue: Issue): Template | undefined {
  try {
    return compileTemplate(value);
  } catch (err) {
    if (!(err instanceof TemplateSyntaxError)) throw err;
    issue([...at, ...err.path], `bad template: ${err.message}`);
    return undefined;
  }
}

function parseOrIssue<T>(parse: () => T, at: PropertyKey[], issue: Issue, what: string): T | undefined {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof ExprSyntaxError)) throw err;
    issue(at, `bad ${what}: ${err.message} (offset ${err.offset})`);
    return undefined;
  }
}

type CheckExprs = (exprs: Array<{ expr: Expr; src: string }>, where: PropertyKey[]) => void;

/** The request body's template; each source field is checked on its own, so a problem is reported where it was written. */
function compileBody(
  cfg: PipelineStepConfig,
  op: Operation,
  at: PropertyKey[],
  issue: Issue,
  check: CheckExprs,
): Template | undefined {
  const sources: Array<[PropertyKey[], unknown]> = [];
  for (const f of ["prompt", "system", "input"] as const)
    if (cfg[f] !== undefined) sources.push([[...at, f], cfg[f]]);
  for (const [k, v] of Object.entries(cfg.request)) sources.push([[...at, "request", k], v]);
  let parsed = true;
  for (const [path, value] of sources) {
    const t = compileOrIssue(value, path, issue);
    if (t) check(expressionsOf(t), path);
    else parsed = false;
  }
  const body = bodyOf(cfg, op, at, issue);
  return parsed ? promptsAsText(compileTemplate(body), op, cfg.prompt !== undefined) : undefined;
}

function draftStep(
  pipeline: PipelineConfig,
  stepName: string,
  cfg: PipelineStepConfig,
  env: CompileEnv,
  at: PropertyKey[],
  issue: Issue,
): { draft: StepDraft; body?: Template; headers?: Template; when?: Condition; over?: Expr } {
  const op = opFor(cfg, env, at, issue);
  const deps = new Set<string>();
  const draft: StepDraft = { name: stepName, cfg, op, deps, exprs: [] };
  for (const [i, n] of cfg.needs.entries()) {
    if (!pipeline.steps[n]) issue([...at, "needs", i], `unknown step '${n}'`);
    else if (n === stepName) issue([...at, "needs", i], "a step cannot need itself");
    else deps.add(n);
  }
  for (const h of Object.keys(cfg.headers)) {
    if (!env.forwardHeaders.includes(h.toLowerCase()))
      issue([...at, "headers", h], `'${h}' is not in server.forwardHeaders`);
  }
  const out: ReturnType<typeof draftStep> = { draft };
  const itemOk = cfg.map !== undefined;
  const ctx: RefContext = { pipeline, self: stepName, deps, itemOk, opOf: opResolver(pipeline, env) };
  const checkAll = (exprs: Array<{ expr: Expr; src: string }>, where: PropertyKey[], item: boolean) => {
    for (const e of exprs)
      for (const p of pathsOf(e.expr)) checkRef(p, { ...ctx, itemOk: item }, where, e.src, issue);
  };
  if (op) out.body = compileBody(cfg, op, at, issue, (exprs, where) => checkAll(exprs, where, itemOk));
  if (Object.keys(cfg.headers).length > 0) {
    out.headers = compileOrIssue(cfg.headers, [...at, "headers"], issue);
    if (out.headers) checkAll(expressionsOf(out.headers), [...at, "headers"], itemOk);
  }
  if (cfg.when !== undefined) {
    const when = cfg.when;
    out.when = parseOrIssue(() => parseCondition(when), [...at, "when"], issue, "condition");
    if (out.when) checkAll([out.when], [...at, "when"], false);
  }
  if (cfg.map) {
    const src = cfg.map.over;
    out.over = parseOrIssue(
      () => parseExpr(src.replace(/^\s*\{\{([\s\S]*)\}\}\s*$/, "$1")),
      [...at, "map", "over"],
      issue,
      "expression",
    );
    if (out.over) checkAll([{ expr: out.over, src }], [...at, "map", "over"], false);
  }
  return out;
}

/** `stream` as configured (checked), or the sole last step when it is a chat or completion without `map`. */
function streamStepsOf(
  pipeline: PipelineConfig,
  steps: readonly CompiledStep[],
  sink: CompiledStep | undefined,
  at: PropertyKey[],
  issue: Issue,
): string[] {
  const given = pipeline.stream;
  if (given === undefined)
    return sink && (sink.op === "chat" || sink.op === "completion") && !sink.map ? [sink.name] : [];
  const names = typeof given === "string" ? [given] : given;
  names.forEach((n, i) => {
    const where = typeof given === "string" ? at : [...at, i];
    const s = steps.find((x) => x.name === n);
    if (!pipeline.steps[n]) issue(where, `unknown step '${n}'`);
    else if (s && (s.op === "embedding" || s.op === "infer" || s.map))
      issue(where, `step '${n}' does not stream tokens (only chat and completion steps without map do)`);
  });
  return names;
}

function soleSink(steps: readonly CompiledStep[]): CompiledStep | undefined {
  const needed = new Set(steps.flatMap((s) => s.deps));
  const sinks = steps.filter((s) => !needed.has(s.name));
  return sinks.length === 1 ? sinks[0] : undefined;
}

function compileSteps(
  pipeline: PipelineConfig,
  env: CompileEnv,
  at: PropertyKey[],
  report: Issue,
): CompiledStep[] {
  const steps: CompiledStep[] = [];
  for (const [stepName, cfg] of Object.entries(pipeline.steps)) {
    const d = draftStep(pipeline, stepName, cfg, env, [...at, "steps", stepName], report);
    if (!d.draft.op || !d.body || (cfg.map && !d.over)) continue;
    const map = cfg.map && d.over ? { ...cfg.map, over: d.over } : undefined;
    steps.push({
      name: stepName,
      model: cfg.model,
      op: d.draft.op,
      deps: [...d.draft.deps].sort(),
      when: d.when,
      map,
      body: d.body,
      headers: d.headers,
      timeoutMs: cfg.timeoutMs,
      retry: cfg.retry,
      onError: cfg.onError,
      default: (cfg.default ?? null) as Value,
    });
  }
  return steps;
}

/** The `output` template (checked), or by default the sole last step's output, or every last step's. */
function compileOutput(
  pipeline: PipelineConfig,
  env: CompileEnv,
  steps: readonly CompiledStep[],
  sink: CompiledStep | undefined,
  at: PropertyKey[],
  report: Issue,
): Template | undefined {
  if (pipeline.output !== undefined) {
    const output = compileOrIssue(pipeline.output, at, report);
    const ctx: RefContext = {
      pipeline,
      self: undefined,
      itemOk: false,
      deps: new Set<string>(),
      opOf: opResolver(pipeline, env),
    };
    for (const e of output ? expressionsOf(output) : [])
      for (const p of pathsOf(e.expr)) checkRef(p, ctx, at, e.src, report);
    return output;
  }
  if (sink) return compileTemplate(`{{ steps.${sink.name}.output }}`);
  const needed = new Set(steps.flatMap((x) => x.deps));
  const sinks = steps.filter((s) => !needed.has(s.name)).map((s) => s.name);
  return compileTemplate(Object.fromEntries(sinks.map((s) => [s, `{{ steps.${s}.output }}`])));
}

/** Compiles one pipeline, reporting every problem through `issue`; undefined when there was one. */
export function compilePipeline(
  name: string,
  pipeline: PipelineConfig,
  env: CompileEnv,
  issue: Issue,
): CompiledPipeline | undefined {
  const at = ["pipelines", name];
  let ok = true;
  const report: Issue = (path, message) => {
    ok = false;
    issue(path, message);
  };
  for (const [k, spec] of Object.entries(pipeline.inputs)) {
    const bounds = checkInputBounds(spec);
    if (bounds) report([...at, "inputs", k], bounds);
    const bad = bounds ? undefined : checkInputDefault(spec);
    if (bad) report([...at, "inputs", k, "default"], bad);
  }
  const steps = compileSteps(pipeline, env, at, report);
  const ordered = orderSteps(steps, (cycle) =>
    report([...at, "steps"], `cycle between steps: ${cycle.join(" → ")}`),
  );
  const sink = soleSink(steps);
  const output = compileOutput(pipeline, env, steps, sink, [...at, "output"], report);
  const streamSteps = streamStepsOf(pipeline, steps, sink, [...at, "stream"], report);
  if (!ok || !ordered || !output) return undefined;
  return {
    name,
    description: pipeline.description,
    inputs: pipeline.inputs,
    inputSchema: buildInputSchema(pipeline.inputs),
    steps: ordered,
    output,
    streamSteps,
    timeoutMs: pipeline.timeoutMs,
  };
}

/** Compiles every pipeline; `issues` is empty exactly when all of them compiled. */
export function compilePipelines(
  pipelines: PipelinesConfig,
  env: CompileEnv,
): { pipelines: Map<string, CompiledPipeline>; issues: CompileIssue[] } {
  const issues: CompileIssue[] = [];
  const out = new Map<string, CompiledPipeline>();
  for (const [name, p] of Object.entries(pipelines)) {
    const compiled = compilePipeline(name, p, env, (path, message) => issues.push({ path, message }));
    if (compiled) out.set(name, compiled);
  }
  return { pipelines: out, issues };
}

/** The config schema's check: every pipeline compiles against the config's models and headers. */
export function checkPipelines(
  cfg: {
    readonly pipelines: PipelinesConfig;
    readonly models: Readonly<Record<string, { readonly type: ModelType }>>;
    readonly server: { readonly forwardHeaders: readonly string[] };
  },
  issue: Issue,
): void {
  const { issues } = compilePipelines(cfg.pipelines, {
    models: cfg.models,
    forwardHeaders: cfg.server.forwardHeaders,
  });
  for (const i of issues) issue(i.path, i.message);
}
