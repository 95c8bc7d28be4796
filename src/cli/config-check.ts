import { stringify } from "yaml";
import { ConfigError, loadConfig } from "./load.js";
import { parseFlags, UsageError } from "./options.js";

type Env = Readonly<Record<string, string | undefined>>;

const SECRET_KEYS = new Set(["apiKey", "adminKey", "password", "secret"]);

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = SECRET_KEYS.has(k) && typeof v === "string" ? "[redacted]" : redact(v);
    return out;
  }
  return value;
}

/** `switchyard config check FILE`: exit 0 and the resolved config, or exit 2 and one line per problem. */
export async function configCheckCommand(args: string[], env: Env): Promise<number> {
  const { positionals, values } = parseFlags(args, { json: { type: "boolean" } }, true);
  if (positionals.length !== 1) throw new UsageError("usage: switchyard config check FILE [--json]");
  try {
    const config = loadConfig(positionals[0], env);
    const shown = redact(config);
    process.stdout.write(values.json ? `${JSON.stringify(shown, null, 2)}\n` : stringify(shown));
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
