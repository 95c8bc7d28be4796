import { z } from "zod";
import { GatewayError } from "../core/errors.js";
import type { Operation } from "../core/types.js";

// Request schemas check what the gateway relies on and what a client most often gets wrong; every
// other field passes through untouched (loose objects), because upstreams accept extra parameters.

const optNum = (min: number, max: number) => z.number().min(min).max(max).nullable().optional();
const optPosInt = z.number().int().positive().nullable().optional();
const stop = z
  .union([z.string(), z.array(z.string()).max(16)])
  .nullable()
  .optional();

const sampling = {
  model: z.string().min(1, "model must not be empty").max(256),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: optPosInt,
  temperature: optNum(0, 2),
  top_p: optNum(0, 1),
  n: z.number().int().min(1).max(128).nullable().optional(),
  presence_penalty: optNum(-2, 2),
  frequency_penalty: optNum(-2, 2),
  seed: z.number().int().nullable().optional(),
  stop,
  user: z.string().max(256).optional(),
};

const contentPart = z.looseObject({ type: z.string().min(1) });
const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  name: z.string().optional(),
});

export const chatRequestSchema = z.looseObject({
  ...sampling,
  messages: z.array(message).min(1, "messages must contain at least one message"),
  max_completion_tokens: optPosInt,
});

const tokenIds = z.array(z.number().int().nonnegative());
export const completionRequestSchema = z.looseObject({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds.min(1), z.array(tokenIds.min(1)).min(1)]),
  echo: z.boolean().nullable().optional(),
  best_of: z.number().int().min(1).max(20).nullable().optional(),
});

export const embeddingRequestSchema = z.looseObject({
  model: sampling.model,
  input: z.union([
    z.string(),
    z.array(z.string()).min(1).max(4096),
    tokenIds.min(1),
    z.array(tokenIds.min(1)).min(1).max(4096),
  ]),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: z.number().int().positive().optional(),
  user: z.string().max(256).optional(),
});

const SCHEMAS = {
  chat: chatRequestSchema,
  completion: completionRequestSchema,
  embedding: embeddingRequestSchema,
} as const;

function paramOf(path: readonly PropertyKey[]): string | null {
  if (path.length === 0) return null;
  let out = "";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out;
}

function issueMessage(issue: z.core.$ZodIssue, param: string | null): string {
  const where = param ? `'${param}'` : "the request body";
  if (issue.code === "invalid_type" && issue.input === undefined)
    return `Missing required parameter: ${where}.`;
  if (issue.code === "invalid_union")
    return `Invalid value for ${where}: it does not have any of the accepted forms.`;
  return `Invalid value for ${where}: ${issue.message}.`;
}

/**
 * Checks a parsed body for an operation. Returns it unchanged (so unknown fields pass through) or
 * throws `invalid_request` naming the offending `param`.
 */
export function validateBody(op: Operation, body: unknown): Record<string, unknown> {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new GatewayError("invalid_request", "The request body must be a JSON object.");
  }
  // Tensor inference bodies have their own schema (src/backends/kserve-tensors.ts).
  if (op === "infer") throw new GatewayError("invalid_request", "This route does not take tensor inputs.");
  const result = SCHEMAS[op].safeParse(body, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    const param = paramOf(issue.path);
    throw new GatewayError("invalid_request", issueMessage(issue, param), { param });
  }
  return body as Record<string, unknown>;
}
