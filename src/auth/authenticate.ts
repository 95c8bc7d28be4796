import { createHash, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { GatewayError } from "../core/errors.js";
import type { KeyRepository } from "../store/types.js";
import type { JwtVerifier } from "./jwt.js";
import { jwtConfigSchema, looksLikeJwt } from "./jwt-config.js";
import {
  INVALID_KEY_MESSAGE,
  KEY_PREFIX,
  KeyAuthenticator,
  type KeyMemo,
  MAX_KEY_CACHE_TTL_MS,
} from "./keys.js";
import { ANONYMOUS, type Principal } from "./principal.js";

export const AUTH_MODES = ["none", "keys", "jwt", "keys,jwt"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

const authObjectSchema = z
  .object({
    /** `none` (every caller is anonymous), `keys`, `jwt`, or `keys,jwt` (either, told apart by shape). */
    mode: z.enum(AUTH_MODES).default("none"),
    /** Guards the admin API (`/admin/…`); write `${SWITCHYARD_ADMIN_KEY}`, never a literal. Unset = admin API off. */
    adminKey: z.string().min(16).optional(),
    /** How long a key lookup (found or not) is reused; a revocation takes effect within this time. */
    keyCacheTtlMs: z.number().int().min(0).max(MAX_KEY_CACHE_TTL_MS).default(500),
    keyCacheMaxEntries: z.number().int().positive().max(1_000_000).default(10_000),
    jwt: jwtConfigSchema.optional(),
  })
  .strict();

/** `auth:` in the config. Mount as `auth: authConfigSchema` (the block may be left out: mode none). */
export const authConfigSchema = authObjectSchema
  .superRefine((cfg, ctx) => {
    if (cfg.mode.includes("jwt") && cfg.jwt === undefined)
      ctx.addIssue({ code: "custom", path: ["jwt"], message: `mode '${cfg.mode}' needs an auth.jwt block` });
  })
  .prefault({});

export type AuthConfig = z.infer<typeof authConfigSchema>;
export type AuthConfigInput = z.input<typeof authConfigSchema>;

/** The request headers auth reads (Node's `IncomingHttpHeaders` fits; gRPC metadata can be mapped). */
export interface AuthHeaders {
  readonly authorization?: string | readonly string[];
  readonly "x-api-key"?: string | readonly string[];
}

export interface Authenticator {
  readonly mode: AuthMode;
  /**
   * The caller's principal, or a promise of it that rejects with `invalid_api_key` (401) /
   * `auth_unavailable` (503). A principal known without waiting (no auth, a cached key) comes back
   * without a promise. Never throws. `memo`: the connection's last key (see `KeyMemo`), when the
   * caller keeps one per connection.
   */
  authenticate(headers: AuthHeaders, memo?: KeyMemo): Principal | Promise<Principal>;
  /** True when an admin key is configured and the request presents it (bearer or `x-api-key`). */
  isAdmin(headers: AuthHeaders): boolean;
}

export interface AuthDeps {
  /** Needed when the mode includes `keys`: the store's key repository. */
  keys?: KeyRepository;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
}

function invalid(): GatewayError {
  return new GatewayError("invalid_api_key", INVALID_KEY_MESSAGE);
}

/** The token verifier's module did not load: the token may be fine, so 503 rather than 401. */
function loadFailed(err: unknown): never {
  throw new GatewayError("auth_unavailable", "the token verifier could not be loaded", { cause: err });
}

function single(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined || typeof value === "string") return value;
  if (value.length === 1) return value[0];
  throw invalid(); // repeated credential headers are ambiguous: refuse rather than guess
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/** The presented credential: `Authorization: Bearer X`, else `x-api-key: X`; undefined when neither is sent. */
export function presentedCredential(headers: AuthHeaders): string | undefined {
  const auth = single(headers.authorization);
  if (auth !== undefined) {
    const m = BEARER.exec(auth);
    if (!m) throw invalid();
    return m[1];
  }
  const key = single(headers["x-api-key"]);
  return key === undefined ? undefined : key.trim();
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Constant-time check of an admin key: both sides are hashed first, so lengths leak nothing either. */
export function verifyAdminKey(presented: string | undefined, configured: string | undefined): boolean {
  if (!configured || !presented) return false;
  return timingSafeEqual(sha256(presented), sha256(configured));
}

/** Throws `model_not_allowed` (403, param `model`) when the principal's allow-list excludes the model. */
export function checkModelAllowed(principal: Principal, model: string): void {
  const allowed = principal.allowedModels;
  if (allowed === undefined || allowed.includes(model)) return;
  throw new GatewayError(
    "model_not_allowed",
    `The model '${model}' is not allowed for this ${principal.kind === "jwt" ? "token" : "API key"}`,
    { param: "model" },
  );
}

/** Builds the one authenticator every front door (HTTP, gRPC, job submission) calls. */
export function createAuthenticator(cfg: AuthConfig, deps: AuthDeps = {}): Authenticator {
  const mode = cfg.mode;
  let keys: KeyAuthenticator | undefined;
  if (mode.includes("keys")) {
    if (!deps.keys) throw new Error(`auth mode '${mode}' needs a key store`);
    keys = new KeyAuthenticator(deps.keys, {
      cacheTtlMs: cfg.keyCacheTtlMs,
      cacheMaxEntries: cfg.keyCacheMaxEntries,
      ...(deps.now ? { now: deps.now } : {}),
    });
  }
  let jwt: Promise<JwtVerifier> | undefined;
  if (mode.includes("jwt")) {
    if (!cfg.jwt) throw new Error(`auth mode '${mode}' needs auth.jwt`);
    const jwtConfig = cfg.jwt;
    const opts = deps.now ? { now: deps.now } : {};
    // The verifier's library (jose, a few hundred modules) loads only where tokens are accepted,
    // starting now; a token that arrives before it has loaded waits for it. The config was checked
    // by its schema (keys parse, URLs are URLs), so building the verifier does not fail here.
    jwt = import("./jwt.js").then(({ JwtVerifier }) => new JwtVerifier(jwtConfig, opts));
    jwt.catch(() => {}); // a failed load is answered to the tokens that wait for it
  }
  const adminKey = cfg.adminKey;
  return {
    mode,
    authenticate(headers: AuthHeaders, memo?: KeyMemo): Principal | Promise<Principal> {
      if (mode === "none") return ANONYMOUS;
      let credential: string | undefined;
      try {
        credential = presentedCredential(headers);
      } catch (err) {
        return Promise.reject(err);
      }
      if (!credential) return Promise.reject(invalid());
      if (keys && credential.startsWith(KEY_PREFIX)) return keys.authenticate(credential, memo);
      if (jwt && looksLikeJwt(credential)) {
        const token = credential;
        return jwt.then((v) => v.verify(token), loadFailed);
      }
      return Promise.reject(invalid());
    },
    isAdmin(headers: AuthHeaders): boolean {
      if (adminKey === undefined) return false;
      let credential: string | undefined;
      try {
        credential = presentedCredential(headers);
      } catch {
        return false;
      }
      return verifyAdminKey(credential, adminKey);
    },
  };
}
