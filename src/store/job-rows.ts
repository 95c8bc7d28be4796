/**
 * The `jobs` table's row as both SQL stores read it (the same columns in SQLite and PostgreSQL:
 * times as epoch milliseconds, JSON kept as text exactly as written), and the mapping of a row to
 * the `JobRecord` the rest of Switchyard sees.
 */
import type { AttemptError, JobRecord, JobStatus, NewJob, WebhookState } from "./job-types.js";

export interface JobRow {
  id: string;
  owner: string;
  principal: string;
  type: string;
  request: string;
  status: string;
  priority: number;
  run_after: number;
  deadline_at: number | null;
  max_attempts: number;
  attempt_limit: number;
  attempts: number;
  attempt_errors: string;
  run_token: string | null;
  lease_until: number | null;
  result: string | null;
  error: string | null;
  webhook: string | null;
  webhook_state: string | null;
  metadata: string | null;
  traceparent: string | null;
  tracestate: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

/** Idempotency keys of job submissions live in the scope `jobs:<owner>`. */
export const IDEM_SCOPE_JOBS = "jobs:";

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

/** JSON text of a column that may be absent (null and undefined are stored as NULL). */
export const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

export function toRecord(r: JobRow): JobRecord {
  return {
    id: r.id,
    owner: r.owner,
    principal: JSON.parse(r.principal) as JobRecord["principal"],
    type: r.type as JobRecord["type"],
    request: JSON.parse(r.request) as Record<string, unknown>,
    status: r.status as JobStatus,
    priority: r.priority,
    runAfter: r.run_after,
    deadlineAt: r.deadline_at,
    maxAttempts: r.max_attempts,
    attemptLimit: r.attempt_limit,
    attempts: r.attempts,
    attemptErrors: JSON.parse(r.attempt_errors) as AttemptError[],
    runToken: r.run_token,
    leaseUntil: r.lease_until === null || r.lease_until === undefined ? null : Number(r.lease_until),
    result: parse<unknown>(r.result),
    error: parse<JobRecord["error"]>(r.error),
    webhook: parse<JobRecord["webhook"]>(r.webhook),
    webhookState: parse<WebhookState>(r.webhook_state),
    metadata: parse<Record<string, string>>(r.metadata),
    traceparent: r.traceparent,
    tracestate: r.tracestate ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** The record of a job just inserted: what reading its row back would give, without the read. */
export function newJobRecord(job: NewJob): JobRecord {
  // Every field written out (no spread): one object shape, as cheap as a literal.
  return {
    id: job.id,
    owner: job.owner,
    principal: job.principal,
    type: job.type,
    request: job.request,
    status: "PENDING",
    priority: job.priority,
    runAfter: job.runAfter,
    deadlineAt: job.deadlineAt,
    maxAttempts: job.maxAttempts,
    attemptLimit: job.maxAttempts,
    attempts: 0,
    attemptErrors: [],
    runToken: null,
    leaseUntil: null,
    result: null,
    error: null,
    webhook: job.webhook,
    webhookState: null,
    metadata: job.metadata,
    traceparent: job.traceparent,
    tracestate: job.tracestate,
    createdAt: job.createdAt,
    updatedAt: job.createdAt,
    startedAt: null,
    finishedAt: null,
  };
}
