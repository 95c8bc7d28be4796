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

// The common valid body is recognised by plain checks that accept exactly what the schemas above
// accept or less; anything they do not recognise goes to zod, which accepts it or names the problem.

type Body = Record<string, unknown>;

const isObject = (v: unknown): v is Body => typeof v === "object" && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const absent = (v: unknown): boolean => v === undefined || v === null;
const optNumIn = (v: unknown, min: number, max: number): boolean =>
  absent(v) || (isNum(v) && v >= min && v <= max);
const optIntIn = (v: unknown, min: number, max: number): boolean =>
  absent(v) || (isInt(v) && v >= min && v <= max);
const optStr256 = (v: unknown): boolean => v === undefined || (typeof v === "string" && v.length <= 256);
const modelOk = (v: unknown): boolean => typeof v === "string" && v.length >= 1 && v.length <= 256;

function stopOk(v: unknown): boolean {
  if (absent(v) || typeof v === "string") return true;
  if (!Array.isArray(v) || v.length > 16) return false;
  for (const s of v) if (typeof s !== "string") return false;
  return true;
}

function samplingOk(b: Body): boolean {
  const so = b.stream_options;
  return (
    modelOk(b.model) &&
    (absent(b.stream) || typeof b.stream === "boolean") &&
    (absent(so) ||
      (isObject(so) && (so.include_usage === undefined || typeof so.include_usage === "boolean"))) &&
    optIntIn(b.max_tokens, 1, Number.MAX_SAFE_INTEGER) &&
    optNumIn(b.temperature, 0, 2) &&
    optNumIn(b.top_p, 0, 1) &&
    optIntIn(b.n, 1, 128) &&
    optNumIn(b.presence_penalty, -2, 2) &&
    optNumIn(b.frequency_penalty, -2, 2) &&
    optIntIn(b.seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) &&
    stopOk(b.stop) &&
    optStr256(b.user)
  );
}

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);

function contentOk(c: unknown): boolean {
  if (absent(c) || typeof c === "string") return true;
  if (!Array.isArray(c)) return false;
  for (const part of c)
    if (!isObject(part) || typeof part.type !== "string" || part.type.length === 0) return false;
  return true;
}

function messagesOk(v: unknown): boolean {
  if (!Array.isArray(v) || v.length === 0) return false;
  for (const m of v) {
    if (!isObject(m) || !ROLES.has(m.role as string) || !contentOk(m.content)) return false;
    if (m.name !== undefined && typeof m.name !== "string") return false;
  }
  return true;
}

function tokenIdsOk(v: unknown): boolean {
  if (!Array.isArray(v) || v.length === 0) return false;
  for (const t of v) if (!isInt(t) || t < 0) return false;
  return true;
}

/** string | string[] (min 1) | token ids (min 1) | token id lists (min 1 each), with at most `max` items. */
function textsOk(v: unknown, max: number): boolean {
  if (typeof v === "string") return true;
  if (!Array.isArray(v) || v.length === 0 || v.length > max) return false;
  if (typeof v[0] === "string") {
    for (const s of v) if (typeof s !== "string") return false;
    return true;
  }
  if (Array.isArray(v[0])) {
    for (const ids of v) if (!tokenIdsOk(ids)) return false;
    return true;
  }
  return tokenIdsOk(v);
}

const QUICK: Record<Exclude<Operation, "infer">, (b: Body) => boolean> = {
  chat: (b) =>
    samplingOk(b) && messagesOk(b.messages) && optIntIn(b.max_completion_tokens, 1, Number.MAX_SAFE_INTEGER),
  completion: (b) =>
    samplingOk(b) &&
    textsOk(b.prompt, Number.MAX_SAFE_INTEGER) &&
    (absent(b.echo) || typeof b.echo === "boolean") &&
    optIntIn(b.best_of, 1, 20),
  embedding: (b) =>
    modelOk(b.model) &&
    textsOk(b.input, 4096) &&
    (b.encoding_format === undefined || b.encoding_format === "float" || b.encoding_format === "base64") &&
    (b.dimensions === undefined || (isInt(b.dimensions) && b.dimensions > 0)) &&
    optStr256(b.user),
};

/**
 * True when plain checks recognise `body` as valid for `op`. It never accepts what the zod schema
 * refuses; a false answer only means the schema has to decide.
 */
export function quickValid(op: Exclude<Operation, "infer">, body: Body): boolean {
  return QUICK[op](body);
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
  if (quickValid(op, body as Body)) return body as Body;
  const result = SCHEMAS[op].safeParse(body, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    const param = paramOf(issue.path);
    throw new GatewayError("invalid_request", issueMessage(issue, param), { param });
  }
  return body as Record<string, unknown>;
}
