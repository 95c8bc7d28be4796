/**
 * What the sim saw for each `x-request-id` (bounded, least recently used out). Tests read it through
 * `GET /sim/requests/:id` to prove, for example, that the gateway closed an upstream call in time.
 * The top-level timestamps describe the latest attempt; `history` keeps the last few attempts.
 */

export type AttemptOutcome = "in_flight" | "completed" | "client_closed" | "reset";

export interface AttemptRecord {
  /** Which attempt with this id it was (1-based). */
  attempt: number;
  arrivedAt: number;
  firstByteAt: number | null;
  endedAt: number | null;
  closedByClientAt: number | null;
  status: number | null;
  outcome: AttemptOutcome;
  /** The `traceparent` header the attempt carried, or null. */
  traceparent: string | null;
  /** The `tracestate` header the attempt carried, or null. */
  tracestate: string | null;
}

export interface RequestRecord {
  arrivedAt: number;
  firstByteAt: number | null;
  endedAt: number | null;
  /** When the client (the gateway) closed the connection before the answer ended, else null. */
  closedByClientAt: number | null;
  /** The latest attempt's answer was written to the end. */
  completed: boolean;
  /** The latest attempt was cut short because the client went away. */
  aborted: boolean;
  status: number | null;
  /** How many requests with this id arrived. */
  attempts: number;
  /** The most requests with this id in flight at one time. */
  maxConcurrent: number;
  history: AttemptRecord[];
}

const HISTORY = 16;

/** The handle the server updates as one request goes along. */
export class Attempt {
  readonly rec: AttemptRecord;

  constructor(
    private readonly parent: RecordEntry,
    now: number,
    traceparent: string | null = null,
    tracestate: string | null = null,
  ) {
    this.rec = {
      attempt: parent.attempts,
      arrivedAt: now,
      firstByteAt: null,
      endedAt: null,
      closedByClientAt: null,
      status: null,
      outcome: "in_flight",
      traceparent,
      tracestate,
    };
  }

  /** Which attempt with this id it is (1-based), for `seq`. */
  get number(): number {
    return this.rec.attempt;
  }

  firstByte(status: number): void {
    if (this.rec.firstByteAt === null) {
      this.rec.firstByteAt = Date.now();
      this.rec.status = status;
    }
  }

  end(outcome: Exclude<AttemptOutcome, "in_flight">): void {
    if (this.rec.outcome !== "in_flight") return;
    const now = Date.now();
    this.rec.outcome = outcome;
    this.rec.endedAt = now;
    if (outcome === "client_closed") this.rec.closedByClientAt = now;
    this.parent.inFlight--;
  }
}

interface RecordEntry {
  attempts: number;
  inFlight: number;
  maxConcurrent: number;
  history: AttemptRecord[];
}

export class RequestRecords {
  private readonly entries = new Map<string, RecordEntry>();

  constructor(private readonly capacity = 10_000) {}

  arrive(id: string, traceparent?: string, tracestate?: string): Attempt {
    let entry = this.entries.get(id);
    if (entry) this.entries.delete(id);
    else entry = { attempts: 0, inFlight: 0, maxConcurrent: 0, history: [] };
    this.entries.set(id, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    entry.attempts++;
    entry.inFlight++;
    entry.maxConcurrent = Math.max(entry.maxConcurrent, entry.inFlight);
    const attempt = new Attempt(entry, Date.now(), traceparent ?? null, tracestate ?? null);
    entry.history.push(attempt.rec);
    if (entry.history.length > HISTORY) entry.history.shift();
    return attempt;
  }

  get(id: string): RequestRecord | undefined {
    const entry = this.entries.get(id);
    const last = entry?.history[entry.history.length - 1];
    if (!entry || !last) return undefined;
    return {
      arrivedAt: last.arrivedAt,
      firstByteAt: last.firstByteAt,
      endedAt: last.endedAt,
      closedByClientAt: last.closedByClientAt,
      completed: last.outcome === "completed",
      aborted: last.outcome === "client_closed",
      status: last.status,
      attempts: entry.attempts,
      maxConcurrent: entry.maxConcurrent,
      history: entry.history.map((h) => ({ ...h })),
    };
  }
}

export interface SimStatsSnapshot {
  /** When counting started (server start or the last reset), ms since the epoch. */
  since: number;
  /** Model requests (`POST /v1/...`) that arrived. */
  requests: number;
  /** Requests that ended, by outcome: an HTTP status, `reset` or `client_closed`. */
  byStatus: Record<string, number>;
  /** Requests in flight now. */
  inFlight: number;
  /** The most requests in flight at once. */
  maxInFlight: number;
}

/** Totals of one sim server since it started (or since `reset`), for `GET /sim/stats`. */
export class SimStats {
  private since = Date.now();
  private requests = 0;
  private byStatus = new Map<string, number>();
  private inFlight = 0;
  private maxInFlight = 0;

  /** A request arrived; the returned function ends it with its outcome (only the first call counts). */
  arrive(): (outcome: string) => void {
    this.requests++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let ended = false;
    return (outcome) => {
      if (ended) return;
      ended = true;
      this.inFlight--;
      this.byStatus.set(outcome, (this.byStatus.get(outcome) ?? 0) + 1);
    };
  }

  /** Zeroes the totals; requests in flight stay counted as in flight. */
  reset(): void {
    this.since = Date.now();
    this.requests = 0;
    this.byStatus = new Map();
    this.maxInFlight = this.inFlight;
  }

  snapshot(): SimStatsSnapshot {
    return {
      since: this.since,
      requests: this.requests,
      byStatus: Object.fromEntries([...this.byStatus].sort(([a], [b]) => a.localeCompare(b))),
      inFlight: this.inFlight,
      maxInFlight: this.maxInFlight,
    };
  }
}
