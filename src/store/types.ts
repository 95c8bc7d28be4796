/**
 * The `Store` seam: durable state (API keys now; jobs, idempotency records and the usage ledger
 * later) behind one interface with one repository per kind of record. Adapters: SQLite (embedded
 * default, `sqlite.ts`); PostgreSQL follows with the same interface and the same conformance tests.
 *
 * Every method is async so that a networked adapter fits without changing callers. Timestamps are
 * epoch milliseconds (UTC). Secrets never enter the store: a key is known only by its SHA-256 hash.
 */
import type { PrincipalLimits } from "../auth/principal.js";
import type { IdempotencyRepository, JobRepository } from "./job-types.js";

export type * from "./job-types.js";

/** Usage counted against one key since it was created. */
export interface KeyUsage {
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** When usage was last added (epoch ms), or null if never. */
  readonly lastUsedAt: number | null;
}

/** What `keys.create` needs; the id, hash and prefix come from `auth/keys.ts` (`newKeyMaterial`). */
export interface NewKey {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly hash: string;
  readonly allowedModels: readonly string[] | null;
  readonly limits: PrincipalLimits;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

/** A stored key: what was created, plus its revocation and usage. */
export interface KeyRecord extends NewKey {
  readonly revokedAt: number | null;
  readonly usage: KeyUsage;
}

/** One settled request's usage. Counts are non-negative integers. */
export interface UsageDelta {
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** One key's usage at one time, for batched writes. */
export interface UsageEntry {
  readonly keyId: string;
  readonly delta: UsageDelta;
  readonly atMs: number;
}

/** Usage summed over a time range (whole UTC days). */
export interface UsageTotals {
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

export interface KeyRepository {
  /** Inserts a key; rejects if the id or hash already exists. */
  create(key: NewKey): Promise<KeyRecord>;
  get(id: string): Promise<KeyRecord | undefined>;
  /** Looks a key up by the SHA-256 (hex) of its secret; revoked and expired keys are returned too. */
  findByHash(hash: string): Promise<KeyRecord | undefined>;
  /** Every key, oldest first. */
  list(): Promise<KeyRecord[]>;
  /**
   * Marks a key revoked at `atMs` (kept for audit and usage history). Revoking twice keeps the first
   * time. Returns the record after the change, or undefined if no key has this id.
   */
  revoke(id: string, atMs: number): Promise<KeyRecord | undefined>;
  /**
   * Adds one delta to the key's totals and to the UTC day of `atMs`, atomically (concurrent
   * callers never lose an update). Returns false if the key does not exist.
   */
  addUsage(id: string, delta: UsageDelta, atMs: number): Promise<boolean>;
  /** Many `addUsage` in one transaction (one disk sync); returns how many entries found their key. */
  addUsageBatch(entries: readonly UsageEntry[]): Promise<number>;
  /** Usage from the UTC day containing `sinceMs` up to now (for day/week/month budgets). */
  usageSince(id: string, sinceMs: number): Promise<UsageTotals>;
}

/**
 * Durable state. Further repositories (`jobs`, `idempotency`, …) are added as further readonly
 * properties, each with its own migrations; existing ones do not change.
 */
export interface Store {
  /** The adapter kind, for logs: `sqlite` (later `postgres`). */
  readonly kind: string;
  readonly keys: KeyRepository;
  /** Async jobs (migration 2). */
  readonly jobs: JobRepository;
  /** Idempotency keys of job submissions and sync calls (migration 2). */
  readonly idempotency: IdempotencyRepository;
  /** Closes connections; further calls fail. Safe to call twice. */
  close(): Promise<void>;
}
