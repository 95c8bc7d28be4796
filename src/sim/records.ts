/**
 * What the sim saw for each `x-request-id` (bounded, least recently used out). Tests read it through
 * `GET /sim/requests/:id` to prove, for example, that the gateway closed an upstream call in time.
 * The top-level timestamps describe the latest attempt; `history` keeps the last few attempts.
 */

export type AttemptOutcome = "in_flight" | "completed" | "client_closed" | "reset";

export interface AttemptRecord {
  arrivedAt: number;
  firstByteAt: number | null;
  endedAt: number | null;
  closedByClientAt: number | null;
  status: number | null;
  outcome: AttemptOutcome;
}

export interface RequestRecord {
  arrivedAt: number;
  firstByteAt: number | null;
  endedAt: number | null;
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
  ) {
    this.rec = {
      arrivedAt: now,
      firstByteAt: null,
      endedAt: null,
      closedByClientAt: null,
      status: null,
      outcome: "in_flight",
    };
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

  arrive(id: string): Attempt {
    let entry = this.entries.get(id);
    if (entry) this.entries.delete(id);
    else entry = { attempts: 0, inFlight: 0, maxConcurrent: 0, history: [] };
    this.entries.set(id, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    entry.attempts++;
    entry.inFlight++;
    entry.maxConcurrent = Math.max(entry.maxConcurrent, entry.inFlight);
    const attempt = new Attempt(entry, Date.now());
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
