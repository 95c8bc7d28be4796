import { z } from "zod";

/**
 * Fault injection. The `x-sim-fault` request header is a `;`-separated list of directives:
 *
 *   status=CODE      answer with this HTTP status (400-599) and an OpenAI-shaped error body
 *   rate=P           apply the header's directives with probability P (0..1, default 1)
 *   delay=MS         wait this long before answering
 *   reset            destroy the connection before any header is sent
 *   reset-after=N    destroy the connection after N content tokens (non-stream: halfway through the body)
 *   hang             never answer (until the client goes away)
 *   hang-after=N     stall after N content tokens (until the client goes away)
 *   itl=MS           inter-token latency override
 *   ttft=MS          prefill time override (queueing still applies)
 *   seq=S1,S2,...    what the 1st, 2nd, ... attempt with the same request id gets; each step is 200
 *                    (answer normally), a status 400-599, `reset` or `hang`; later attempts repeat
 *                    the last step
 *
 * At most one of status, reset, reset-after, hang and hang-after may be given; seq excludes status,
 * reset and hang (it combines with reset-after and hang-after, which then apply to its 200 steps).
 */

/** One step of a `seq`: a status (200 = answer normally), a reset or a hang before headers. */
export type SeqStep = number | "reset" | "hang";

export interface FaultDirectives {
  status?: number;
  rate?: number;
  delayMs?: number;
  reset?: boolean;
  resetAfterTokens?: number;
  hang?: boolean;
  hangAfterTokens?: number;
  itlMs?: number;
  ttftMs?: number;
  seq?: SeqStep[];
}

/** What happens to one request, after rates were rolled. */
export interface FaultPlan {
  status?: number;
  delayMs: number;
  /** `0..N`: reset after N content tokens; `"before"`: before headers. */
  reset?: number | "before";
  hang?: number | "before";
  itlMs?: number;
  ttftMs?: number;
}

export type FaultParse = { ok: true; value: FaultDirectives } | { ok: false; message: string };

type Field = Exclude<keyof FaultDirectives, "reset" | "hang" | "seq">;

const NUMERIC: Record<string, { field: Field; min: number; max: number; int: boolean }> = {
  status: { field: "status", min: 400, max: 599, int: true },
  rate: { field: "rate", min: 0, max: 1, int: false },
  delay: { field: "delayMs", min: 0, max: 3_600_000, int: false },
  "reset-after": { field: "resetAfterTokens", min: 0, max: 1_000_000, int: true },
  "hang-after": { field: "hangAfterTokens", min: 0, max: 1_000_000, int: true },
  itl: { field: "itlMs", min: 0, max: 60_000, int: false },
  ttft: { field: "ttftMs", min: 0, max: 3_600_000, int: false },
};

const TERMINAL = ["status", "reset", "reset-after", "hang", "hang-after"];
/** Directives `seq` cannot be combined with: each decides the answer of every attempt by itself. */
const NOT_WITH_SEQ = ["status", "reset", "hang"];
export const MAX_SEQ_STEPS = 64;

/** Parses `503,503,200` or `reset,hang,200` (also used for the control endpoint's string form). */
export function parseSeq(raw: string): { ok: true; value: SeqStep[] } | { ok: false; message: string } {
  if (raw.trim() === "") return { ok: false, message: "seq needs at least one step" };
  const parts = raw.split(",").map((p) => p.trim());
  if (parts.length > MAX_SEQ_STEPS)
    return { ok: false, message: `seq allows at most ${MAX_SEQ_STEPS} steps` };
  const value: SeqStep[] = [];
  for (const part of parts) {
    const step = part.toLowerCase();
    if (step === "reset" || step === "hang") {
      value.push(step);
      continue;
    }
    const n = /^\d+$/.test(step) ? Number(step) : Number.NaN;
    if (n !== 200 && !(n >= 400 && n <= 599)) {
      return {
        ok: false,
        message: `seq steps are 200, a status from 400 to 599, reset or hang; got '${part}'`,
      };
    }
    value.push(n);
  }
  return { ok: true, value };
}

function parseDirective(part: string, out: FaultDirectives): string | undefined {
  const eq = part.indexOf("=");
  const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
  const raw = eq < 0 ? undefined : part.slice(eq + 1).trim();
  if (key === "reset" || key === "hang") {
    if (raw !== undefined) return `x-sim-fault directive '${key}' takes no value`;
    out[key] = true;
    return undefined;
  }
  if (key === "seq") {
    if (raw === undefined || raw === "") return "x-sim-fault directive 'seq' needs a value";
    const seq = parseSeq(raw);
    if (!seq.ok) return `x-sim-fault directive 'seq': ${seq.message}`;
    out.seq = seq.value;
    return undefined;
  }
  const spec = NUMERIC[key];
  if (!spec) return `unknown x-sim-fault directive '${key}'`;
  if (raw === undefined || raw === "") return `x-sim-fault directive '${key}' needs a value`;
  const n = Number(raw);
  if (!Number.isFinite(n) || (spec.int && !Number.isInteger(n)) || n < spec.min || n > spec.max) {
    const kind = spec.int ? "an integer" : "a number";
    return `x-sim-fault directive '${key}' must be ${kind} from ${spec.min} to ${spec.max}, got '${raw}'`;
  }
  out[spec.field] = n;
  return undefined;
}

/** Parses the header; an absent or empty header is no fault. */
export function parseFaultHeader(header: string | undefined): FaultParse {
  const value: FaultDirectives = {};
  if (header === undefined) return { ok: true, value };
  const seen = new Set<string>();
  for (const part of header.split(";")) {
    if (part.trim() === "") continue;
    const key = part.split("=")[0]!.trim().toLowerCase();
    if (seen.has(key)) return { ok: false, message: `x-sim-fault directive '${key}' is given twice` };
    seen.add(key);
    const err = parseDirective(part, value);
    if (err) return { ok: false, message: err };
  }
  const terminal = TERMINAL.filter((k) => seen.has(k));
  if (terminal.length > 1) {
    return {
      ok: false,
      message: `x-sim-fault allows only one of ${TERMINAL.join(", ")}; got ${terminal.join(", ")}`,
    };
  }
  const clash = NOT_WITH_SEQ.find((k) => seen.has(k));
  if (value.seq && clash) {
    return { ok: false, message: `x-sim-fault directive 'seq' cannot be combined with '${clash}'` };
  }
  return { ok: true, value };
}

const probability = () => z.number().min(0).max(1);
const msUpTo = (max: number) => z.number().finite().min(0).max(max);

/** `seq` in JSON: `[503, 503, 200]`, `["reset", "hang", 200]` or the header's string form. */
const seqSchema = z.preprocess(
  (v) => (Array.isArray(v) ? v.map(String).join(",") : v),
  z.string().transform((raw, ctx) => {
    const parsed = parseSeq(raw);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  }),
);

/**
 * The faults of a running sim (`PUT /sim/faults`): the settings' `faults` block plus overrides for
 * every request. Fields left out are off (a PUT replaces, it does not merge).
 */
export const runtimeFaultsSchema = z
  .strictObject({
    errorRate: probability().default(0),
    errorStatus: z.number().int().min(400).max(599).default(500),
    delayMs: msUpTo(3_600_000).default(0),
    resetRate: probability().default(0),
    hangRate: probability().default(0),
    itlMs: msUpTo(60_000).optional(),
    ttftMs: msUpTo(3_600_000).optional(),
    seq: seqSchema.optional(),
  })
  .refine((f) => f.errorRate + f.resetRate + f.hangRate <= 1, {
    message: "errorRate + resetRate + hangRate must not exceed 1",
  });

export type RuntimeFaults = z.infer<typeof runtimeFaultsSchema>;

/** The step of a sequence for the given attempt (1-based); attempts past the end repeat the last. */
export function seqStep(seq: readonly SeqStep[], attempt: number): SeqStep {
  return seq[Math.min(Math.max(attempt, 1), seq.length) - 1]!;
}

/** Makes `step` the answer of the plan; true when it decides the answer (anything but 200). */
function applyStep(plan: FaultPlan, step: SeqStep): boolean {
  plan.status = undefined;
  plan.reset = undefined;
  plan.hang = undefined;
  if (step === "reset") plan.reset = "before";
  else if (step === "hang") plan.hang = "before";
  else if (step !== 200) plan.status = step;
  return step !== 200;
}

/**
 * Rolls the faults' rates and the header's `rate` into one plan for one request. `attempt` is the
 * request's attempt number under its request id (1 without one). Precedence, lowest first: the
 * rolled rates, the faults' `seq`, the header's `seq` and terminal directives.
 */
export function planFaults(
  faults: RuntimeFaults,
  header: FaultDirectives,
  random: () => number,
  attempt = 1,
): FaultPlan {
  const plan: FaultPlan = { delayMs: faults.delayMs };
  const roll = random();
  if (roll < faults.errorRate) plan.status = faults.errorStatus;
  else if (roll < faults.errorRate + faults.resetRate) plan.reset = "before";
  else if (roll < faults.errorRate + faults.resetRate + faults.hangRate) plan.hang = "before";
  if (faults.seq) applyStep(plan, seqStep(faults.seq, attempt));
  if (faults.itlMs !== undefined) plan.itlMs = faults.itlMs;
  if (faults.ttftMs !== undefined) plan.ttftMs = faults.ttftMs;
  if (header.rate !== undefined && random() >= header.rate) return plan;
  const decided = header.seq ? applyStep(plan, seqStep(header.seq, attempt)) : false;
  const terminal =
    header.status !== undefined ||
    header.reset ||
    header.hang ||
    header.resetAfterTokens !== undefined ||
    header.hangAfterTokens !== undefined;
  if (terminal && !decided) {
    plan.status = header.status;
    plan.reset = header.reset ? "before" : header.resetAfterTokens;
    plan.hang = header.hang ? "before" : header.hangAfterTokens;
  }
  plan.delayMs += header.delayMs ?? 0;
  if (header.itlMs !== undefined) plan.itlMs = header.itlMs;
  if (header.ttftMs !== undefined) plan.ttftMs = header.ttftMs;
  return plan;
}
