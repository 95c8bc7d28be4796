import { createPublicKey } from "node:crypto";
import { z } from "zod";

export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;
export type JwtAlgorithm = (typeof HMAC_ALGORITHMS)[number] | (typeof ASYMMETRIC_ALGORITHMS)[number];

const nonEmpty = z.string().min(1);
const oneOrMany = z.union([nonEmpty, z.array(nonEmpty).min(1)]);
const claimName = z.string().min(1).max(256);

/** Which claims hold what. Names are top-level claim names (a URL-style name like `https://x/models` works). */
export const jwtClaimsSchema = z
  .object({
    /** The principal's subject; the principal id is `jwt:<iss>|<subject>`. */
    subject: claimName.default("sub"),
    /** Allowed models: an array of names or one space-separated string. Absent in a token = every model. */
    models: claimName.default("models"),
    /** Admission priority class (a string claim); optional. */
    priority: claimName.optional(),
    /** Claims holding limits; a limit whose claim is not named here (or absent in a token) is not set. */
    limits: z
      .object({
        rpm: claimName.optional(),
        tpm: claimName.optional(),
        maxConcurrent: claimName.optional(),
        budgetTokens: claimName.optional(),
        budgetPeriod: claimName.optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const jwtObjectSchema = z
  .object({
    /** Accepted `iss` value(s); required in every token. */
    issuer: oneOrMany,
    /** Accepted `aud` value(s); required in every token. */
    audience: oneOrMany,
    /** Accepted `alg` values. Never `none`; HMAC (HS*) only with `secret`, the others only with a public key. */
    algorithms: z.array(z.enum([...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS])).min(1),
    /** Leeway for `exp`, `nbf` and `iat` against this host's clock. */
    clockSkewMs: z.number().int().min(0).max(300_000).default(30_000),
    /** Tokens must carry `exp` (recommended; turn off only for a trusted issuer of long-lived tokens). */
    requireExp: z.boolean().default(true),
    /** Reject tokens whose `iat` is older than this (requires `iat`). */
    maxTokenAgeMs: z.number().int().positive().optional(),
    /** JSON Web Key Set URL (the issuer's `jwks_uri`). */
    jwksUrl: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), { message: "must be an http:// or https:// URL" })
      .optional(),
    /** Keys fetched from `jwksUrl` are reused this long before a refetch. */
    jwksCacheMaxAgeMs: z.number().int().positive().default(600_000),
    /** At least this long between two fetches caused by an unknown `kid` (rate limit on refresh). */
    jwksCooldownMs: z.number().int().min(0).default(30_000),
    jwksTimeoutMs: z.number().int().positive().max(60_000).default(5_000),
    /** A PEM public key (`-----BEGIN PUBLIC KEY-----`) for RS*, PS*, ES* or EdDSA tokens. */
    publicKey: z.string().min(1).optional(),
    /** The shared secret for HS* tokens, at least 32 bytes; write `${ENV_VAR}`, never a literal. */
    secret: z.string().min(32).optional(),
    claims: jwtClaimsSchema.prefault({}),
  })
  .strict();

type JwtObject = z.infer<typeof jwtObjectSchema>;

function checkKeySource(cfg: JwtObject, ctx: z.RefinementCtx): void {
  const sources = [cfg.jwksUrl, cfg.publicKey, cfg.secret].filter((s) => s !== undefined).length;
  if (sources !== 1) {
    ctx.addIssue({ code: "custom", path: [], message: "set exactly one of jwksUrl, publicKey, secret" });
    return;
  }
  const hmac = cfg.algorithms.filter((a) => (HMAC_ALGORITHMS as readonly string[]).includes(a));
  if (cfg.secret !== undefined && hmac.length !== cfg.algorithms.length) {
    ctx.addIssue({
      code: "custom",
      path: ["algorithms"],
      message: "with a secret only HS256, HS384 or HS512 may be listed (no HS/RS confusion)",
    });
  }
  if (cfg.secret === undefined && hmac.length > 0) {
    ctx.addIssue({
      code: "custom",
      path: ["algorithms"],
      message: `${hmac.join(", ")} need a secret; with jwksUrl or publicKey list only asymmetric algorithms`,
    });
  }
  if (cfg.publicKey !== undefined) {
    try {
      const key = createPublicKey(cfg.publicKey);
      if (key.type !== "public") throw new Error("not a public key");
    } catch {
      ctx.addIssue({ code: "custom", path: ["publicKey"], message: "not a PEM public key" });
    }
  }
}

/** `auth.jwt`: how bearer JWTs are verified and mapped to a principal. */
export const jwtConfigSchema = jwtObjectSchema.superRefine(checkKeySource);

export type JwtConfig = z.infer<typeof jwtConfigSchema>;
export type JwtConfigInput = z.input<typeof jwtConfigSchema>;

/** Three base64url segments (the signature may be empty, as in `alg: none`, which is then refused). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

/** Whether a bearer credential has a JWT's shape (checked before any verification). */
export function looksLikeJwt(text: string): boolean {
  return text.length <= MAX_TOKEN_LENGTH && JWT_SHAPE.test(text);
}
