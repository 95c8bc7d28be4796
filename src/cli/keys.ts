import { unconfiguredModelWarnings, keyView as view } from "../auth/key-view.js";
import { newKeyMaterial } from "../auth/keys.js";
import type { PrincipalLimits } from "../auth/principal.js";
import type { Config } from "../config/schema.js";
import { createStore, type Store, type StoreConfig, storeConfigSchema } from "../store/index.js";
import { ConfigError, loadConfig } from "./load.js";
import { parseFlags, UsageError } from "./options.js";

type Env = Readonly<Record<string, string | undefined>>;

/** Where output goes (the process's stdout and stderr unless a test passes its own). */
export interface KeysIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: KeysIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

const HELP = `usage:
  switchyard keys create --name N [--models a,b] [--rpm N] [--tpm N] [--max-concurrent N]
                         [--budget N] [--budget-period day|week|month] [--expires 30d|ISO-TIME] [--json]
  switchyard keys list [--json]
  switchyard keys revoke ID
common: --db FILE (SQLite file), or --config FILE / SWITCHYARD_CONFIG (its store), else ./switchyard.db
`;

const STORE_FLAGS = { db: { type: "string" }, config: { type: "string" } } as const;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new UsageError(`--${flag} must be a positive whole number, got '${value}'`);
  return Number(value);
}

/** `30d`, `12h`, `90m`, `2w` from now, or an ISO 8601 time (`2026-12-31T00:00:00Z`, `2026-12-31`). */
export function parseExpires(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const rel = /^(\d{1,6})([smhdw])$/.exec(value);
  let at: number;
  if (rel) at = nowMs + Number(rel[1]) * UNIT_MS[rel[2]!]!;
  else if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(value)) at = Date.parse(value);
  else at = Number.NaN;
  if (Number.isNaN(at)) throw new UsageError(`--expires takes 30d, 12h, 2w or an ISO time, got '${value}'`);
  if (at <= nowMs) throw new UsageError(`--expires ${value} is not in the future`);
  return at;
}

function parseModels(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  const models = value.split(",").map((m) => m.trim());
  if (models.some((m) => m.length === 0 || /\s/.test(m)))
    throw new UsageError(`--models takes a comma-separated list of model names, got '${value}'`);
  return [...new Set(models)];
}

function parseLimits(v: Record<string, string | boolean | undefined>): PrincipalLimits {
  const str = (k: string) => v[k] as string | undefined;
  const period = str("budget-period");
  if (period !== undefined && period !== "day" && period !== "week" && period !== "month")
    throw new UsageError(`--budget-period must be day, week or month, got '${period}'`);
  const budget = positiveInt("budget", str("budget"));
  if (period !== undefined && budget === undefined) throw new UsageError("--budget-period needs --budget");
  const limits: Record<string, number | string> = {};
  const set = (k: string, n: number | string | undefined) => {
    if (n !== undefined) limits[k] = n;
  };
  set("rpm", positiveInt("rpm", str("rpm")));
  set("tpm", positiveInt("tpm", str("tpm")));
  set("maxConcurrent", positiveInt("max-concurrent", str("max-concurrent")));
  set("budgetTokens", budget);
  set("budgetPeriod", budget === undefined ? undefined : (period ?? "month"));
  return limits as PrincipalLimits;
}

/** The config of `--config FILE` (or `SWITCHYARD_CONFIG` when `--db` is not given), if any. */
function configFrom(
  values: { db?: string; config?: string },
  env: Env,
): { file: string; config: Config } | undefined {
  const file = values.config ?? (values.db === undefined ? env.SWITCHYARD_CONFIG : undefined);
  return file ? { file, config: loadConfig(file, env) } : undefined;
}

type LoadedConfig = ReturnType<typeof configFrom>;

/**
 * `--db FILE`, else the `store` block of `--config FILE` / `SWITCHYARD_CONFIG`, else ./switchyard.db.
 * `loaded` is that config when the caller read it already.
 */
function storeConfigFrom(
  values: { db?: string; config?: string },
  env: Env,
  loaded: LoadedConfig = values.db === undefined ? configFrom(values, env) : undefined,
): StoreConfig {
  if (values.db !== undefined) return storeConfigSchema.parse({ kind: "sqlite", path: values.db });
  return loaded?.config.store ?? storeConfigSchema.parse({});
}

function limitsText(l: PrincipalLimits): string {
  const parts: string[] = [];
  if (l.rpm !== undefined) parts.push(`rpm=${l.rpm}`);
  if (l.tpm !== undefined) parts.push(`tpm=${l.tpm}`);
  if (l.maxConcurrent !== undefined) parts.push(`concurrent=${l.maxConcurrent}`);
  if (l.budgetTokens !== undefined) parts.push(`budget=${l.budgetTokens}/${l.budgetPeriod ?? "month"}`);
  return parts.join(" ") || "-";
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

async function create(args: string[], env: Env, io: KeysIo): Promise<number> {
  const { values } = parseFlags(args, {
    ...STORE_FLAGS,
    name: { type: "string" },
    models: { type: "string" },
    rpm: { type: "string" },
    tpm: { type: "string" },
    "max-concurrent": { type: "string" },
    budget: { type: "string" },
    "budget-period": { type: "string" },
    expires: { type: "string" },
    json: { type: "boolean" },
  });
  const name = values.name?.trim();
  if (!name || name.length > 200) throw new UsageError("keys create needs --name N (1 to 200 characters)");
  const now = Date.now();
  const allowedModels = parseModels(values.models);
  const limits = parseLimits(values);
  // Read once: for the store (without --db) and to check the allow-list against its models.
  const known = allowedModels || values.db === undefined ? configFrom(values, env) : undefined;
  const expiresAt = parseExpires(values.expires, now);
  const material = newKeyMaterial();
  const rec = await withStore(
    values,
    env,
    (store) => store.keys.create({ ...material, name, allowedModels, limits, createdAt: now, expiresAt }),
    known,
  );
  const warnings =
    known && allowedModels ? unconfiguredModelWarnings(allowedModels, Object.keys(known.config.models)) : [];
  if (values.json) {
    const out = { ...view(rec, now), key: material.secret, ...(warnings.length > 0 && { warnings }) };
    io.out(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    io.out(`${material.secret}\n`);
    io.err(`created ${rec.id} '${rec.name}': the key above is shown only this once\n`);
  }
  for (const w of warnings) io.err(`warning: ${w} (${known?.file})\n`);
  return 0;
}

async function list(args: string[], env: Env, io: KeysIo): Promise<number> {
  const { values } = parseFlags(args, { ...STORE_FLAGS, json: { type: "boolean" } });
  const now = Date.now();
  const records = await withStore(values, env, (store) => store.keys.list());
  const views = records.map((r) => view(r, now));
  if (values.json) {
    io.out(`${JSON.stringify(views, null, 2)}\n`);
    return 0;
  }
  const rows = [["ID", "NAME", "PREFIX", "MODELS", "LIMITS", "REQUESTS", "TOKENS", "EXPIRES", "STATUS"]];
  for (const v of views) {
    rows.push([
      v.id,
      v.name,
      `${v.prefix}…`,
      v.models === null ? "*" : v.models.join(","),
      limitsText(v.limits),
      String(v.usage.requests),
      String(v.usage.promptTokens + v.usage.completionTokens),
      v.expiresAt ?? "-",
      v.status,
    ]);
  }
  io.out(table(rows));
  return 0;
}

async function revoke(args: string[], env: Env, io: KeysIo): Promise<number> {
  const { values, positionals } = parseFlags(args, STORE_FLAGS, true);
  if (positionals.length !== 1) throw new UsageError("usage: switchyard keys revoke ID");
  const id = positionals[0]!;
  const rec = await withStore(values, env, (store) => store.keys.revoke(id, Date.now()));
  if (!rec) {
    io.err(`switchyard keys: no key with id '${id}'\n`);
    return 1;
  }
  io.out(`revoked ${rec.id} '${rec.name}'\n`);
  return 0;
}

async function withStore<T>(
  values: { db?: string; config?: string },
  env: Env,
  fn: (store: Store) => Promise<T>,
  loaded?: LoadedConfig,
): Promise<T> {
  const store = await createStore(storeConfigFrom(values, env, loaded));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** `switchyard keys create|list|revoke …`. Returns the exit code: 0 ok, 1 failure, 2 bad usage. */
export async function keysCommand(argv: string[], env: Env, io: KeysIo = processIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case "create":
        return await create(rest, env, io);
      case "list":
        return await list(rest, env, io);
      case "revoke":
        return await revoke(rest, env, io);
      case undefined:
        io.err(HELP);
        return 2;
      case "help":
      case "--help":
      case "-h":
        io.out(HELP);
        return 0;
      default:
        throw new UsageError(`unknown keys command '${sub}' (try: create, list, revoke)`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.err(`switchyard keys: ${err.message.split("\n").join(" ")}\n`);
      return 2;
    }
    io.err(`switchyard keys: ${(err as Error)?.message ?? String(err)}\n`);
    return 1;
  }
}
