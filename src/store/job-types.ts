/**
 * Records of the `jobs` and `idempotency` repositories. Every adapter (SQLite now, PostgreSQL next)
 * implements these two interfaces with the same semantics; the job state machine lives in
 * `src/jobs/`, which only talks to the store through them.
 */
import type { Principal } from "../auth/principal.js";

export const JOB_STATUSES = ["PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(["SUCCESS", "FAILED", "CANCELLED"]);

/** `pipeline` runs a configured pipeline (`request: {pipeline, input}`); the others one model call. */
export type JobType = "chat.completion" | "completion" | "embedding" | "pipeline";

/** The principal that submitted a job, stored with it (auth happened at submit time): the same shape. */
export type StoredPrincipal = Principal;

/** The error of one failed attempt. */
export interface AttemptError {
  readonly attempt: number;
  readonly code: string;
  readonly message: string;
  readonly at: number;
}

export interface WebhookTarget {
  readonly url: string;
}

export interface WebhookState {
  readonly status: "pending" | "delivered" | "failed";
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: number | null;
}

export interface JobRecord {
  readonly id: string;
  /** The principal id (`key:…`, `jwt:…`, `anonymous`); principals only see their own jobs. */
  readonly owner: string;
  readonly principal: StoredPrincipal;
  readonly type: JobType;
  readonly request: Record<string, unknown>;
  readonly status: JobStatus;
  readonly priority: number;
  readonly runAfter: number;
  readonly deadlineAt: number | null;
  readonly maxAttempts: number;
  /** Attempts allowed in total (grows by `maxAttempts` on each manual retry). */
  readonly attemptLimit: number;
  readonly attempts: number;
  readonly attemptErrors: readonly AttemptError[];
  /** The lease of the attempt that may write the result (the fence). */
  readonly runToken: string | null;
  /**
   * Until when the running attempt's worker holds the job (epoch ms; extended while it runs). Another
   * delivery of the same job may take it over only after this: a duplicate message never runs a job twice at once.
   */
  readonly leaseUntil: number | null;
  readonly result: unknown;
  readonly error: { code: string; message: string } | null;
  readonly webhook: WebhookTarget | null;
  readonly webhookState: WebhookState | null;
  readonly metadata: Record<string, string> | null;
  readonly traceparent: string | null;
  /** The submitting request's W3C `tracestate`, carried with `traceparent` to the run. */
  readonly tracestate: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
}

export type NewJob = Omit<
  JobRecord,
  | "status"
  | "attempts"
  | "attemptErrors"
  | "runToken"
  | "leaseUntil"
  | "result"
  | "error"
  | "webhookState"
  | "updatedAt"
  | "startedAt"
  | "finishedAt"
  | "attemptLimit"
>;

/** An idempotency key to bind to a new job atomically. */
export interface JobIdempotency {
  readonly key: string;
  readonly fingerprint: string;
  readonly expiresAt: number;
}

export type CreateJobResult =
  | { readonly kind: "created"; readonly job: JobRecord }
  | { readonly kind: "existing"; readonly job: JobRecord }
  | { readonly kind: "conflict" };

export interface JobQuery {
  readonly owner: string;
  readonly status?: JobStatus;
  readonly limit: number;
  /** Cursor: only jobs with an id before this one (lists are newest first). */
  readonly after?: string;
}

/** How an attempt ended, written only if `token` still holds the job (the attempt fence). */
export type AttemptOutcome =
  | { readonly status: "SUCCESS"; readonly result: unknown }
  | { readonly status: "FAILED"; readonly error: AttemptError }
  | { readonly status: "PENDING"; readonly error: AttemptError; readonly runAfter: number };

export interface JobRepository {
  /** See `Queue.commitGroup`: the same object when the queue's writes commit with these. */
  readonly commitGroup?: object;
  /** Inserts a job; with `idem`, binds the key to it in the same transaction (or returns the bound job). */
  create(job: NewJob, idem?: JobIdempotency): Promise<CreateJobResult>;
  get(id: string): Promise<JobRecord | undefined>;
  list(q: JobQuery): Promise<JobRecord[]>;
  /**
   * Starts an attempt: PENDING (or RUNNING whose lease ended before `now`: its worker died) → RUNNING,
   * attempts + 1, the fence set to `token`, held until `leaseUntil`. Returns undefined when the job is
   * finished, missing, or held by another attempt's live lease: it must not run now.
   */
  claim(id: string, token: string, now: number, leaseUntil: number): Promise<JobRecord | undefined>;
  /** Moves the lease of each running attempt still holding its token to `until` (a worker's heartbeat). */
  extendLeases(leases: ReadonlyArray<{ id: string; token: string }>, until: number): Promise<void>;
  /** Ends the attempt holding `token`; false when the fence moved (cancelled, or a newer attempt). */
  finishAttempt(id: string, token: string, outcome: AttemptOutcome, now: number): Promise<boolean>;
  /**
   * Deletes a job that was created but never published (its queue refused it), with the idempotency
   * key bound to it. Only a PENDING job that never started is deleted; returns whether one was.
   */
  discard(id: string): Promise<boolean>;
  /** PENDING or RUNNING → CANCELLED; returns the job after the call (unchanged when already finished). */
  cancel(id: string, now: number): Promise<JobRecord | undefined>;
  /** FAILED → PENDING with `maxAttempts` more attempts; undefined when not FAILED. */
  retry(id: string, now: number): Promise<JobRecord | undefined>;
  setWebhookState(id: string, state: WebhookState, now: number): Promise<void>;
  /** The status of each of `ids` that exists (workers poll it to learn of cancels in other processes). */
  statuses(ids: readonly string[]): Promise<Map<string, JobStatus>>;
  /** Deletes finished jobs whose `finishedAt` is before `before`; returns how many. */
  purge(before: number): Promise<number>;
  /**
   * Jobs that may be on no queue, oldest first (for re-publishing jobs a crash left off it): PENDING
   * jobs not changed since `before`, and RUNNING jobs whose lease ended before `before` (their worker
   * died, and no copy of their message came back to take them over).
   */
  stale(before: number, limit: number): Promise<JobRecord[]>;
}

export type IdempotencyAcquire =
  | { readonly kind: "acquired" }
  | { readonly kind: "pending" }
  | { readonly kind: "done"; readonly response: string }
  | { readonly kind: "conflict" };

export interface IdempotencyRepository {
  /**
   * Takes `key` for a call whose request has `fingerprint`: `acquired` (run it; the lock lasts until
   * `lockUntil`), `pending` (another call runs it), `done` (its stored response), or `conflict`
   * (the key was used with another request). Expired records count as absent.
   */
  acquire(
    scope: string,
    key: string,
    fingerprint: string,
    now: number,
    lockUntil: number,
    expiresAt: number,
  ): Promise<IdempotencyAcquire>;
  complete(scope: string, key: string, response: string, expiresAt: number): Promise<void>;
  /** Forgets a pending key (the call failed), so a retry runs again. */
  release(scope: string, key: string): Promise<void>;
  purge(now: number): Promise<number>;
}
