import type { SimSettings } from "./settings.js";

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
 *
 * At most one of status, reset, reset-after, hang and hang-after may be given.
 */

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

type Field = Exclude<keyof FaultDirectives, "reset" | "hang">;

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

function parseDirective(part: string, out: FaultDirectives): string | undefined {
  const eq = part.indexOf("=");
  const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
  const raw = eq < 0 ? undefined : part.slice(eq + 1).trim();
  if (key === "reset" || key === "hang") {
    if (raw !== undefined) return `x-sim-fault directive '${key}' takes no value`;
    out[key] = true;
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
  return { ok: true, value };
}

/** Rolls the settings' fault rates and the header's `rate` into one plan for one request. */
export function planFaults(
  settings: SimSettings["faults"],
  header: FaultDirectives,
  random: () => number,
): FaultPlan {
  const plan: FaultPlan = { delayMs: settings.delayMs };
  const roll = random();
  if (roll < settings.errorRate) plan.status = settings.errorStatus;
  else if (roll < settings.errorRate + settings.resetRate) plan.reset = "before";
  else if (roll < settings.errorRate + settings.resetRate + settings.hangRate) plan.hang = "before";
  if (header.rate !== undefined && random() >= header.rate) return plan;
  const terminal =
    header.status !== undefined ||
    header.reset ||
    header.hang ||
    header.resetAfterTokens !== undefined ||
    header.hangAfterTokens !== undefined;
  if (terminal) {
    plan.status = header.status;
    plan.reset = header.reset ? "before" : header.resetAfterTokens;
    plan.hang = header.hang ? "before" : header.hangAfterTokens;
  }
  plan.delayMs += header.delayMs ?? 0;
  if (header.itlMs !== undefined) plan.itlMs = header.itlMs;
  if (header.ttftMs !== undefined) plan.ttftMs = header.ttftMs;
  return plan;
}
