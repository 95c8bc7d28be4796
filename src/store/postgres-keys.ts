import { checkDelta, DAY_MS, type KeyRow, limitsJson, modelsJson, toRecord } from "./key-rows.js";
import type { PgDb } from "./postgres-db.js";
import type { KeyRecord, KeyRepository, NewKey, UsageDelta, UsageEntry, UsageTotals } from "./types.js";

/**
 * One key's totals and its day row, in one statement: the key row is locked by the UPDATE, so
 * concurrent writers to one key queue on it and none loses an update; no key, no row written.
 */
const ADD_ONE = `
  WITH k AS (
    UPDATE api_keys SET usage_requests = usage_requests + $2, usage_prompt_tokens = usage_prompt_tokens + $3,
      usage_completion_tokens = usage_completion_tokens + $4,
      last_used_at = GREATEST(COALESCE(last_used_at, 0), $5)
    WHERE id = $1 RETURNING id)
  INSERT INTO api_key_usage_daily AS d (key_id, day, requests, prompt_tokens, completion_tokens)
  SELECT id, $6, $2, $3, $4 FROM k
  ON CONFLICT (key_id, day) DO UPDATE SET requests = d.requests + excluded.requests,
    prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = d.completion_tokens + excluded.completion_tokens
  RETURNING 1`;

export class PostgresKeyRepository implements KeyRepository {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async create(key: NewKey): Promise<KeyRecord> {
    if (!/^[0-9a-f]{64}$/.test(key.hash)) throw new TypeError("hash must be 64 lower-case hex digits");
    const [row] = await this.#db.rows<KeyRow>(
      `INSERT INTO api_keys (id, name, prefix, key_hash, allowed_models, limits, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [
        key.id,
        key.name,
        key.prefix,
        key.hash,
        modelsJson(key.allowedModels),
        limitsJson(key.limits),
        key.createdAt,
        key.expiresAt,
      ],
    );
    return toRecord(row!);
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const [row] = await this.#db.rows<KeyRow>("SELECT * FROM api_keys WHERE id = $1", [id]);
    return row && toRecord(row);
  }

  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    const [row] = await this.#db.rows<KeyRow>("SELECT * FROM api_keys WHERE key_hash = $1", [hash]);
    return row && toRecord(row);
  }

  async list(): Promise<KeyRecord[]> {
    return (await this.#db.rows<KeyRow>("SELECT * FROM api_keys ORDER BY created_at, id")).map(toRecord);
  }

  async revoke(id: string, atMs: number): Promise<KeyRecord | undefined> {
    const [row] = await this.#db.rows<KeyRow>(
      "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING *",
      [atMs, id],
    );
    return row && toRecord(row);
  }

  async addUsage(id: string, delta: UsageDelta, atMs: number): Promise<boolean> {
    checkDelta(delta);
    const res = await this.#db.query(ADD_ONE, [
      id,
      delta.requests,
      delta.promptTokens,
      delta.completionTokens,
      atMs,
      Math.floor(atMs / DAY_MS),
    ]);
    return res.rowCount === 1;
  }

  /**
   * One transaction: the keys are locked in id order first, so two batches over the same keys
   * queue instead of deadlocking, then each entry is added as `addUsage` would.
   */
  async addUsageBatch(entries: readonly UsageEntry[]): Promise<number> {
    for (const e of entries) checkDelta(e.delta);
    if (entries.length === 0) return 0;
    const ids = [...new Set(entries.map((e) => e.keyId))].sort();
    return this.#db.tx(async (c) => {
      await c.query("SELECT 1 FROM api_keys WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", [ids]);
      let found = 0;
      for (const e of entries) {
        const d = e.delta;
        const day = Math.floor(e.atMs / DAY_MS);
        const res = await c.query(ADD_ONE, [
          e.keyId,
          d.requests,
          d.promptTokens,
          d.completionTokens,
          e.atMs,
          day,
        ]);
        if (res.rowCount === 1) found++;
      }
      return found;
    });
  }

  async usageSince(id: string, sinceMs: number): Promise<UsageTotals> {
    const [row] = await this.#db.rows<UsageTotals>(
      `SELECT COALESCE(SUM(requests), 0)::bigint AS "requests",
         COALESCE(SUM(prompt_tokens), 0)::bigint AS "promptTokens",
         COALESCE(SUM(completion_tokens), 0)::bigint AS "completionTokens"
       FROM api_key_usage_daily WHERE key_id = $1 AND day >= $2`,
      [id, Math.floor(sinceMs / DAY_MS)],
    );
    return row ?? { requests: 0, promptTokens: 0, completionTokens: 0 };
  }
}
