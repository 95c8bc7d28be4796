/**
 * Load-time checks of the paths templates and conditions read: `input.NAME` is declared,
 * `steps.NAME` is another step of the pipeline (and becomes a dependency), its field exists, and
 * `item`/`index` appear only where a `map` gives them.
 */
import type { ModelType, Operation } from "../core/types.js";
import { type Expr, formatPath } from "./expr.js";
import type { PipelineConfig } from "./spec.js";

export type Issue = (path: PropertyKey[], message: string) => void;

/** What the checks need to know of the rest of the config. */
export interface CompileEnv {
  readonly models: Readonly<Record<string, { readonly type: ModelType }>>;
  readonly forwardHeaders: readonly string[];
}

/** Fields of `steps.NAME`, and of its `output` by call (when no `map` or `default` changes the shape). */
export const STEP_FIELDS = ["output", "status", "error", "usage"] as const;
export const OUTPUT_FIELDS: Record<Operation, readonly string[]> = {
  chat: ["text", "finish_reason", "json", "message", "usage"],
  completion: ["text", "finish_reason", "json", "usage"],
  embedding: ["embedding", "embeddings", "usage"],
  infer: ["outputs", "model_name", "model_version", "id", "parameters"],
};

/** The call a model type serves by default, and the calls it serves at all. */
export const DEFAULT_OP: Record<ModelType, Operation> = {
  chat: "chat",
  embedding: "embedding",
  kserve: "infer",
};
export const SERVES: Record<Operation, ModelType> = {
  chat: "chat",
  completion: "chat",
  embedding: "embedding",
  infer: "kserve",
};

export interface RefContext {
  readonly pipeline: PipelineConfig;
  readonly self: string | undefined;
  readonly itemOk: boolean;
  readonly deps: Set<string>;
  /** The call of a step, from its `kind` or its model's type (undefined when the model is unknown). */
  readonly opOf: (step: string) => Operation | undefined;
}

/** What is wrong with a `steps.…` reference, if anything; records the step it reads as a dependency. */
function stepRefProblem(p: Extract<Expr, { t: "path" }>, ctx: RefContext): string | undefined {
  const [first, second, third] = p.segs;
  const ref = formatPath(p.root, p.segs);
  if (typeof first !== "string") return `'${ref}': name a step, as steps.NAME.output`;
  const target = ctx.pipeline.steps[first];
  if (!target) return `unknown step '${first}'`;
  if (first === ctx.self) return `step '${first}' cannot read its own output`;
  ctx.deps.add(first);
  if (second === undefined) return undefined;
  if (!(STEP_FIELDS as readonly (string | number)[]).includes(second))
    return `'${ref}': a step has ${STEP_FIELDS.join(", ")}`;
  // The output's fields are known only for a plain call (a map gives a list, a default any shape).
  if (second !== "output" || typeof third !== "string" || target.map || target.default !== undefined)
    return undefined;
  const op = ctx.opOf(first);
  const fields = op ? OUTPUT_FIELDS[op] : undefined;
  if (fields && !fields.includes(third))
    return `'${ref}': the output of step '${first}' has ${fields.join(", ")}`;
  return undefined;
}

/** What is wrong with one reference, if anything. */
function refProblem(p: Extract<Expr, { t: "path" }>, ctx: RefContext): string | undefined {
  const [first] = p.segs;
  switch (p.root) {
    case "input":
      return typeof first === "string" && !Object.hasOwn(ctx.pipeline.inputs, first)
        ? `unknown input '${first}': declare it under inputs`
        : undefined;
    case "steps":
      return stepRefProblem(p, ctx);
    case "item":
    case "index":
      return ctx.itemOk ? undefined : `'${p.root}' exists only in the request of a step with 'map'`;
    default:
      return `unknown reference '${p.root}': use input, steps, item or index`;
  }
}

/** Checks one reference, reporting a problem with the expression it sits in. */
export function checkRef(
  p: Extract<Expr, { t: "path" }>,
  ctx: RefContext,
  at: PropertyKey[],
  src: string,
  issue: Issue,
): void {
  const problem = refProblem(p, ctx);
  if (problem) issue(at, `${problem} (in '${src}')`);
}

export function opResolver(
  pipeline: PipelineConfig,
  env: CompileEnv,
): (step: string) => Operation | undefined {
  return (step) => {
    const cfg = pipeline.steps[step];
    const model = cfg && env.models[cfg.model];
    if (!cfg || !model) return undefined;
    return cfg.kind ?? DEFAULT_OP[model.type];
  };
}
