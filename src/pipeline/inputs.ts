/** Typed pipeline inputs: a zod schema built from the config's `inputs`, and the input check of a run. */
import { z } from "zod";
import { GatewayError } from "../core/errors.js";
import type { Value } from "./evaluate.js";
import type { PipelineInputConfig } from "./spec.js";

const ITEM: Record<PipelineInputConfig["items"], z.ZodType> = {
  string: z.string(),
  number: z.number(),
  integer: z.number().int(),
  boolean: z.boolean(),
  object: z.record(z.string(), z.json()),
  any: z.json(),
};

function base(spec: PipelineInputConfig): z.ZodType {
  switch (spec.type) {
    case "string":
      return spec.maxLength ? z.string().max(spec.maxLength) : z.string();
    case "number":
      return bounded(z.number(), spec);
    case "integer":
      return bounded(z.number().int(), spec);
    case "boolean":
      return z.boolean();
    case "array": {
      const arr = z.array(ITEM[spec.items]);
      return spec.maxLength ? arr.max(spec.maxLength) : arr;
    }
    case "object":
      return z.record(z.string(), z.json());
  }
}

function bounded(n: z.ZodNumber, spec: PipelineInputConfig): z.ZodNumber {
  let out = n;
  if (spec.minimum !== undefined) out = out.min(spec.minimum);
  if (spec.maximum !== undefined) out = out.max(spec.maximum);
  return out;
}

/** The schema of one input; undefined `default` and `required: false` make it optional. */
export function inputFieldSchema(spec: PipelineInputConfig): z.ZodType {
  const b = base(spec);
  if (spec.default !== undefined) return b.optional().default(spec.default as never);
  if (spec.required === false) return b.optional();
  return b;
}

/** Checks an input's bounds: only on numbers, and not crossed; returns a message when they are wrong. */
export function checkInputBounds(spec: PipelineInputConfig): string | undefined {
  const bounded = spec.minimum !== undefined || spec.maximum !== undefined;
  if (!bounded) return undefined;
  if (spec.type !== "number" && spec.type !== "integer")
    return `minimum and maximum apply to number and integer inputs, not ${spec.type}`;
  if (spec.minimum !== undefined && spec.maximum !== undefined && spec.minimum > spec.maximum)
    return `minimum ${spec.minimum} is above maximum ${spec.maximum}`;
  return undefined;
}

/** Checks an input default against its own type; returns a message when it does not fit. */
export function checkInputDefault(spec: PipelineInputConfig): string | undefined {
  if (spec.default === undefined) return undefined;
  const r = base(spec).safeParse(spec.default);
  return r.success ? undefined : `the default does not fit type ${spec.type}: ${r.error.issues[0]?.message}`;
}

export type InputSchema = z.ZodType<Record<string, Value>>;

export function buildInputSchema(inputs: Record<string, PipelineInputConfig>): InputSchema {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, spec] of Object.entries(inputs)) shape[k] = inputFieldSchema(spec);
  return z.object(shape).strict() as unknown as InputSchema;
}

function paramOf(path: readonly PropertyKey[]): string {
  let out = "input";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : `.${String(seg)}`;
  return out;
}

/** Validates a run's input; throws `invalid_request` whose `param` names the field (`input.question`). */
export function validateInput(schema: InputSchema, input: unknown): Record<string, Value> {
  const given = input === undefined ? {} : input;
  if (!given || typeof given !== "object" || Array.isArray(given)) {
    throw new GatewayError("invalid_request", "'input' must be a JSON object.", { param: "input" });
  }
  const r = schema.safeParse(given, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0] as z.core.$ZodIssue;
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    return fail(paramOf([...issue.path, key]), `Unknown input '${key}'.`);
  }
  const param = paramOf(issue.path);
  if (issue.code === "invalid_type" && issue.input === undefined)
    return fail(param, `Missing required input: '${param}'.`);
  return fail(param, `Invalid value for '${param}': ${issue.message}.`);
}

function fail(param: string, message: string): never {
  throw new GatewayError("invalid_request", message, { param });
}
