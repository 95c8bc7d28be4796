import { createPublicKey, type KeyObject } from "node:crypto";
import {
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from "jose";
import { GatewayError } from "../core/errors.js";
import { type JwtConfig, looksLikeJwt } from "./jwt-config.js";
import type { Principal, PrincipalLimits } from "./principal.js";

export {
  ASYMMETRIC_ALGORITHMS,
  HMAC_ALGORITHMS,
  type JwtAlgorithm,
  type JwtConfig,
  type JwtConfigInput,
  jwtClaimsSchema,
  jwtConfigSchema,
  looksLikeJwt,
} from "./jwt-config.js";

export interface JwtVerifierOptions {
  /** Clock (epoch ms), for tests. */
  now?: () => number;
}

function invalidToken(reason: string, cause?: unknown): GatewayError {
  return new GatewayError("invalid_api_key", `Invalid token: ${reason}`, { cause });
}

function claimFailure(err: errors.JWTClaimValidationFailed): string {
  if (err.reason === "missing") return `missing claim '${err.claim}'`;
  switch (err.claim) {
    case "aud":
      return "wrong audience";
    case "iss":
      return "wrong issuer";
    case "nbf":
      return "not yet valid";
    case "iat":
      return "too old or issued in the future";
    default:
      return `claim '${err.claim}' rejected`;
  }
}

/** jose's errors → 401 with a short reason, or 503 when the key set itself could not be fetched. */
function mapError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof errors.JWTExpired) return invalidToken("expired", err);
  if (err instanceof errors.JWTClaimValidationFailed) return invalidToken(claimFailure(err), err);
  if (err instanceof errors.JOSEAlgNotAllowed) return invalidToken("algorithm not allowed", err);
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return invalidToken("signature verification failed", err);
  if (err instanceof errors.JWKSNoMatchingKey) return invalidToken("no matching key", err);
  if (err instanceof errors.JWKSMultipleMatchingKeys) return invalidToken("ambiguous key", err);
  if (
    err instanceof errors.JWSInvalid ||
    err instanceof errors.JWTInvalid ||
    err instanceof errors.JOSENotSupported ||
    err instanceof errors.JWKInvalid
  ) {
    return invalidToken("malformed", err);
  }
  // JWKS timeouts, unreachable or broken JWKS endpoints: the caller's token may be fine.
  return new GatewayError("auth_unavailable", "the token's signing keys could not be fetched", {
    cause: err,
  });
}

function staticKeyResolver(cfg: JwtConfig): JWTVerifyGetKey {
  let key: KeyObject | Uint8Array;
  if (cfg.secret !== undefined) key = new TextEncoder().encode(cfg.secret);
  else if (cfg.publicKey !== undefined) key = createPublicKey(cfg.publicKey);
  else throw new Error("jwt config has no key source");
  return async () => key;
}

function positiveInt(name: string, value: unknown): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return value;
  throw invalidToken(`claim '${name}' must be a positive integer`);
}

function mapLimits(cfg: JwtConfig, payload: JWTPayload): PrincipalLimits {
  const names = cfg.claims.limits;
  const out: { -readonly [K in keyof PrincipalLimits]: PrincipalLimits[K] } = {};
  for (const field of ["rpm", "tpm", "maxConcurrent", "budgetTokens"] as const) {
    const claim = names[field];
    if (claim !== undefined && payload[claim] !== undefined) out[field] = positiveInt(claim, payload[claim]);
  }
  const periodClaim = names.budgetPeriod;
  if (periodClaim !== undefined && payload[periodClaim] !== undefined) {
    const p = payload[periodClaim];
    if (p !== "day" && p !== "week" && p !== "month")
      throw invalidToken(`claim '${periodClaim}' must be day, week or month`);
    out.budgetPeriod = p;
  }
  return Object.freeze(out);
}

function mapModels(claim: string, value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === "string" ? value.split(" ").filter((s) => s.length > 0) : value;
  if (!Array.isArray(list) || !list.every((m): m is string => typeof m === "string" && m.length > 0))
    throw invalidToken(`claim '${claim}' must be an array of model names or a space-separated string`);
  return Object.freeze([...list]);
}

/** Maps verified claims to a principal (`jwt:<iss>|<sub>`), by the `claims` config. */
export function principalFromClaims(cfg: JwtConfig, payload: JWTPayload): Principal {
  const c = cfg.claims;
  const sub = payload[c.subject];
  if (typeof sub !== "string" || sub.length === 0) throw invalidToken(`missing claim '${c.subject}'`);
  const models = mapModels(c.models, payload[c.models]);
  const priority = c.priority === undefined ? undefined : payload[c.priority];
  if (priority !== undefined && typeof priority !== "string")
    throw invalidToken(`claim '${c.priority}' must be a string`);
  return Object.freeze({
    id: `jwt:${payload.iss ?? ""}|${sub}`,
    kind: "jwt" as const,
    name: sub,
    ...(models === undefined ? {} : { allowedModels: models }),
    limits: mapLimits(cfg, payload),
    ...(priority === undefined ? {} : { priority }),
  });
}

/**
 * Verifies bearer JWTs: signature (JWKS URL or static key), `alg` against the allow-list, `iss`,
 * `aud`, `exp`/`nbf`/`iat` with bounded skew. Built once per config; the JWKS cache lives here.
 */
export class JwtVerifier {
  readonly #cfg: JwtConfig;
  readonly #getKey: JWTVerifyGetKey;
  readonly #now: (() => number) | undefined;

  constructor(cfg: JwtConfig, opts: JwtVerifierOptions = {}) {
    this.#cfg = cfg;
    this.#now = opts.now;
    this.#getKey =
      cfg.jwksUrl !== undefined
        ? createRemoteJWKSet(new URL(cfg.jwksUrl), {
            cacheMaxAge: cfg.jwksCacheMaxAgeMs,
            cooldownDuration: cfg.jwksCooldownMs,
            timeoutDuration: cfg.jwksTimeoutMs,
          })
        : staticKeyResolver(cfg);
  }

  /** Resolves to the token's principal, or throws `invalid_api_key` (401) / `auth_unavailable` (503). */
  async verify(token: string): Promise<Principal> {
    if (!looksLikeJwt(token)) throw invalidToken("malformed");
    const cfg = this.#cfg;
    const options: JWTVerifyOptions = {
      issuer: cfg.issuer,
      audience: cfg.audience,
      algorithms: [...cfg.algorithms],
      clockTolerance: cfg.clockSkewMs / 1000,
      requiredClaims: cfg.requireExp ? ["exp"] : [],
    };
    if (cfg.maxTokenAgeMs !== undefined) options.maxTokenAge = cfg.maxTokenAgeMs / 1000;
    if (this.#now) options.currentDate = new Date(this.#now());
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#getKey, options));
    } catch (err) {
      throw mapError(err);
    }
    return principalFromClaims(cfg, payload);
  }
}
