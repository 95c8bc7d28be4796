import assert from "node:assert/strict";
import { newKeyMaterial } from "../../src/auth/keys.js";
import type { PrincipalLimits } from "../../src/auth/principal.js";
import { GatewayError } from "../../src/core/errors.js";
import type { KeyRecord, KeyRepository } from "../../src/store/types.js";

export interface CreatedKey {
  secret: string;
  rec: KeyRecord;
}

export async function createKey(
  keys: KeyRepository,
  opts: { models?: string[] | null; limits?: PrincipalLimits; expiresAt?: number | null; name?: string } = {},
): Promise<CreatedKey> {
  const { secret, ...material } = newKeyMaterial();
  const rec = await keys.create({
    ...material,
    name: opts.name ?? "test-key",
    allowedModels: opts.models ?? null,
    limits: opts.limits ?? {},
    createdAt: Date.now(),
    expiresAt: opts.expiresAt ?? null,
  });
  return { secret, rec };
}

/** Asserts that the promise rejects with a GatewayError of this code (and message, if given). */
export async function rejectsWith(p: unknown, code: string, message?: RegExp): Promise<GatewayError> {
  let caught: unknown;
  // An answer given without a promise (a cached principal) is a success, so it fails this check.
  await assert.rejects(Promise.resolve(p), (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof GatewayError, `expected GatewayError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

/** A repository that delegates to `keys` except for `findByHash`. */
export function withFindByHash(
  keys: KeyRepository,
  findByHash: (hash: string) => Promise<KeyRecord | undefined>,
): KeyRepository {
  return {
    create: (k) => keys.create(k),
    get: (id) => keys.get(id),
    findByHash,
    list: () => keys.list(),
    revoke: (id, at) => keys.revoke(id, at),
    addUsage: (id, d, at) => keys.addUsage(id, d, at),
    addUsageBatch: (e) => keys.addUsageBatch(e),
    usageSince: (id, since) => keys.usageSince(id, since),
  };
}
