import type pg from "pg";
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
import { InsertBatcher, TurnBatcher, textSize } from "./postgres-batch.js";
import type { PgDb } from "./postgres-db.js";

const FENCED = "WHERE id = $1 AND run_token = $2 AND status = 'RUNNING'";
/** Appends one JSON value ($3) to the JSON array text in `attempt_errors`, keeping the text as written. */
const APPEND_ERROR = `attempt_errors = CASE WHEN attempt_errors = '[]' THEN '[' || $3 || ']'
  ELSE left(attempt_errors, -1) || ',' || $3 || ']' END`;

const INSERT_HEAD = `INSERT INTO jobs (id, owner, principal, type, request, status, priority, run_after,
    deadline_at, max_attempts, attempt_limit, webhook, metadata, traceparent, tracestate, created_at, updated_at)
  VALUES`;
/** One new job's values ($1…$14, see `insertValues`). */
const INSERT_ROW = "($1, $2, $3, $4, $5, 'PENDING', $6, $7, $8, $9, $9, $10, $11, $12, $13, $14, $14)";
const INSERT_WIDTH = 14;

const SQL = {
  insert: `${INSERT_HEAD} ${INSERT_ROW}`,
  /** Takes the key when it is free or expired; otherwise locks the live record and returns nothing. */
  idemTake: `INSERT INTO idempotency_keys AS i (scope, key, fingerprint, state, response, created_at, expires_at)
    VALUES ($1, $2, $3, 'done', $4, $5, $6)
    ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'done',
      response = excluded.response, created_at = excluded.created_at, expires_at = excluded.expires_at
    WHERE i.expires_at <= excluded.created_at
    RETURNING 1`,
  idemRebind: `UPDATE idempotency_keys SET fingerprint = $3, state = 'done', response = $4, created_at = $5,
      expires_at = $6 WHERE scope = $1 AND key = $2`,
  claim: `UPDATE jobs SET status = 'RUNNING', run_token = $2, lease_until = $4, attempts = attempts + 1,
      started_at = COALESCE(started_at, $3), updated_at = $3
    WHERE id = $1 AND (status = 'PENDING'
      OR (status = 'RUNNING' AND (lease_until IS NULL OR lease_until <= $3))) RETURNING *`,
  /** `claim` for several deliveries at once, each row guarded by the same conditions. */
  claimMany: `UPDATE jobs SET status = 'RUNNING', run_token = c.token, lease_until = c.lease, attempts = jobs.attempts + 1,
      started_at = COALESCE(jobs.started_at, c.at), updated_at = c.at
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS c(id, token, at, lease)
    WHERE jobs.id = c.id COLLATE "C" AND (jobs.status = 'PENDING'
      OR (jobs.status = 'RUNNING' AND (jobs.lease_until IS NULL OR jobs.lease_until <= c.at))) RETURNING jobs.*`,
  extend: `UPDATE jobs SET lease_until = $3 FROM unnest($1::text[], $2::text[]) AS l(id, token)
    WHERE jobs.id = l.id AND jobs.run_token = l.token AND jobs.status = 'RUNNING'`,
  succeed: `UPDATE jobs SET status = 'SUCCESS', result = $3, error = NULL, finished_at = $4, updated_at = $4 ${FENCED}`,
  /** `succeed` for several attempts at once, each row fenced by its own run token. */
  succeedMany: `UPDATE jobs SET status = 'SUCCESS', result = s.result, error = NULL, finished_at = s.at, updated_at = s.at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS s(id, token, result, at)
    WHERE jobs.id = s.id COLLATE "C" AND jobs.run_token = s.token AND jobs.status = 'RUNNING'
    RETURNING jobs.id, jobs.run_token`,
  fail: `UPDATE jobs SET status = 'FAILED', ${APPEND_ERROR}, error = $4, finished_at = $5, updated_at = $5 ${FENCED}`,
  requeue: `UPDATE jobs SET status = 'PENDING', ${APPEND_ERROR}, run_after = $4, updated_at = $5 ${FENCED}`,
  cancel: `UPDATE jobs SET status = 'CANCELLED', finished_at = $2, updated_at = $2, run_token = NULL
    WHERE id = $1 AND status IN ('PENDING', 'RUNNING') RETURNING *`,
  retry: `UPDATE jobs SET status = 'PENDING', attempt_limit = attempts + max_attempts, error = NULL,
      finished_at = NULL, run_after = $2, updated_at = $2, run_token = NULL, webhook_state = NULL
    WHERE id = $1 AND status = 'FAILED' RETURNING *`,
  /** The job and the idempotency key bound to it go together, in one statement. */
  discard: `WITH j AS (DELETE FROM jobs WHERE id = $1 AND status = 'PENDING' AND attempts = 0 RETURNING owner),
      k AS (DELETE FROM idempotency_keys WHERE scope = (SELECT $2 || owner FROM j) AND response = $1)
    SELECT count(*)::int AS n FROM j`,
};

/** `claim` arguments: id, run token, now, lease end. */
type ClaimArgs = [string, string, number, number];
/** `succeed` arguments: id, run token, result (JSON text), now. */
type SucceedArgs = [string, string, string, number];

/** The columns of a batch, one array per position, for `unnest`. */
function columns(items: readonly unknown[][], width: number): unknown[][] {
  return Array.from({ length: width }, (_, i) => items.map((item) => item[i]));
}

/**
 * Which items a batched statement took: `key(item)` of each returned row, handed to the first item
 * with that key (a second item with the same id and token finds the row taken, as it would alone).
 */
function takenBy<A, T>(
  items: readonly A[],
  keyOf: (a: A) => string,
  rows: Map<string, T>,
): (T | undefined)[] {
  return items.map((a) => {
    const k = keyOf(a);
    const row = rows.get(k);
    rows.delete(k);
    return row;
  });
}

const idToken = (a: ClaimArgs | SucceedArgs) => `${a[0]}\n${a[1]}`;

/**
 * Jobs in PostgreSQL. Every state change is one statement guarded by the current status (and the
 * fence); claims and successful finishes made in the same turn share one statement (see postgres-batch.ts).
 */
export class PostgresJobRepository implements JobRepository {
  readonly #db: PgDb;
  /** Jobs without an idempotency key submitted in one turn are inserted together (see postgres-batch.ts). */
  readonly #inserts: InsertBatcher;
  /** A worker's deliveries claimed in one turn, in one statement. */
  readonly #claims: TurnBatcher<ClaimArgs, JobRow | undefined>;
  /** Attempts that succeeded in one turn, recorded in one statement. */
  readonly #successes: TurnBatcher<SucceedArgs, boolean>;

  constructor(db: PgDb) {
    this.#db = db;
    this.#inserts = new InsertBatcher(db, INSERT_HEAD, INSERT_ROW, INSERT_WIDTH);
    this.#claims = new TurnBatcher<ClaimArgs, JobRow | undefined>({
      one: async (args) => (await db.rows<JobRow>(SQL.claim, args))[0],
      many: async (items) => {
        const rows = await db.rows<JobRow>(SQL.claimMany, columns(items, 4));
        return takenBy(items, idToken, new Map(rows.map((r) => [`${r.id}\n${r.run_token}`, r])));
      },
    });
    this.#successes = new TurnBatcher<SucceedArgs, boolean>({
      one: async (args) => (await db.query(SQL.succeed, args)).rowCount === 1,
      many: async (items) => {
        const rows = await db.rows<{ id: string; run_token: string }>(SQL.succeedMany, columns(items, 4));
        const won = new Map(rows.map((r) => [`${r.id}\n${r.run_token}`, true]));
        return takenBy(items, idToken, won).map((w) => w === true);
      },
      size: textSize,
    });
  }

  async create(job: NewJob, idem?: JobIdempotency): Promise<CreateJobResult> {
    if (!idem) {
      await this.#inserts.insert(insertValues(job));
      return { kind: "created", job: newJobRecord(job) };
    }
    return this.#db.tx((c) => createBound(c, job, idem));
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const [row] = await this.#db.rows<JobRow>("SELECT * FROM jobs WHERE id = $1", [id]);
    return row && toRecord(row);
  }

  async list(q: JobQuery): Promise<JobRecord[]> {
    const values: unknown[] = [q.owner];
    let where = "owner = $1";
    if (q.status !== undefined) {
      values.push(q.status);
      where += ` AND status = $${values.length}`;
    }
    if (q.after !== undefined) {
      values.push(q.after);
      where += ` AND id < $${values.length}`;
    }
    values.push(q.limit);
    const rows = await this.#db.rows<JobRow>(
      `SELECT * FROM jobs WHERE ${where} ORDER BY id DESC LIMIT $${values.length}`,
      values,
    );
    return rows.map(toRecord);
  }

  async claim(id: string, token: string, now: number, leaseUntil: number): Promise<JobRecord | undefined> {
    const row = await this.#claims.run([id, token, now, leaseUntil]);
    return row && toRecord(row);
  }

  async extendLeases(leases: ReadonlyArray<{ id: string; token: string }>, until: number): Promise<void> {
    if (leases.length === 0) return;
    await this.#db.query(SQL.extend, [leases.map((l) => l.id), leases.map((l) => l.token), until]);
  }

  async finishAttempt(id: string, token: string, outcome: AttemptOutcome, now: number): Promise<boolean> {
    let res: pg.QueryResult;
    switch (outcome.status) {
      case "SUCCESS":
        return this.#successes.run([id, token, JSON.stringify(outcome.result), now]);
      case "FAILED": {
        const err = JSON.stringify({ code: outcome.error.code, message: outcome.error.message });
        res = await this.#db.query(SQL.fail, [id, token, JSON.stringify(outcome.error), err, now]);
        break;
      }
      case "PENDING":
        res = await this.#db.query(SQL.requeue, [
          id,
          token,
          JSON.stringify(outcome.error),
          outcome.runAfter,
          now,
        ]);
        break;
    }
    return res.rowCount === 1;
  }

  async discard(id: string): Promise<boolean> {
    const [row] = await this.#db.rows<{ n: number }>(SQL.discard, [id, IDEM_SCOPE_JOBS]);
    return row?.n === 1;
  }

  async cancel(id: string, now: number): Promise<JobRecord | undefined> {
    const [row] = await this.#db.rows<JobRow>(SQL.cancel, [id, now]);
    return row ? toRecord(row) : this.get(id);
  }

  async retry(id: string, now: number): Promise<JobRecord | undefined> {
    const [row] = await this.#db.rows<JobRow>(SQL.retry, [id, now]);
    return row && toRecord(row);
  }

  async setWebhookState(id: string, state: WebhookState, now: number): Promise<void> {
    await this.#db.query("UPDATE jobs SET webhook_state = $1, updated_at = $2 WHERE id = $3", [
      JSON.stringify(state),
      now,
      id,
    ]);
  }

  async statuses(ids: readonly string[]): Promise<Map<string, JobStatus>> {
    const out = new Map<string, JobStatus>();
    if (ids.length === 0) return out;
    const rows = await this.#db.rows<{ id: string; status: string }>(
      "SELECT id, status FROM jobs WHERE id = ANY($1::text[])",
      [[...ids]],
    );
    for (const r of rows) out.set(r.id, r.status as JobStatus);
    return out;
  }

  async purge(before: number): Promise<number> {
    const res = await this.#db.query("DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1", [
      before,
    ]);
    return res.rowCount ?? 0;
  }

  async stale(before: number, limit: number): Promise<JobRecord[]> {
    const rows = await this.#db.rows<JobRow>(
      `SELECT * FROM jobs WHERE (status = 'PENDING' AND updated_at < $1) OR (status = 'RUNNING' AND lease_until < $1)
        ORDER BY CASE status WHEN 'PENDING' THEN updated_at ELSE lease_until END LIMIT $2`,
      [before, limit],
    );
    return rows.map(toRecord);
  }
}

function insertValues(job: NewJob): unknown[] {
  return [
    job.id,
    job.owner,
    JSON.stringify(job.principal),
    job.type,
    JSON.stringify(job.request),
    job.priority,
    job.runAfter,
    job.deadlineAt,
    job.maxAttempts,
    json(job.webhook),
    json(job.metadata),
    job.traceparent,
    job.tracestate,
    job.createdAt,
  ];
}

/**
 * Creates a job bound to an idempotency key, inside one transaction. Taking the key is one
 * INSERT … ON CONFLICT: of two concurrent submissions with one key, the second waits for the first
 * to commit and then finds its record (locked for the rest of this transaction).
 */
async function createBound(c: pg.PoolClient, job: NewJob, idem: JobIdempotency): Promise<CreateJobResult> {
  const scope = IDEM_SCOPE_JOBS + job.owner;
  const keyArgs = [scope, idem.key, idem.fingerprint, job.id, job.createdAt, idem.expiresAt];
  const took = await c.query(SQL.idemTake, keyArgs);
  if (took.rowCount !== 1) {
    const prev = await c.query<{ fingerprint: string; response: string | null }>(
      "SELECT fingerprint, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
      [scope, idem.key],
    );
    const rec = prev.rows[0];
    if (rec && rec.fingerprint !== idem.fingerprint) return { kind: "conflict" };
    if (rec?.response) {
      const found = await c.query<JobRow>("SELECT * FROM jobs WHERE id = $1", [rec.response]);
      if (found.rows[0]) return { kind: "existing", job: toRecord(found.rows[0]) };
    }
    // The bound job is gone (purged): the key now names the new job.
    await c.query(SQL.idemRebind, keyArgs);
  }
  await c.query(SQL.insert, insertValues(job));
  return { kind: "created", job: newJobRecord(job) };
}
