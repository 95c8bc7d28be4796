import { hash, randomBytes } from "node:crypto";
import { GatewayError } from "../core/errors.js";
import type { KeyRecord, KeyRepository } from "../store/types.js";
import type { Principal } from "./principal.js";

/** Every Switchyard key starts with this; the rest is base64url of 32 random bytes (43 characters). */
export const KEY_PREFIX = "sk-sy-";
/** Characters of the secret kept for display (`sk-sy-` + 6). */
export const DISPLAY_PREFIX_LENGTH = 12;
const KEY_SHAPE = /^sk-sy-[A-Za-z0-9_-]{43}$/;
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** The one message for every key failure: it does not say whether the key was unknown, revoked or expired. */
export const INVALID_KEY_MESSAGE = "Invalid or missing API key";

export interface KeyMaterial {
  /** The secret: shown once, never stored. */
  readonly secret: string;
  readonly id: string;
  readonly prefix: string;
  /** SHA-256 of the secret, hex: the only form the store keeps. */
  readonly hash: string;
}

/** SHA-256 of a key secret as lower-case hex. */
export function hashApiKey(secret: string): string {
  return hash("sha256", secret, "hex");
}

/** `key_` + 24 base32 characters (120 random bits). */
export function newKeyId(): string {
  const bytes = randomBytes(24);
  let id = "key_";
  for (const b of bytes) id += ID_ALPHABET[b & 31];
  return id;
}

/** A fresh key: `sk-sy-` + base64url(32 random bytes), its id, display prefix and hash. */
export function newKeyMaterial(): KeyMaterial {
  const secret = KEY_PREFIX + randomBytes(32).toString("base64url");
  return { secret, id: newKeyId(), prefix: secret.slice(0, DISPLAY_PREFIX_LENGTH), hash: hashApiKey(secret) };
}

/** True when the text has the exact shape of a Switchyard key (cheap check before any lookup). */
export function looksLikeApiKey(text: string): boolean {
  return KEY_SHAPE.test(text);
}

/**
 * Constant-time comparison of two SHA-256 hex digests: every character is compared whatever the
 * first difference, and nothing is allocated (this runs on every authenticated request).
 */
export function hashesEqual(a: string, b: string): boolean {
  if (a.length !== 64 || b.length !== 64) return false;
  let diff = 0;
  for (let i = 0; i < 64; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The principal a key record stands for. */
export function keyPrincipal(rec: KeyRecord): Principal {
  return Object.freeze({
    id: `key:${rec.id}`,
    kind: "key" as const,
    name: rec.name,
    ...(rec.allowedModels === null ? {} : { allowedModels: rec.allowedModels }),
    limits: rec.limits,
  });
}

export function keyStatus(rec: KeyRecord, nowMs: number): "active" | "revoked" | "expired" {
  if (rec.revokedAt !== null) return "revoked";
  if (rec.expiresAt !== null && rec.expiresAt <= nowMs) return "expired";
  return "active";
}

export interface KeyAuthenticatorOptions {
  /** How long a lookup (found or not) is reused. At most 1000 ms: a revocation takes effect within it. */
  cacheTtlMs?: number;
  /** Lookups kept at most; the oldest go first. */
  cacheMaxEntries?: number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
}

interface CacheEntry {
  readonly at: number;
  readonly rec: KeyRecord | undefined;
  readonly principal: Principal | undefined;
}

export const MAX_KEY_CACHE_TTL_MS = 1_000;

/**
 * The key one connection presented last, with its lookup. A keep-alive connection nearly always
 * carries one client's key, so its next request with the same key is answered without hashing
 * (compared in constant time, with the same TTL and expiry checks as the shared cache). Held by
 * the caller, one per connection, and dropped with it; a failed check empties it.
 */
export interface KeyMemo {
  secret: string | undefined;
  digest: string;
  entry: CacheEntry | undefined;
}

export function newKeyMemo(): KeyMemo {
  return { secret: undefined, digest: "", entry: undefined };
}

/** Constant-time equality of two presented keys of the key's one length; false for any other length. */
function sameKey(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Resolves a presented key to a Principal. Lookups are cached for at most `cacheTtlMs` (≤ 1 s), so
 * with several gateways on one database a revoked key fails everywhere within that time; expiry
 * is checked against the clock on every call. Throws `invalid_api_key` for anything but a valid key.
 */
export class KeyAuthenticator {
  readonly #keys: KeyRepository;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(keys: KeyRepository, opts: KeyAuthenticatorOptions = {}) {
    this.#keys = keys;
    this.#ttlMs = opts.cacheTtlMs ?? 500;
    this.#max = opts.cacheMaxEntries ?? 10_000;
    this.#now = opts.now ?? Date.now;
    if (!(this.#ttlMs >= 0 && this.#ttlMs <= MAX_KEY_CACHE_TTL_MS))
      throw new RangeError(`cacheTtlMs must be from 0 to ${MAX_KEY_CACHE_TTL_MS}`);
    if (!(Number.isInteger(this.#max) && this.#max > 0))
      throw new RangeError("cacheMaxEntries must be a positive integer");
  }

  /**
   * The key's principal, or a promise rejected with `invalid_api_key` / `auth_unavailable`. A valid
   * key whose lookup is cached is answered in the same turn, without a promise: only a store read
   * waits. Never throws.
   */
  authenticate(secret: string, memo?: KeyMemo): Principal | Promise<Principal> {
    const now = this.#now();
    if (memo?.secret !== undefined) {
      const entry = memo.entry as CacheEntry;
      if (now - entry.at < this.#ttlMs && sameKey(memo.secret, secret)) {
        const principal = activePrincipal(entry, memo.digest, now);
        if (principal) return principal;
      }
      memo.secret = undefined;
      memo.entry = undefined;
    }
    if (!looksLikeApiKey(secret)) return Promise.reject(invalidKey());
    const digest = hashApiKey(secret);
    const hit = this.#cache.get(digest);
    if (hit && now - hit.at < this.#ttlMs) {
      const principal = activePrincipal(hit, digest, now);
      if (!principal) return Promise.reject(invalidKey());
      if (memo) remember(memo, secret, digest, hit);
      return principal;
    }
    return this.#lookup(digest, now).then((entry) => {
      const principal = activePrincipal(entry, digest, now);
      if (!principal) throw invalidKey();
      if (memo) remember(memo, secret, digest, entry);
      return principal;
    });
  }

  /** Cached lookups right now (bounded by `cacheMaxEntries`). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /** Forgets every cached lookup (after an admin change in this process, for example). */
  clearCache(): void {
    this.#cache.clear();
  }

  async #lookup(hash: string, now: number): Promise<CacheEntry> {
    let rec: KeyRecord | undefined;
    try {
      rec = await this.#keys.findByHash(hash);
    } catch (err) {
      throw new GatewayError("auth_unavailable", "the key store could not be read", { cause: err });
    }
    const entry: CacheEntry = { at: now, rec, principal: rec && keyPrincipal(rec) };
    if (this.#ttlMs > 0) {
      this.#cache.delete(hash);
      if (this.#cache.size >= this.#max) this.#evict(now);
      this.#cache.set(hash, entry);
    }
    return entry;
  }

  /** Drops stale entries; if the cache is still full, the oldest one. */
  #evict(now: number): void {
    for (const [k, v] of this.#cache) {
      if (now - v.at < this.#ttlMs) break;
      this.#cache.delete(k);
    }
    if (this.#cache.size >= this.#max) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
  }
}

function remember(memo: KeyMemo, secret: string, digest: string, entry: CacheEntry): void {
  memo.secret = secret;
  memo.digest = digest;
  memo.entry = entry;
}

/** The principal of a looked-up key; undefined when the key is unknown, revoked or expired. */
function activePrincipal(entry: CacheEntry, digest: string, now: number): Principal | undefined {
  const rec = entry.rec;
  if (!rec || !hashesEqual(rec.hash, digest) || keyStatus(rec, now) !== "active") return undefined;
  return entry.principal;
}

export function invalidKey(): GatewayError {
  return new GatewayError("invalid_api_key", INVALID_KEY_MESSAGE);
}
