/**
 * Child process of the bench that generates load from Node (on the load CPU, beside the sim):
 *   load-driver.ts open-loop --port N --rate R --seconds S [--warmup S] --body JSON
 *   load-driver.ts stream --port N --concurrency C --seconds S --itl MS --max-tokens N
 * Prints one JSON line with the result.
 */
import { parseArgs } from "node:util";
import { runOpenLoop } from "./lib/open-loop.js";
import { runStreamProbe } from "./lib/stream-probe.js";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: "string" },
    rate: { type: "string" },
    seconds: { type: "string" },
    warmup: { type: "string", default: "1" },
    body: { type: "string" },
    concurrency: { type: "string", default: "1" },
    itl: { type: "string", default: "2" },
    "max-tokens": { type: "string", default: "32" },
  },
});

function num(name: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0)
    throw new Error(`--${name} must be a positive number`);
  return n;
}

async function main(): Promise<unknown> {
  const port = num("port", values.port);
  const seconds = num("seconds", values.seconds);
  if (positionals[0] === "open-loop") {
    const rate = num("rate", values.rate);
    const body = values.body ?? "{}";
    const warmupSeconds = Number(values.warmup) || 0;
    return runOpenLoop({ port, rate, seconds, warmupSeconds, body, connections: 64 });
  }
  if (positionals[0] === "stream") {
    const concurrency = num("concurrency", values.concurrency);
    const itlMs = num("itl", values.itl);
    const maxTokens = num("max-tokens", values["max-tokens"]);
    return runStreamProbe({ port, concurrency, seconds, itlMs, maxTokens });
  }
  throw new Error(`unknown mode '${positionals[0] ?? ""}' (open-loop | stream)`);
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (err: unknown) => {
    process.stderr.write(`load-driver: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
