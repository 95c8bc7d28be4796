/**
 * Child process of the bench that generates load from Node (on the load CPU, beside the sim):
 *   load-driver.ts open-loop --port N --rate R --seconds S [--warmup S] --body JSON
 *   load-driver.ts stream --port N --concurrency C --seconds S --itl MS --max-tokens N
 *   load-driver.ts affinity --port N --prompts P --rounds R --repeats K
 *   load-driver.ts jobs --port N --count N --concurrency C --body JSON --seconds TIMEOUT [--warmup S]
 *   load-driver.ts redis-ping --port N --count N
 * Prints one JSON line with the result.
 */
import { parseArgs } from "node:util";
import { runAffinity } from "./lib/affinity-driver.js";
import { runJobs } from "./lib/jobs-driver.js";
import { runOpenLoop } from "./lib/open-loop.js";
import { runRedisPing } from "./lib/redis-ping.js";
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
    model: { type: "string", default: "bench" },
    prompts: { type: "string", default: "20" },
    rounds: { type: "string", default: "3" },
    repeats: { type: "string", default: "750" },
    count: { type: "string", default: "1000" },
  },
});

function num(name: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0)
    throw new Error(`--${name} must be a positive number`);
  return n;
}

async function closedLoop(mode: string | undefined, port: number): Promise<unknown> {
  const seconds = num("seconds", values.seconds);
  if (mode === "open-loop") {
    const rate = num("rate", values.rate);
    const body = values.body ?? "{}";
    const warmupSeconds = Number(values.warmup) || 0;
    return runOpenLoop({ port, rate, seconds, warmupSeconds, body, connections: 64 });
  }
  const concurrency = num("concurrency", values.concurrency);
  const itlMs = num("itl", values.itl);
  const maxTokens = num("max-tokens", values["max-tokens"]);
  return runStreamProbe({ port, concurrency, seconds, itlMs, maxTokens });
}

async function main(): Promise<unknown> {
  const port = num("port", values.port);
  const mode = positionals[0];
  if (mode === "open-loop" || mode === "stream") return closedLoop(mode, port);
  if (mode === "affinity") {
    return runAffinity({
      port,
      model: values.model ?? "bench",
      prompts: num("prompts", values.prompts),
      rounds: num("rounds", values.rounds),
      phraseRepeats: num("repeats", values.repeats),
    });
  }
  if (mode === "jobs") {
    return runJobs({
      port,
      count: num("count", values.count),
      concurrency: num("concurrency", values.concurrency),
      body: values.body ?? "{}",
      timeoutSeconds: num("seconds", values.seconds),
      warmupSeconds: Number(values.warmup) || 0,
    });
  }
  if (mode === "redis-ping") return runRedisPing(port, num("count", values.count));
  throw new Error(`unknown mode '${mode ?? ""}' (open-loop | stream | affinity | jobs | redis-ping)`);
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (err: unknown) => {
    process.stderr.write(`load-driver: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
