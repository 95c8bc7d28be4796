import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { authConfigSchema, createAuthenticator } from "../../src/auth/authenticate.js";
import { type JwtConfigInput, JwtVerifier, jwtConfigSchema } from "../../src/auth/jwt.js";
import { createStore } from "../../src/store/index.js";
import { createKey, rejectsWith } from "./_helpers.js";

const ISS = "https://issuer.test";
const AUD = "switchyard";

interface Signer {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  pem: string;
}

async function makeSigner(kid: string, alg: "RS256" | "ES256"): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicJwk, pem: await exportSPKI(publicKey) };
}

function sign(
  signer: Signer,
  claims: JWTPayload = {},
  opts: { exp?: number; nbf?: number; iss?: string; aud?: string; kid?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ sub: "user-1", ...claims })
    .setProtectedHeader({ alg: signer.alg, kid: opts.kid ?? signer.kid, typ: "JWT" })
    .setIssuer(opts.iss ?? ISS)
    .setAudience(opts.aud ?? AUD)
    .setIssuedAt(now)
    .setExpirationTime(opts.exp ?? now + 300);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(signer.privateKey);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

// A local JWKS server whose key list the tests change, counting fetches.
let server: Server;
let jwksUrl: string;
let jwksKeys: JWK[] = [];
let fetches = 0;
let rsa: Signer;
let ec: Signer;
let rotated: Signer;

before(async () => {
  [rsa, ec, rotated] = await Promise.all([
    makeSigner("rsa-1", "RS256"),
    makeSigner("ec-1", "ES256"),
    makeSigner("rsa-2", "RS256"),
  ]);
  jwksKeys = [rsa.publicJwk, ec.publicJwk];
  server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: jwksKeys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function jwksConfig(extra: Partial<JwtConfigInput> = {}): JwtConfigInput {
  return {
    issuer: ISS,
    audience: AUD,
    algorithms: ["RS256", "ES256"],
    jwksUrl,
    jwksCooldownMs: 300,
    claims: {
      models: "models",
      priority: "tier",
      limits: {
        rpm: "rpm",
        tpm: "tpm",
        maxConcurrent: "conc",
        budgetTokens: "budget",
        budgetPeriod: "period",
      },
    },
    ...extra,
  };
}

const verifier = (extra: Partial<JwtConfigInput> = {}) =>
  new JwtVerifier(jwtConfigSchema.parse(jwksConfig(extra)));

describe("JWT with a JWKS URL", () => {
  test("a valid token is accepted and mapped to its principal (models, limits, priority)", async () => {
    const v = verifier();
    const token = await sign(rsa, {
      models: ["sim-small", "sim-embed"],
      rpm: 60,
      tpm: 10_000,
      conc: 4,
      budget: 1_000_000,
      period: "month",
      tier: "gold",
    });
    assert.deepEqual(await v.verify(token), {
      id: `jwt:${ISS}|user-1`,
      kind: "jwt",
      name: "user-1",
      allowedModels: ["sim-small", "sim-embed"],
      limits: { rpm: 60, tpm: 10_000, maxConcurrent: 4, budgetTokens: 1_000_000, budgetPeriod: "month" },
      priority: "gold",
    });
    const ecPrincipal = await v.verify(await sign(ec, { models: "sim-small  sim-large" }));
    assert.deepEqual(ecPrincipal.allowedModels, ["sim-small", "sim-large"]);
    assert.deepEqual(ecPrincipal.limits, {});
    assert.equal((await v.verify(await sign(rsa))).allowedModels, undefined, "no models claim = every model");
  });

  test("expired, wrong audience, wrong issuer, not yet valid: 401 invalid_api_key with the reason", async () => {
    const v = verifier();
    const now = Math.floor(Date.now() / 1000);
    await rejectsWith(v.verify(await sign(rsa, {}, { exp: now - 60 })), "invalid_api_key", /expired/);
    await rejectsWith(v.verify(await sign(rsa, {}, { aud: "other" })), "invalid_api_key", /audience/);
    await rejectsWith(
      v.verify(await sign(rsa, {}, { iss: "https://evil.test" })),
      "invalid_api_key",
      /issuer/,
    );
    await rejectsWith(v.verify(await sign(rsa, {}, { nbf: now + 120 })), "invalid_api_key", /not yet valid/);
  });

  test("clock skew: within the configured bound accepted, beyond it rejected", async () => {
    const now = Math.floor(Date.now() / 1000);
    const v = verifier(); // default 30 s
    await v.verify(await sign(rsa, {}, { exp: now - 20 }));
    await v.verify(await sign(rsa, {}, { nbf: now + 20 }));
    await rejectsWith(v.verify(await sign(rsa, {}, { exp: now - 40 })), "invalid_api_key", /expired/);
    const strict = verifier({ clockSkewMs: 0 });
    await rejectsWith(strict.verify(await sign(rsa, {}, { exp: now - 2 })), "invalid_api_key", /expired/);
    assert.equal(jwtConfigSchema.safeParse(jwksConfig({ clockSkewMs: 301_000 })).success, false);
  });

  test("alg none is refused", async () => {
    const v = verifier();
    const now = Math.floor(Date.now() / 1000);
    const payload = { sub: "admin", iss: ISS, aud: AUD, exp: now + 300 };
    for (const header of [{ alg: "none" }, { alg: "none", kid: "rsa-1" }, { alg: "NONE", typ: "JWT" }]) {
      await rejectsWith(v.verify(`${b64(header)}.${b64(payload)}.`), "invalid_api_key");
    }
  });

  test("HS256 signed with the RSA public key (key confusion) is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const forge = (secret: string) =>
      new SignJWT({ sub: "admin" })
        .setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
        .setIssuer(ISS)
        .setAudience(AUD)
        .setExpirationTime(now + 300)
        .sign(new TextEncoder().encode(secret));
    await rejectsWith(verifier().verify(await forge(rsa.pem)), "invalid_api_key", /algorithm/);
    const staticKey = new JwtVerifier(
      jwtConfigSchema.parse({ issuer: ISS, audience: AUD, algorithms: ["RS256"], publicKey: rsa.pem }),
    );
    await rejectsWith(staticKey.verify(await forge(rsa.pem)), "invalid_api_key", /algorithm/);
    assert.equal((await staticKey.verify(await sign(rsa))).name, "user-1");
  });

  test("a tampered payload is refused", async () => {
    const v = verifier();
    const token = await sign(rsa, { models: ["sim-small"] });
    const [h, , s] = token.split(".");
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as JWTPayload;
    const forged = `${h}.${b64({ ...claims, models: ["*"], sub: "admin" })}.${s}`;
    await rejectsWith(v.verify(forged), "invalid_api_key", /signature/);
    await rejectsWith(v.verify(`${token.slice(0, -4)}AAAA`), "invalid_api_key");
  });

  test("unknown kid: the JWKS is fetched again once, rate-limited by the cooldown; a rotated key then works", async () => {
    const v = verifier({ jwksCooldownMs: 400 });
    const before = fetches;
    await v.verify(await sign(rsa));
    assert.equal(fetches - before, 1, "first use fetches the key set");
    const unknown = await sign(rotated); // kid rsa-2 is not published yet
    await rejectsWith(v.verify(unknown), "invalid_api_key", /no matching key/);
    assert.equal(fetches - before, 1, "no refetch inside the cooldown");
    await sleep(450);
    await rejectsWith(v.verify(unknown), "invalid_api_key", /no matching key/);
    assert.equal(fetches - before, 2, "refetched once for the unknown kid after the cooldown");
    for (let i = 0; i < 20; i++) await rejectsWith(v.verify(unknown), "invalid_api_key");
    assert.equal(fetches - before, 2, "not refetched on every request");
    jwksKeys = [rsa.publicJwk, ec.publicJwk, rotated.publicJwk];
    await sleep(450);
    assert.equal((await v.verify(unknown)).name, "user-1");
    assert.equal(fetches - before, 3);
    await v.verify(await sign(rotated));
    assert.equal(fetches - before, 3, "known keys are served from the cache");
  });

  test("bad claims are refused rather than ignored", async () => {
    const v = verifier();
    await rejectsWith(v.verify(await sign(rsa, { rpm: "lots" })), "invalid_api_key", /rpm/);
    await rejectsWith(v.verify(await sign(rsa, { rpm: 0 })), "invalid_api_key", /rpm/);
    await rejectsWith(v.verify(await sign(rsa, { period: "year", budget: 5 })), "invalid_api_key", /period/);
    await rejectsWith(v.verify(await sign(rsa, { models: [1, 2] })), "invalid_api_key", /models/);
    await rejectsWith(v.verify(await sign(rsa, { sub: undefined })), "invalid_api_key", /sub/);
    const noExp = await new SignJWT({ sub: "u" })
      .setProtectedHeader({ alg: "RS256", kid: "rsa-1" })
      .setIssuer(ISS)
      .setAudience(AUD)
      .sign(rsa.privateKey);
    await rejectsWith(v.verify(noExp), "invalid_api_key", /exp/);
  });

  test("an unreachable JWKS URL gives 503 auth_unavailable, not 401", async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, "127.0.0.1", resolve));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const v = verifier({ jwksUrl: `http://127.0.0.1:${port}/jwks`, jwksTimeoutMs: 1000 });
    const err = await rejectsWith(v.verify(await sign(rsa)), "auth_unavailable");
    assert.equal(err.status, 503);
  });
});

describe("JWT with a static key and config rules", () => {
  test("HS256 with a secret: accepted when signed with it, RS256 tokens refused", async () => {
    const secret = "s".repeat(40);
    const v = new JwtVerifier(
      jwtConfigSchema.parse({ issuer: ISS, audience: AUD, algorithms: ["HS256"], secret }),
    );
    const token = await new SignJWT({ sub: "svc" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(secret));
    assert.equal((await v.verify(token)).id, `jwt:${ISS}|svc`);
    await rejectsWith(v.verify(await sign(rsa)), "invalid_api_key", /algorithm/);
  });

  test("the schema refuses none, HS/RS mixes, two key sources and short secrets", () => {
    const base = { issuer: ISS, audience: AUD };
    const bad = [
      { ...base, algorithms: ["none"], jwksUrl },
      { ...base, algorithms: ["RS256", "HS256"], jwksUrl },
      { ...base, algorithms: ["HS256"], publicKey: rsa.pem },
      { ...base, algorithms: ["RS256"], secret: "x".repeat(40) },
      { ...base, algorithms: ["HS256", "RS256"], secret: "x".repeat(40) },
      { ...base, algorithms: ["RS256"], jwksUrl, publicKey: rsa.pem },
      { ...base, algorithms: ["RS256"] },
      { ...base, algorithms: ["HS256"], secret: "short" },
      { ...base, algorithms: ["RS256"], publicKey: "not a pem" },
      { ...base, algorithms: [], jwksUrl },
      { ...base, algorithms: ["RS256"], jwksUrl: "file:///etc/keys" },
    ];
    for (const cfg of bad) assert.equal(jwtConfigSchema.safeParse(cfg).success, false, JSON.stringify(cfg));
    assert.equal(authConfigSchema.safeParse({ mode: "jwt" }).success, false, "mode jwt needs auth.jwt");
  });
});

describe("keys,jwt mode", () => {
  test("a key and a token are told apart by shape; each is verified its own way", async () => {
    const store = await createStore({ path: ":memory:" });
    const { secret, rec } = await createKey(store.keys);
    const auth = createAuthenticator(authConfigSchema.parse({ mode: "keys,jwt", jwt: jwksConfig() }), {
      keys: store.keys,
    });
    assert.equal((await auth.authenticate({ authorization: `Bearer ${secret}` })).id, `key:${rec.id}`);
    const token = await sign(rsa);
    assert.equal((await auth.authenticate({ authorization: `Bearer ${token}` })).kind, "jwt");
    await rejectsWith(auth.authenticate({ authorization: "Bearer something-else" }), "invalid_api_key");
    await rejectsWith(auth.authenticate({}), "invalid_api_key");
    await store.close();
  });
});
