import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  authConfigSchema,
  checkModelAllowed,
  createAuthenticator,
  verifyAdminKey,
} from "../../src/auth/authenticate.js";
import { ANONYMOUS, type Principal } from "../../src/auth/principal.js";
import { GatewayError } from "../../src/core/errors.js";

describe("auth config", () => {
  test("defaults to mode none; strict; modes are the four listed", () => {
    const cfg = authConfigSchema.parse(undefined);
    assert.equal(cfg.mode, "none");
    assert.equal(cfg.keyCacheTtlMs, 500);
    assert.equal(authConfigSchema.safeParse({ mode: "basic" }).success, false);
    assert.equal(authConfigSchema.safeParse({ mode: "keys", extra: 1 }).success, false);
    assert.equal(authConfigSchema.safeParse({ adminKey: "short" }).success, false);
  });

  test("keys mode without a store is a wiring error found at build time", () => {
    assert.throws(() => createAuthenticator(authConfigSchema.parse({ mode: "keys" })), /key store/);
  });
});

describe("authenticate", () => {
  test("mode none: every caller is anonymous, whatever it sends", async () => {
    const auth = createAuthenticator(authConfigSchema.parse({}));
    assert.equal(await auth.authenticate({}), ANONYMOUS);
    assert.equal(await auth.authenticate({ authorization: "Bearer junk" }), ANONYMOUS);
  });
});

describe("admin key", () => {
  const adminKey = "admin-key-0123456789abcdef";

  test("verifyAdminKey is true only for the configured key", () => {
    assert.equal(verifyAdminKey(adminKey, adminKey), true);
    assert.equal(verifyAdminKey(`${adminKey}x`, adminKey), false);
    assert.equal(verifyAdminKey("a", adminKey), false);
    assert.equal(verifyAdminKey(undefined, adminKey), false);
    assert.equal(verifyAdminKey(adminKey, undefined), false);
    assert.equal(verifyAdminKey("", ""), false);
  });

  test("isAdmin reads the bearer token or x-api-key; off when no admin key is configured", () => {
    const auth = createAuthenticator(authConfigSchema.parse({ adminKey }));
    assert.equal(auth.isAdmin({ authorization: `Bearer ${adminKey}` }), true);
    assert.equal(auth.isAdmin({ "x-api-key": adminKey }), true);
    assert.equal(auth.isAdmin({ authorization: `Basic ${adminKey}` }), false);
    assert.equal(auth.isAdmin({}), false);
    const off = createAuthenticator(authConfigSchema.parse({}));
    assert.equal(off.isAdmin({ authorization: `Bearer ${adminKey}` }), false);
  });
});

describe("checkModelAllowed", () => {
  const limited: Principal = {
    id: "key:k",
    kind: "key",
    name: "k",
    allowedModels: ["sim-small"],
    limits: {},
  };

  test("passes listed models and principals without a list", () => {
    checkModelAllowed(limited, "sim-small");
    checkModelAllowed(ANONYMOUS, "anything");
  });

  test("refuses other models with 403 model_not_allowed, param model", () => {
    assert.throws(
      () => checkModelAllowed(limited, "sim-large"),
      (err: unknown) =>
        err instanceof GatewayError &&
        err.code === "model_not_allowed" &&
        err.status === 403 &&
        err.param === "model" &&
        err.message.includes("sim-large"),
    );
  });
});
