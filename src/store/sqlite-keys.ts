import type Database from "better-sqlite3";
import { checkDelta, DAY_MS, type KeyRow, limitsJson, modelsJson, toRecord } from "./key-rows.js";
import type { KeyRecord, KeyRepository, NewKey, UsageDelta, UsageEntry, UsageTotals } from "./types.js";

export class SqliteKeyRepository implements KeyRepository {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #byId: Database.Statement<[string], KeyRow>;
  readonly #byHash: Database.Statement<[string], KeyRow>;
  readonly #all: Database.Statement<[], KeyRow>;
  readonly #revoke: Database.Statement;
  readonly #addTotals: Database.Statement;
  readonly #addDaily: Database.Statement;
  readonly #since: Database.Statement<[string, number], UsageTotals>;
  readonly #addUsageTx: (id: string, d: UsageDelta, atMs: number) => boolean;
  readonly #addBatchTx: (entries: readonly UsageEntry[]) => number;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT INTO api_keys (id, name, prefix, key_hash, allowed_models, limits, created_at, expires_at)
       VALUES (@id, @name, @prefix, @hash, @models, @limits, @createdAt, @expiresAt)`,
    );
    this.#byId = db.prepare("SELECT * FROM api_keys WHERE id = ?");
    this.#byHash = db.prepare("SELECT * FROM api_keys WHERE key_hash = ?");
    this.#all = db.prepare("SELECT * FROM api_keys ORDER BY created_at, id");
    this.#revoke = db.prepare("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?");
    this.#addTotals = db.prepare(
      `UPDATE api_keys SET usage_requests = usage_requests + ?, usage_prompt_tokens = usage_prompt_tokens + ?,
         usage_completion_tokens = usage_completion_tokens + ?, last_used_at = MAX(COALESCE(last_used_at, 0), ?)
       WHERE id = ?`,
    );
    this.#addDaily = db.prepare(
      `INSERT INTO api_key_usage_daily (key_id, day, requests, prompt_tokens, completion_tokens)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key_id, day) DO UPDATE SET requests = requests + excluded.requests,
         prompt_tokens = prompt_tokens + excluded.prompt_tokens,
         completion_tokens = completion_tokens + excluded.completion_tokens`,
    );
    this.#since = db.prepare(
      `SELECT COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(prompt_tokens), 0) AS promptTokens,
         COALESCE(SUM(completion_tokens), 0) AS completionTokens
       FROM api_key_usage_daily WHERE key_id = ? AND day >= ?`,
    );
    const addOne = (id: string, d: UsageDelta, atMs: number): boolean => {
      const res = this.#addTotals.run(d.requests, d.promptTokens, d.completionTokens, atMs, id);
      if (res.changes === 0) return false;
      this.#addDaily.run(id, Math.floor(atMs / DAY_MS), d.requests, d.promptTokens, d.completionTokens);
      return true;
    };
    const tx = db.transaction(addOne);
    this.#addUsageTx = (id, d, atMs) => tx.immediate(id, d, atMs);
    const batch = db.transaction((entries: readonly UsageEntry[]): number => {
      let found = 0;
      for (const e of entries) if (addOne(e.keyId, e.delta, e.atMs)) found++;
      return found;
    });
    this.#addBatchTx = (entries) => batch.immediate(entries);
  }

  async create(key: NewKey): Promise<KeyRecord> {
    if (!/^[0-9a-f]{64}$/.test(key.hash)) throw new TypeError("hash must be 64 lower-case hex digits");
    this.#insert.run({
      id: key.id,
      name: key.name,
      prefix: key.prefix,
      hash: key.hash,
      models: modelsJson(key.allowedModels),
      limits: limitsJson(key.limits),
      createdAt: key.createdAt,
      expiresAt: key.expiresAt,
    });
    return toRecord(this.#byId.get(key.id)!);
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const row = this.#byId.get(id);
    return row && toRecord(row);
  }

  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    const row = this.#byHash.get(hash);
    return row && toRecord(row);
  }

  async list(): Promise<KeyRecord[]> {
    return this.#all.all().map(toRecord);
  }

  async revoke(id: string, atMs: number): Promise<KeyRecord | undefined> {
    this.#revoke.run(atMs, id);
    return this.get(id);
  }

  async addUsage(id: string, delta: UsageDelta, atMs: number): Promise<boolean> {
    checkDelta(delta);
    return this.#addUsageTx(id, delta, atMs);
  }

  async addUsageBatch(entries: readonly UsageEntry[]): Promise<number> {
    for (const e of entries) checkDelta(e.delta);
    return entries.length === 0 ? 0 : this.#addBatchTx(entries);
  }

  async usageSince(id: string, sinceMs: number): Promise<UsageTotals> {
    const row = this.#since.get(id, Math.floor(sinceMs / DAY_MS));
    return row ?? { requests: 0, promptTokens: 0, completionTokens: 0 };
  }

  /** For tests and diagnostics: the connection is still open. */
  get open(): boolean {
    return this.#db.open;
  }
}
