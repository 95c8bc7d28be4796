import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { DEMO_PIPELINE } from "../pipeline/demo.js";
import { type Config, type ConfigInput, configSchema } from "./schema.js";

/** A config that cannot be used. `message` names the path, what was expected and what was found. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[] = [message],
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const ENV_REF = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function substitute(text: string, env: Env, path: string): string {
  return text.replace(ENV_REF, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === "$$") return "$";
    const value = env[name as string];
    if (value !== undefined && value !== "") return value;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(
      `${path}: environment variable ${name} is not set (write \${${name}:-default} for a default)`,
    );
  });
}

/** Replaces `${VAR}` and `${VAR:-default}` in every string value (never in keys); `$$` is a literal `$`. */
export function substituteEnv(value: unknown, env: Env, path = "$"): unknown {
  if (typeof value === "string") return substitute(value, env, path);
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, `${path}[${i}]`));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, `${path}.${k}`);
    return out;
  }
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : `.${String(seg)}`;
  return out.startsWith(".") ? out.slice(1) : out || "(root)";
}

/** One line per zod issue: `path: expected …, got …`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const where = formatPath(issue.path);
    // A custom issue (a cross-reference check) names what is wrong itself; its input is the whole config.
    const got = "input" in issue && issue.code !== "custom" ? `, got ${describe(issue.input)}` : "";
    if (issue.code === "unrecognized_keys") return `${where}: unknown key(s) ${issue.keys.join(", ")}`;
    return `${where}: ${issue.message}${got}`;
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Validates a config object (already parsed from YAML or built in code) and freezes it. */
export function parseConfig(input: unknown, env: Env = {}): Config {
  const substituted = substituteEnv(input ?? {}, env);
  const result = configSchema.safeParse(substituted, { reportInput: true });
  if (!result.success) {
    const lines = formatIssues(result.error.issues);
    throw new ConfigError(`invalid config:\n  ${lines.join("\n  ")}`, lines);
  }
  return deepFreeze(result.data);
}

/**
 * A validated config with some top-level blocks replaced or merged (command-line overrides such as
 * `--auth`). The result is validated again and frozen; no environment substitution happens twice.
 */
export function withOverrides(config: Config, overrides: Partial<Record<keyof Config, unknown>>): Config {
  const merged: Record<string, unknown> = { ...config };
  for (const [k, v] of Object.entries(overrides)) {
    const base = merged[k];
    merged[k] = base && typeof base === "object" && v && typeof v === "object" ? { ...base, ...v } : v;
  }
  const result = configSchema.safeParse(merged, { reportInput: true });
  if (!result.success) {
    const lines = formatIssues(result.error.issues);
    throw new ConfigError(`invalid config:\n  ${lines.join("\n  ")}`, lines);
  }
  return deepFreeze(result.data);
}

/** Reads a YAML (or JSON) file, substitutes environment variables and validates it. */
export function loadConfigFile(file: string, env: Env): Config {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(
      `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  return parseConfig(doc, env);
}

/** The embedded default: two simulated chat models, one simulated embedding model and a demo pipeline. */
export function defaultConfigInput(): ConfigInput {
  return {
    models: {
      "sim-small": { type: "chat", endpoints: [{ kind: "sim", sim: { preset: "small" } }] },
      "sim-large": { type: "chat", endpoints: [{ kind: "sim", sim: { preset: "large" } }] },
      "sim-embed": {
        type: "embedding",
        endpoints: [{ kind: "sim", sim: { preset: "embedding", type: "embedding" } }],
      },
    },
    pipelines: { "triage-answer": DEMO_PIPELINE },
  };
}
