/**
 * What every front door (HTTP, jobs, gRPC) calls to list and run pipelines: lookup, authorisation,
 * input validation and the executor, behind one small API.
 */
import { z } from "zod";
import { checkModelAllowed } from "../auth/authenticate.js";
import type { Principal } from "../auth/principal.js";
import type { RequestContext } from "../core/context.js";
import { GatewayError } from "../core/errors.js";
import type { ModelType } from "../core/types.js";
import { type CompiledPipeline, compilePipelines } from "./compile.js";
import type { Value } from "./evaluate.js";
import { runPipeline } from "./executor.js";
import { validateInput } from "./inputs.js";
import type { PipelinesConfig } from "./spec.js";
import type { PipelineDeps, PipelineResult, RunOptions } from "./types.js";

/** A pipeline as `GET /v1/pipelines` shows it. */
export interface PipelineInfo {
  readonly id: string;
  readonly object: "pipeline";
  readonly description: string | null;
  readonly inputs: Record<string, Record<string, unknown>>;
  readonly steps: ReadonlyArray<{ name: string; model: string; kind: string; needs: readonly string[] }>;
  readonly stream_steps: readonly string[];
  readonly timeout_ms: number;
}

/** The `request` of a job of type `pipeline`. */
const jobRequestSchema = z
  .object({
    pipeline: z.string().min(1).max(64),
    input: z.record(z.string(), z.json()).default({}),
    /** Keep every step's output, timing and tokens in the job's result. */
    debug: z.boolean().default(false),
  })
  .strict();

export type PipelineJobRequest = z.infer<typeof jobRequestSchema>;

export class PipelineRunner {
  constructor(
    private readonly pipelines: ReadonlyMap<string, CompiledPipeline>,
    private readonly deps: PipelineDeps,
  ) {}

  /** Compiles the config's pipelines (already checked when the config was validated). */
  static fromConfig(
    config: {
      readonly pipelines: PipelinesConfig;
      readonly models: Readonly<Record<string, { readonly type: ModelType }>>;
      readonly server: { readonly forwardHeaders: readonly string[] };
    },
    deps: PipelineDeps,
  ): PipelineRunner {
    const env = { models: config.models, forwardHeaders: config.server.forwardHeaders };
    const { pipelines, issues } = compilePipelines(config.pipelines, env);
    if (issues.length > 0) throw new Error(`invalid pipelines: ${issues.map((i) => i.message).join("; ")}`);
    return new PipelineRunner(pipelines, deps);
  }

  /** The pipelines `principal` may run (every step's model allowed), in config order. */
  list(principal: Principal): PipelineInfo[] {
    return [...this.pipelines.values()].filter((p) => this.allowed(principal, p)).map(infoOf);
  }

  /** Throws `pipeline_not_found`. */
  get(name: string): CompiledPipeline {
    const p = this.pipelines.get(name);
    if (!p)
      throw new GatewayError("pipeline_not_found", `The pipeline '${name}' does not exist.`, {
        param: "pipeline",
      });
    return p;
  }

  info(p: CompiledPipeline): PipelineInfo {
    return infoOf(p);
  }

  private allowed(principal: Principal, p: CompiledPipeline): boolean {
    const allowed = principal.allowedModels;
    return allowed === undefined || p.steps.every((s) => allowed.includes(s.model));
  }

  /** A caller may run a pipeline when it may call every step's model; throws `model_not_allowed`. */
  authorize(principal: Principal, p: CompiledPipeline): void {
    for (const s of p.steps) checkModelAllowed(principal, s.model);
  }

  /** Checks a run's input against the pipeline's declared inputs; throws 400 naming `input.FIELD`. */
  validateInput(p: CompiledPipeline, input: unknown): Record<string, Value> {
    return validateInput(p.inputSchema, input);
  }

  /** Runs a pipeline whose caller is authorised and whose input is validated. */
  run(p: CompiledPipeline, opts: RunOptions): Promise<PipelineResult> {
    return runPipeline(p, this.deps, opts);
  }

  /** Checks a job's `request` at submission: the pipeline exists, the caller may run it, the input fits. */
  checkJob(principal: Principal, request: unknown): PipelineJobRequest {
    const r = jobRequestSchema.safeParse(request);
    if (!r.success) {
      const issue = r.error.issues[0] as z.core.$ZodIssue;
      const param = ["request", ...issue.path.map(String)].join(".");
      throw new GatewayError("invalid_request", `Invalid job: '${param}' ${issue.message}.`, { param });
    }
    const p = this.get(r.data.pipeline);
    this.authorize(principal, p);
    try {
      this.validateInput(p, r.data.input);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      throw new GatewayError(err.code, err.message, {
        param: err.param ? `request.${err.param}` : "request",
      });
    }
    return r.data;
  }

  /** Runs a job of type `pipeline` (the worker's call): the same executor as a sync run. */
  async runJob(principal: Principal, request: unknown, ctx: RequestContext): Promise<PipelineResult> {
    const job = this.checkJob(principal, request);
    const p = this.get(job.pipeline);
    const input = this.validateInput(p, job.input);
    return this.run(p, { principal, ctx, input, debug: job.debug });
  }
}

function infoOf(p: CompiledPipeline): PipelineInfo {
  const inputs: Record<string, Record<string, unknown>> = {};
  for (const [k, spec] of Object.entries(p.inputs)) {
    inputs[k] = {
      type: spec.type,
      required: spec.default === undefined && spec.required !== false,
      ...(spec.type === "array" ? { items: spec.items } : {}),
      ...(spec.default !== undefined ? { default: spec.default } : {}),
      ...(spec.maxLength !== undefined ? { max_length: spec.maxLength } : {}),
      ...(spec.minimum !== undefined ? { minimum: spec.minimum } : {}),
      ...(spec.maximum !== undefined ? { maximum: spec.maximum } : {}),
      ...(spec.description !== undefined ? { description: spec.description } : {}),
    };
  }
  return {
    id: p.name,
    object: "pipeline",
    description: p.description ?? null,
    inputs,
    steps: p.steps.map((s) => ({ name: s.name, model: s.model, kind: s.op, needs: s.deps })),
    stream_steps: p.streamSteps,
    timeout_ms: p.timeoutMs,
  };
}
