/**
 * The `api_keys` table's row as both SQL stores read it (the same columns in SQLite and PostgreSQL),
 * the mapping of a row to the `KeyRecord` the rest of Switchyard sees, the JSON written into its
 * text columns, and the checks every usage write makes first.
 */
import { z } from "zod";
import type { PrincipalLimits } from "../auth/principal.js";
import type { KeyRecord, UsageDelta } from "./types.js";

/** Usage is kept per key and UTC day: `day` is `floor(epochMs / DAY_MS)`. */
export const DAY_MS = 86_400_000;

export interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  key_hash: string;
  allowed_models: string | null;
  limits: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  usage_requests: number;
  usage_prompt_tokens: number;
  usage_completion_tokens: number;
  last_used_at: number | null;
}

const limitsSchema = z.object({
  rpm: z.number().optional(),
  tpm: z.number().optional(),
  maxConcurrent: z.number().optional(),
  budgetTokens: z.number().optional(),
  budgetPeriod: z.enum(["day", "week", "month"]).optional(),
});
const modelsSchema = z.array(z.string());

export function toRecord(row: KeyRow): KeyRecord {
  const limits: PrincipalLimits = limitsSchema.parse(JSON.parse(row.limits));
  const models = row.allowed_models === null ? null : modelsSchema.parse(JSON.parse(row.allowed_models));
  return Object.freeze({
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    hash: row.key_hash,
    allowedModels: models === null ? null : Object.freeze(models),
    limits: Object.freeze(limits),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    usage: Object.freeze({
      requests: row.usage_requests,
      promptTokens: row.usage_prompt_tokens,
      completionTokens: row.usage_completion_tokens,
      lastUsedAt: row.last_used_at,
    }),
  });
}

/** Only what a limit needs is kept: undefined fields are dropped so the JSON stays small. */
export function limitsJson(limits: PrincipalLimits): string {
  return JSON.stringify(limitsSchema.parse(limits));
}

/** The `allowed_models` column: NULL for every model. */
export function modelsJson(models: readonly string[] | null): string | null {
  return models === null ? null : JSON.stringify(models);
}

/** Every count of a usage delta must be a non-negative safe integer (RangeError otherwise). */
export function checkDelta(d: UsageDelta): void {
  for (const [name, n] of [
    ["requests", d.requests],
    ["promptTokens", d.promptTokens],
    ["completionTokens", d.completionTokens],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer`);
  }
}
