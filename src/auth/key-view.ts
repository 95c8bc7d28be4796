import type { KeyRecord } from "../store/types.js";
import { keyStatus } from "./keys.js";

/**
 * Warnings for an allow-list naming models the config does not serve (yet): such a key is kept, as a
 * reload may add the model, but a typo would otherwise go unnoticed until a call is refused.
 */
export function unconfiguredModelWarnings(
  models: readonly string[] | null | undefined,
  configured: Iterable<string>,
): string[] {
  if (!models) return [];
  const known = new Set(configured);
  return models
    .filter((m) => !known.has(m))
    .map((m) => `model '${m}' is not configured: the key cannot call it until the config serves it`);
}

/** What the CLI and the admin API show of a key: never the secret or its hash. */
export function keyView(rec: KeyRecord, nowMs: number) {
  return {
    id: rec.id,
    name: rec.name,
    prefix: rec.prefix,
    models: rec.allowedModels,
    limits: rec.limits,
    createdAt: new Date(rec.createdAt).toISOString(),
    expiresAt: rec.expiresAt === null ? null : new Date(rec.expiresAt).toISOString(),
    revokedAt: rec.revokedAt === null ? null : new Date(rec.revokedAt).toISOString(),
    status: keyStatus(rec, nowMs),
    usage: {
      requests: rec.usage.requests,
      promptTokens: rec.usage.promptTokens,
      completionTokens: rec.usage.completionTokens,
      lastUsedAt: rec.usage.lastUsedAt === null ? null : new Date(rec.usage.lastUsedAt).toISOString(),
    },
  };
}
