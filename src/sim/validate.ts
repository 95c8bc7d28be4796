import type { Operation } from "../core/types.js";
import { InvalidRequest, type SimProblem } from "./problem.js";
import { countTokens, tokenize } from "./tokenizer.js";

/** A validated chat or completion request. */
export interface GenerateRequest {
  op: "chat" | "completion";
  model: string;
  /** The prompt as tokens (chat: the templated conversation). */
  promptTokens: string[];
  maxTokens: number | undefined;
  seed: number | undefined;
  includeUsage: boolean;
}

/** A validated embeddings request. */
export interface EmbedRequest {
  op: "embedding";
  model: string;
  /** One text key per input (token-id inputs are turned into text). */
  inputs: string[];
  promptTokens: number;
  encoding: "float" | "base64";
  dimensions: number | undefined;
}

export type SimRequest = GenerateRequest | EmbedRequest;

/** Tokens around every chat message: `<|im_start|>`, the role, a separator and `<|im_end|>`. */
export const CHAT_MESSAGE_OVERHEAD_TOKENS = 4;

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);

type Body = Record<string, unknown>;

function isObject(v: unknown): v is Body {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `null` counts as absent, as the OpenAI API treats it. */
function opt(body: Body, key: string): unknown {
  const v = body[key];
  return v === null ? undefined : v;
}

function positiveInt(body: Body, key: string): number | undefined {
  const v = opt(body, key);
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v))
    throw new InvalidRequest(`'${key}' must be an integer`, key, "invalid_type");
  if (v < 1) throw new InvalidRequest(`'${key}' must be at least 1, got ${v}`, key);
  return v;
}

function bool(body: Body, key: string): boolean {
  const v = opt(body, key);
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new InvalidRequest(`'${key}' must be a boolean`, key, "invalid_type");
  return v;
}

function requireModel(body: Body): string {
  const m = body.model;
  if (m === undefined || m === null)
    throw new InvalidRequest("you must provide a model parameter", "model", "missing_required_parameter");
  if (typeof m !== "string" || m === "")
    throw new InvalidRequest("'model' must be a non-empty string", "model", "invalid_type");
  return m;
}

function commonGenerate(body: Body): Pick<GenerateRequest, "maxTokens" | "seed" | "includeUsage"> {
  const n = positiveInt(body, "n");
  if (n !== undefined && n > 1)
    throw new InvalidRequest("the simulator supports only n=1", "n", "unsupported_value");
  const maxTokens = positiveInt(body, "max_completion_tokens") ?? positiveInt(body, "max_tokens");
  const seed = opt(body, "seed");
  if (seed !== undefined && (typeof seed !== "number" || !Number.isSafeInteger(seed))) {
    throw new InvalidRequest("'seed' must be an integer", "seed", "invalid_type");
  }
  bool(body, "stream");
  const so = opt(body, "stream_options");
  if (so !== undefined && !isObject(so))
    throw new InvalidRequest("'stream_options' must be an object", "stream_options", "invalid_type");
  const includeUsage = so ? bool(so, "include_usage") : false;
  return { maxTokens, seed: seed as number | undefined, includeUsage };
}

function contentText(content: unknown, param: string): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content))
    throw new InvalidRequest(`'${param}' must be a string or an array of parts`, param, "invalid_type");
  const texts: string[] = [];
  content.forEach((part, i) => {
    if (!isObject(part) || typeof part.type !== "string") {
      throw new InvalidRequest(
        `'${param}[${i}]' must be an object with a 'type'`,
        `${param}[${i}]`,
        "invalid_type",
      );
    }
    if (part.type === "text") {
      if (typeof part.text !== "string")
        throw new InvalidRequest(
          `'${param}[${i}].text' must be a string`,
          `${param}[${i}].text`,
          "invalid_type",
        );
      texts.push(part.text);
    } else {
      texts.push(`<|${part.type}|>`);
    }
  });
  return texts.join(" ");
}

function messageTokens(msg: unknown, i: number, out: string[]): void {
  const p = `messages[${i}]`;
  if (!isObject(msg)) throw new InvalidRequest(`'${p}' must be an object`, p, "invalid_type");
  if (typeof msg.role !== "string" || !ROLES.has(msg.role)) {
    throw new InvalidRequest(`'${p}.role' must be one of ${[...ROLES].join(", ")}`, `${p}.role`);
  }
  const hasToolCalls = Array.isArray(msg.tool_calls) && msg.tool_calls.length > 0;
  let text = "";
  if (msg.content === undefined || msg.content === null) {
    if (msg.role !== "assistant")
      throw new InvalidRequest(`'${p}.content' is required`, `${p}.content`, "missing_required_parameter");
  } else {
    text = contentText(msg.content, `${p}.content`);
  }
  if (hasToolCalls) text += ` ${JSON.stringify(msg.tool_calls)}`;
  out.push("<|im_start|>", msg.role, "<|sep|>");
  for (const t of tokenize(text)) out.push(t);
  out.push("<|im_end|>");
}

function parseChat(body: Body): GenerateRequest {
  const model = requireModel(body);
  const messages = body.messages;
  if (messages === undefined || messages === null) {
    throw new InvalidRequest(
      "you must provide a messages parameter",
      "messages",
      "missing_required_parameter",
    );
  }
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InvalidRequest("'messages' must be a non-empty array", "messages", "invalid_type");
  }
  const promptTokens: string[] = [];
  messages.forEach((m, i) => {
    messageTokens(m, i, promptTokens);
  });
  return { op: "chat", model, promptTokens, ...commonGenerate(body) };
}

function isTokenArray(v: unknown): v is number[] {
  return (
    Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0)
  );
}

function parseCompletion(body: Body): GenerateRequest {
  const model = requireModel(body);
  let prompt = body.prompt;
  if (prompt === undefined || prompt === null) {
    throw new InvalidRequest("you must provide a prompt parameter", "prompt", "missing_required_parameter");
  }
  if (
    Array.isArray(prompt) &&
    prompt.length === 1 &&
    (typeof prompt[0] === "string" || isTokenArray(prompt[0]))
  ) {
    prompt = prompt[0];
  }
  let promptTokens: string[];
  if (typeof prompt === "string") promptTokens = tokenize(prompt);
  else if (isTokenArray(prompt)) promptTokens = prompt.map((id) => `#${id}`);
  else if (Array.isArray(prompt) && prompt.length > 1) {
    throw new InvalidRequest("the simulator supports one prompt per request", "prompt", "unsupported_value");
  } else
    throw new InvalidRequest("'prompt' must be a string or an array of token ids", "prompt", "invalid_type");
  return { op: "completion", model, promptTokens, ...commonGenerate(body) };
}

function embedInputs(input: unknown): { inputs: string[]; tokens: number } {
  const bad = () =>
    new InvalidRequest(
      "'input' must be a non-empty string, an array of strings or token ids",
      "input",
      "invalid_value",
    );
  if (typeof input === "string") {
    if (input === "") throw bad();
    return { inputs: [input], tokens: countTokens(input) };
  }
  if (!Array.isArray(input) || input.length === 0 || input.length > 2048) throw bad();
  if (isTokenArray(input)) return { inputs: [input.join(" ")], tokens: input.length };
  const inputs: string[] = [];
  let tokens = 0;
  for (const item of input) {
    if (typeof item === "string" && item !== "") {
      inputs.push(item);
      tokens += countTokens(item);
    } else if (isTokenArray(item)) {
      inputs.push(item.join(" "));
      tokens += item.length;
    } else throw bad();
  }
  return { inputs, tokens };
}

function parseEmbedding(body: Body, maxDimensions: number): EmbedRequest {
  const model = requireModel(body);
  if (body.input === undefined || body.input === null) {
    throw new InvalidRequest("you must provide an input parameter", "input", "missing_required_parameter");
  }
  const { inputs, tokens } = embedInputs(body.input);
  const enc = opt(body, "encoding_format") ?? "float";
  if (enc !== "float" && enc !== "base64") {
    throw new InvalidRequest("'encoding_format' must be 'float' or 'base64'", "encoding_format");
  }
  const dimensions = positiveInt(body, "dimensions");
  if (dimensions !== undefined && dimensions > maxDimensions) {
    throw new InvalidRequest(`'dimensions' must be at most ${maxDimensions}`, "dimensions");
  }
  return { op: "embedding", model, inputs, promptTokens: tokens, encoding: enc, dimensions };
}

/** Validates a request body the way an OpenAI-compatible server does (400 with `param`). */
export function parseSimRequest(
  op: Operation,
  body: unknown,
  maxDimensions: number,
): SimRequest | SimProblem {
  try {
    if (!isObject(body))
      throw new InvalidRequest("the request body must be a JSON object", null, "invalid_type");
    if (op === "chat") return parseChat(body);
    if (op === "completion") return parseCompletion(body);
    return parseEmbedding(body, maxDimensions);
  } catch (err) {
    if (err instanceof InvalidRequest) return err.toProblem();
    throw err;
  }
}

export function isProblem(v: SimRequest | SimProblem): v is SimProblem {
  return "status" in v;
}
