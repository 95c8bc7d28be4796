import { parseArgs } from "node:util";

export interface BenchOptions {
  /** Seconds of each measured wrk run (c1, c16) and of each open-loop run. */
  seconds: number;
  /** Seconds of the warm-up wrk run per target (not reported). */
  warmupSeconds: number;
  /** Seconds of each streaming probe run (c1, c16). */
  streamSeconds: number;
  /** Open-loop rate as a fraction of the slowest target's c16 req/s. */
  openLoopFraction: number;
  /** Fixed open-loop rate (req/s), overriding the fraction. */
  openLoopRate: number | undefined;
  itlMs: number;
  streamMaxTokens: number;
  noPin: boolean;
  out: string;
}

export const USAGE = `usage: npm run bench -- [--quick] [--seconds S] [--warmup S] [--stream-seconds S]
                     [--open-loop-fraction F | --open-loop-rate R] [--itl MS] [--no-pin] [--out FILE]`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${value}'`);
  return n;
}

export function parseOptions(argv: string[], defaultOut: string): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      seconds: { type: "string" },
      warmup: { type: "string" },
      "stream-seconds": { type: "string" },
      "open-loop-fraction": { type: "string" },
      "open-loop-rate": { type: "string" },
      itl: { type: "string" },
      "no-pin": { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  const quick = values.quick === true;
  const rate = values["open-loop-rate"];
  return {
    seconds: Math.round(positive("seconds", values.seconds, quick ? 2 : 8)),
    warmupSeconds: Math.round(positive("warmup", values.warmup, quick ? 1 : 2)),
    streamSeconds: positive("stream-seconds", values["stream-seconds"], quick ? 2 : 5),
    openLoopFraction: positive("open-loop-fraction", values["open-loop-fraction"], 0.5),
    openLoopRate: rate === undefined ? undefined : positive("open-loop-rate", rate, 1),
    itlMs: positive("itl", values.itl, 2),
    streamMaxTokens: 32,
    noPin: values["no-pin"] === true,
    out: values.out ?? defaultOut,
  };
}
