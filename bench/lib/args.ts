import { parseArgs } from "node:util";

/** Sections of one run: the three-target comparison (`core`) and the scenarios of issues 3, 5, 6, 7. */
export const SECTIONS = [
  "core",
  "auth",
  "affinity",
  "observability",
  "jobs",
  "batching",
  "distributed",
  "grpc",
] as const;
export type Section = (typeof SECTIONS)[number];

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
  /** Sections to run, in SECTIONS order. */
  sections: Section[];
  /** Interleaved rounds per target in the auth and observability scenarios (each run lasts `seconds`). */
  rounds: number;
  /** Jobs submitted in the jobs scenario's end-to-end run. */
  jobs: number;
}

export const USAGE = `usage: npm run bench -- [--quick] [--seconds S] [--warmup S] [--stream-seconds S]
                     [--open-loop-fraction F | --open-loop-rate R] [--itl MS] [--no-pin] [--out FILE]
                     [--only S,S | --skip S,S] [--rounds N] [--jobs N]
sections: ${SECTIONS.join(", ")} (all by default)`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${value}'`);
  return n;
}

function sectionList(flag: string, value: string): Section[] {
  const names = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const n of names) {
    if (!(SECTIONS as readonly string[]).includes(n))
      throw new Error(`--${flag}: unknown section '${n}' (${SECTIONS.join(", ")})`);
  }
  return names as Section[];
}

function selectSections(only: string | undefined, skip: string | undefined): Section[] {
  if (only !== undefined && skip !== undefined) throw new Error("--only and --skip exclude each other");
  if (only !== undefined) {
    const chosen = sectionList("only", only);
    if (chosen.length === 0) throw new Error("--only needs at least one section");
    return SECTIONS.filter((s) => chosen.includes(s));
  }
  const skipped = skip === undefined ? [] : sectionList("skip", skip);
  const left = SECTIONS.filter((s) => !skipped.includes(s));
  if (left.length === 0) throw new Error("--skip leaves no section to run");
  return left;
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
      only: { type: "string" },
      skip: { type: "string" },
      rounds: { type: "string" },
      jobs: { type: "string" },
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
    sections: selectSections(values.only, values.skip),
    rounds: Math.round(positive("rounds", values.rounds, 2)),
    jobs: Math.round(positive("jobs", values.jobs, quick ? 2000 : 5000)),
  };
}
