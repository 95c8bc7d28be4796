/**
 * The `pipelines` block of the config: zod schemas (every default here) and the types inferred from
 * them. Cross-references (models, steps, inputs, templates, cycles) are checked by `compile.ts`,
 * which the config schema runs at load so a bad pipeline never starts.
 */
import { z } from "zod";

const positiveInt = z.number().int().positive();

/** Pipeline, step and input names: they appear in URLs, metrics labels and template paths. */
export const PIPELINE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const name = z.string().regex(PIPELINE_NAME, "names start with a letter; then letters, digits, _ and -");

export const INPUT_TYPES = ["string", "number", "integer", "boolean", "array", "object"] as const;

export const pipelineInputSchema = z
  .object({
    type: z.enum(INPUT_TYPES).default("string"),
    description: z.string().max(1_000).optional(),
    /** Required unless a `default` is given. */
    required: z.boolean().optional(),
    default: z.json().optional(),
    /** Strings: most characters; arrays: most items. */
    maxLength: positiveInt.optional(),
    /** Numbers and integers: the smallest and the largest value a run may give. */
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    /** Arrays: the type of every item. */
    items: z.enum(["string", "number", "integer", "boolean", "object", "any"]).default("any"),
  })
  .strict();

/** Error classes a step's retry override may name (the router's own list). */
const RETRY_ON = [
  "unavailable",
  "timeout",
  "server_error",
  "rate_limited",
  "bad_response",
  "context_length",
] as const;

/** Overrides of the model's retry policy for one step; what is left out keeps the model's value. */
export const stepRetrySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(10).optional(),
    backoffBaseMs: z.number().int().nonnegative().optional(),
    backoffMaxMs: z.number().int().nonnegative().optional(),
    on: z.array(z.enum(RETRY_ON)).optional(),
  })
  .strict();

export const stepMapSchema = z
  .object({
    /** An expression that gives the list to fan out over (`input.docs`, `steps.split.output.json`). */
    over: z.string().min(1),
    /** Items in flight at once. */
    concurrency: positiveInt.max(64).default(4),
    /** A longer list fails the step (a bound on the calls one run may make). */
    maxItems: positiveInt.max(10_000).default(100),
  })
  .strict();

export const pipelineStepSchema = z
  .object({
    model: z.string().min(1),
    /**
     * The call: `chat` or `completion` on a chat model, `embedding` on an embedding model, `infer`
     * (KServe v2 tensors) on a kserve model; defaults from the model's type.
     */
    kind: z.enum(["chat", "completion", "embedding", "infer"]).optional(),
    /** Steps that must finish first (steps a template or `when` reads are added on their own). */
    needs: z.array(name).default([]),
    /** Run the step only when this condition holds; otherwise it is `skipped`. */
    when: z.string().min(1).optional(),
    /** Fan the step out over a list: one call per item (`{{ item }}`, `{{ index }}`), outputs in order. */
    map: stepMapSchema.optional(),
    /** Chat: the system message (with `prompt`). */
    system: z.string().optional(),
    /** Chat: the user message; completion: the prompt. */
    prompt: z.string().optional(),
    /** Embedding: the input (a string, or `{{ … }}` giving a list of strings). */
    input: z.json().optional(),
    /** More request fields, templated (`max_tokens`, `temperature`, or the whole `messages`). */
    request: z.record(z.string(), z.json()).default({}),
    /** Headers for the upstream call; only names in `server.forwardHeaders`. */
    headers: z.record(z.string(), z.string()).default({}),
    /** Deadline of the step's call (of each item's call in a `map`), within the run's deadline. */
    timeoutMs: positiveInt.optional(),
    retry: stepRetrySchema.optional(),
    /** `fail` ends the run with this step named; `continue` uses `default` as the step's output. */
    onError: z.enum(["fail", "continue"]).default("fail"),
    /** The output when the step fails with `onError: continue`, or is skipped by `when` (else null). */
    default: z.json().optional(),
  })
  .strict();

export const pipelineSchema = z
  .object({
    description: z.string().max(2_000).optional(),
    inputs: z.record(name, pipelineInputSchema).default({}),
    steps: z
      .record(name, pipelineStepSchema)
      .refine((s) => Object.keys(s).length > 0, { message: "a pipeline needs at least one step" })
      .refine((s) => Object.keys(s).length <= 64, { message: "at most 64 steps" }),
    /** The run's result, templated; defaults to the output of the last step (the one no other step needs). */
    output: z.json().optional(),
    /**
     * The step (or steps) whose tokens a streaming run sends; defaults to the last step (the one no
     * other step needs) when there is exactly one and it is a chat or completion step.
     */
    stream: z.union([name, z.array(name).max(64)]).optional(),
    /** Deadline of a whole run (every step runs within it); a request may ask for less. */
    timeoutMs: positiveInt.default(300_000),
  })
  .strict();

export const pipelinesSchema = z.record(name, pipelineSchema).default({});

export type PipelinesConfig = z.infer<typeof pipelinesSchema>;
export type PipelineConfig = z.infer<typeof pipelineSchema>;
export type PipelineStepConfig = z.infer<typeof pipelineStepSchema>;
export type PipelineInputConfig = z.infer<typeof pipelineInputSchema>;
export type StepRetry = z.infer<typeof stepRetrySchema>;
