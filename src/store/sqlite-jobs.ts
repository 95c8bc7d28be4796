import type Database from "better-sqlite3";
import { IDEM_SCOPE_JOBS, type JobRow, json, newJobRecord, toRecord } from "./job-rows.js";
import type {
  AttemptOutcome,
  CreateJobResult,
  JobIdempotency,
  JobQuery,
  JobRecord,
  JobRepository,
  JobStatus,
  NewJob,
  WebhookState,
} from "./job-types.js";
import { GroupCommit } from "./sqlite-group.js";

/** Jobs in SQLite. Every state change is one statement guarded by the current status (and the fence). */
export class SqliteJobRepository implements JobRepository {
  readonly #db: Database.Database;
  readonly #stmts: ReturnType<typeof prepare>;
  readonly #createTx: (job: NewJob, idem: JobIdempotency | undefined) => CreateJobResult;
  readonly #discardTx: (id: string) => boolean;
  readonly #group: GroupCommit;

  /** `group` batches this connection's writes into shared commits (see sqlite-group.ts). */
  constructor(db: Database.Database, group: GroupCommit = new GroupCommit(db)) {
    this.#db = db;
    this.#group = group;
    const s = prepare(db);
    this.#stmts = s;
    const tx = db.transaction((job: NewJob, idem: JobIdempotency | undefined): CreateJobResult => {
      if (idem) {
        const scope = IDEM_SCOPE_JOBS + job.owner;
        const prev = s.idemGet.get(scope, idem.key, job.createdAt);
        if (prev) {
          if (prev.fingerprint !== idem.fingerprint) return { kind: "conflict" };
          const existing = prev.response === null ? undefined : s.byId.get(prev.response);
          if (existing) return { kind: "existing", job: toRecord(existing) };
        }
        s.idemPut.run(scope, idem.key, idem.fingerprint, job.id, job.createdAt, idem.expiresAt);
      }
      s.insert.run({
        id: job.id,
        owner: job.owner,
        principal: JSON.stringify(job.principal),
        type: job.type,
        request: JSON.stringify(job.request),
        priority: job.priority,
        runAfter: job.runAfter,
        deadlineAt: job.deadlineAt,
        maxAttempts: job.maxAttempts,
        webhook: json(job.webhook),
        metadata: json(job.metadata),
        traceparent: job.traceparent,
        tracestate: job.tracestate,
        createdAt: job.createdAt,
      });
      return { kind: "created", job: newJobRecord(job) };
    });
    this.#createTx = (job, idem) => tx.immediate(job, idem);
    const discard = db.transaction((id: string): boolean => {
      const row = s.discard.get(id);
      if (!row) return false;
      s.idemDrop.run(IDEM_SCOPE_JOBS + row.owner, id);
      return true;
    });
    this.#discardTx = (id) => discard.immediate(id);
  }

  get commitGroup(): object {
    return this.#group;
  }

  async create(job: NewJob, idem?: JobIdempotency): Promise<CreateJobResult> {
    return this.#group.run(() => this.#createTx(job, idem));
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = this.#stmts.byId.get(id);
    return row && toRecord(row);
  }

  async list(q: JobQuery): Promise<JobRecord[]> {
    const after = q.after ?? "\uffff";
    const rows = q.status
      ? this.#stmts.listStatus.all(q.owner, q.status, after, q.limit)
      : this.#stmts.list.all(q.owner, after, q.limit);
    return rows.map(toRecord);
  }

  async claim(id: string, token: string, now: number, leaseUntil: number): Promise<JobRecord | undefined> {
    // Answered at the commit, before the disk sync: a process that dies mid-attempt has written the
    // claim (and its attempt count) to the log already; only an OS crash can undo an unsynced claim,
    // and then the job runs again, as any at-least-once delivery may. The result is synced.
    const row = await this.#group.run(() => this.#stmts.claim.get(token, leaseUntil, now, now, id, now), {
      durable: false,
    });
    return row && toRecord(row);
  }

  async extendLeases(leases: ReadonlyArray<{ id: string; token: string }>, until: number): Promise<void> {
    if (leases.length === 0) return;
    await this.#group.run(() => {
      for (const l of leases) this.#stmts.extend.run(until, l.id, l.token);
    });
  }

  finishAttempt(id: string, token: string, outcome: AttemptOutcome, now: number): Promise<boolean> {
    return this.#group.run(() => this.#finish(id, token, outcome, now));
  }

  #finish(id: string, token: string, outcome: AttemptOutcome, now: number): boolean {
    const s = this.#stmts;
    switch (outcome.status) {
      case "SUCCESS":
        return s.succeed.run(JSON.stringify(outcome.result), now, now, id, token).changes === 1;
      case "FAILED": {
        const err = JSON.stringify({ code: outcome.error.code, message: outcome.error.message });
        return s.fail.run(JSON.stringify(outcome.error), err, now, now, id, token).changes === 1;
      }
      case "PENDING":
        return s.requeue.run(JSON.stringify(outcome.error), outcome.runAfter, now, id, token).changes === 1;
    }
  }

  async cancel(id: string, now: number): Promise<JobRecord | undefined> {
    await this.#group.run(() => this.#stmts.cancel.run(now, now, id));
    return this.get(id);
  }

  async retry(id: string, now: number): Promise<JobRecord | undefined> {
    const row = await this.#group.run(() => this.#stmts.retry.get(now, now, id));
    return row && toRecord(row);
  }

  async setWebhookState(id: string, state: WebhookState, now: number): Promise<void> {
    await this.#group.run(() => this.#stmts.webhook.run(JSON.stringify(state), now, id));
  }

  async statuses(ids: readonly string[]): Promise<Map<string, JobStatus>> {
    const out = new Map<string, JobStatus>();
    for (const id of ids) {
      const r = this.#stmts.status.get(id);
      if (r) out.set(id, r.status as JobStatus);
    }
    return out;
  }

  async discard(id: string): Promise<boolean> {
    return this.#group.run(() => this.#discardTx(id));
  }

  async purge(before: number): Promise<number> {
    return this.#stmts.purge.run(before).changes;
  }

  async stale(before: number, limit: number): Promise<JobRecord[]> {
    return (this.#stmts.stale.all(before, before, limit) as JobRow[]).map(toRecord);
  }

  get open(): boolean {
    return this.#db.open;
  }
}

function prepare(db: Database.Database) {
  const fenced = "WHERE id = ? AND run_token = ? AND status = 'RUNNING'";
  return {
    insert: db.prepare(
      `INSERT INTO jobs (id, owner, principal, type, request, status, priority, run_after, deadline_at,
         max_attempts, attempt_limit, webhook, metadata, traceparent, tracestate, created_at,
         updated_at)
       VALUES (@id, @owner, @principal, @type, @request, 'PENDING', @priority, @runAfter, @deadlineAt,
         @maxAttempts, @maxAttempts, @webhook, @metadata, @traceparent, @tracestate, @createdAt, @createdAt)`,
    ),
    byId: db.prepare<[string], JobRow>("SELECT * FROM jobs WHERE id = ?"),
    status: db.prepare<[string], { status: string }>("SELECT status FROM jobs WHERE id = ?"),
    list: db.prepare<[string, string, number], JobRow>(
      "SELECT * FROM jobs WHERE owner = ? AND id < ? ORDER BY id DESC LIMIT ?",
    ),
    listStatus: db.prepare<[string, string, string, number], JobRow>(
      "SELECT * FROM jobs WHERE owner = ? AND status = ? AND id < ? ORDER BY id DESC LIMIT ?",
    ),
    claim: db.prepare<[string, number, number, number, string, number], JobRow>(
      `UPDATE jobs SET status = 'RUNNING', run_token = ?, lease_until = ?, attempts = attempts + 1,
         started_at = COALESCE(started_at, ?), updated_at = ?
       WHERE id = ? AND (status = 'PENDING'
         OR (status = 'RUNNING' AND (lease_until IS NULL OR lease_until <= ?))) RETURNING *`,
    ),
    extend: db.prepare(`UPDATE jobs SET lease_until = ? ${fenced}`),
    succeed: db.prepare(
      `UPDATE jobs SET status = 'SUCCESS', result = ?, error = NULL, finished_at = ?, updated_at = ? ${fenced}`,
    ),
    fail: db.prepare(
      `UPDATE jobs SET status = 'FAILED', attempt_errors = json_insert(attempt_errors, '$[#]', json(?)),
         error = ?, finished_at = ?, updated_at = ? ${fenced}`,
    ),
    requeue: db.prepare(
      `UPDATE jobs SET status = 'PENDING', attempt_errors = json_insert(attempt_errors, '$[#]', json(?)),
         run_after = ?, updated_at = ? ${fenced}`,
    ),
    cancel: db.prepare(
      `UPDATE jobs SET status = 'CANCELLED', finished_at = ?, updated_at = ?, run_token = NULL
       WHERE id = ? AND status IN ('PENDING', 'RUNNING')`,
    ),
    retry: db.prepare<[number, number, string], JobRow>(
      `UPDATE jobs SET status = 'PENDING', attempt_limit = attempts + max_attempts, error = NULL,
         finished_at = NULL, run_after = ?, updated_at = ?, run_token = NULL, webhook_state = NULL
       WHERE id = ? AND status = 'FAILED' RETURNING *`,
    ),
    webhook: db.prepare("UPDATE jobs SET webhook_state = ?, updated_at = ? WHERE id = ?"),
    purge: db.prepare("DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?"),
    discard: db.prepare<[string], { owner: string }>(
      "DELETE FROM jobs WHERE id = ? AND status = 'PENDING' AND attempts = 0 RETURNING owner",
    ),
    idemDrop: db.prepare("DELETE FROM idempotency_keys WHERE scope = ? AND response = ?"),
    stale: db.prepare(
      `SELECT * FROM jobs WHERE (status = 'PENDING' AND updated_at < ?) OR (status = 'RUNNING' AND lease_until < ?)
       ORDER BY CASE status WHEN 'PENDING' THEN updated_at ELSE lease_until END LIMIT ?`,
    ),
    idemGet: db.prepare<[string, string, number], { fingerprint: string; response: string | null }>(
      "SELECT fingerprint, response FROM idempotency_keys WHERE scope = ? AND key = ? AND expires_at > ?",
    ),
    idemPut: db.prepare(
      `INSERT INTO idempotency_keys (scope, key, fingerprint, state, response, created_at, expires_at)
       VALUES (?, ?, ?, 'done', ?, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'done',
         response = excluded.response, created_at = excluded.created_at, expires_at = excluded.expires_at`,
    ),
  };
}
