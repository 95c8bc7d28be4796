import type { KeyRecord } from "../store/types.js";
import { keyStatus } from "./keys.js";

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
