import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { authConfigSchema, createAuthenticator } from "../../src/auth/authenticate.js";
import { keysCommand } from "../../src/cli/keys.js";
import { createStore } from "../../src/store/index.js";
import { rejectsWith } from "./_helpers.js";

const ROOT = join(import.meta.dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "switchyard-keys-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** tsx by absolute URL, so that a child running in another folder finds it. */
const TSX = import.meta.resolve("tsx");
const RUN = `import(${JSON.stringify(join(ROOT, "src", "cli", "keys.ts"))})
  .then((m) => m.keysCommand(process.argv.slice(1), process.env))
  .then((c) => process.exit(c))`;

/** `switchyard keys ARGS` as a real child process (the lead's CLI dispatch calls the same function). */
function child(args: string[], cwd = ROOT): Promise<Run> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ["--import", TSX, "-e", RUN, "--", ...args], {
      cwd,
      env: { ...process.env, SWITCHYARD_CONFIG: "" },
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    proc.on("exit", (code) => resolve({ code, out, err }));
  });
}

/** The same command in this process, output captured. */
async function inProcess(args: string[]): Promise<Run> {
  let out = "";
  let err = "";
  const code = await keysCommand(
    args,
    {},
    {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
    },
  );
  return { code, out, err };
}

describe("switchyard keys", () => {
  test("create prints the key once; list shows no secret or hash; revoke makes the key fail", async () => {
    const db = join(dir, "cli.db");
    const cwd = mkdtempSync(join(dir, "cwd-"));
    const [created, inCwd, badFlag] = await Promise.all([
      child(
        ["create", "--name", "team-a", "--models", "sim-small,sim-embed", "--rpm", "60"].concat([
          "--budget",
          "100000",
          "--expires",
          "30d",
          "--db",
          db,
        ]),
      ),
      child(["create", "--name", "here"], cwd),
      child(["create", "--name", "x", "--rpm", "ten", "--db", db]),
    ]);
    assert.equal(created.code, 0, created.err);
    const secret = created.out.trim();
    assert.match(secret, /^sk-sy-[A-Za-z0-9_-]{43}$/);
    assert.match(created.err, /shown only this once/);
    assert.equal(statSync(db).mode & 0o777, 0o600);
    assert.equal(inCwd.code, 0, inCwd.err);
    assert.ok(statSync(join(cwd, "switchyard.db")).isFile(), "default store: ./switchyard.db");
    assert.equal(badFlag.code, 2);
    assert.equal(badFlag.err.trim().split("\n").length, 1, badFlag.err);

    const json = await inProcess(["create", "--name", "b", "--json", "--db", db]);
    assert.equal(json.code, 0, json.err);
    const made = JSON.parse(json.out) as { id: string; key: string; prefix: string; status: string };
    assert.match(made.key, /^sk-sy-/);
    assert.equal(made.prefix, made.key.slice(0, 12));
    assert.equal(made.status, "active");

    const listed = await inProcess(["list", "--json", "--db", db]);
    assert.equal(listed.code, 0, listed.err);
    const rows = JSON.parse(listed.out) as Array<Record<string, unknown>>;
    assert.equal(rows.length, 2);
    const a = rows[0]!;
    assert.equal(a.name, "team-a");
    assert.deepEqual(a.models, ["sim-small", "sim-embed"]);
    assert.deepEqual(a.limits, { rpm: 60, budgetTokens: 100000, budgetPeriod: "month" });
    assert.equal(a.status, "active");
    assert.equal(a.prefix, secret.slice(0, 12));
    assert.ok(!listed.out.includes(secret.slice(12)), "list never shows the secret");
    assert.ok(!("hash" in a) && !("key" in a));
    const table = await inProcess(["list", "--db", db]);
    assert.match(table.out, /^ID +NAME +PREFIX/);
    assert.match(table.out, /team-a .*rpm=60 budget=100000\/month/);

    // The server's view of the same file: the key works, then the CLI (another process) revokes it.
    const store = await createStore({ path: db });
    const auth = createAuthenticator(authConfigSchema.parse({ mode: "keys" }), { keys: store.keys });
    const p = await auth.authenticate({ authorization: `Bearer ${secret}` });
    assert.deepEqual(p.allowedModels, ["sim-small", "sim-embed"]);
    const cfg = join(cwd, "config.json");
    writeFileSync(cfg, JSON.stringify({ models: { m: { endpoints: [{ kind: "sim" }] } } }));
    const [revoked, viaConfig] = await Promise.all([
      child(["revoke", String(a.id), "--db", db]),
      child(["list", "--json", "--config", cfg], cwd),
    ]);
    assert.equal(revoked.code, 0, revoked.err);
    assert.match(revoked.out, /^revoked key_/);
    assert.equal(viaConfig.code, 0, viaConfig.err);
    // With a config to check against, models it does not serve are named in a warning (the key is made).
    const [warned, quiet] = await Promise.all([
      child(["create", "--name", "w", "--models", "m,nope", "--config", cfg, "--json"], cwd),
      child(["create", "--name", "q", "--models", "m", "--config", cfg], cwd),
    ]);
    assert.equal(warned.code, 0, warned.err);
    assert.deepEqual((JSON.parse(warned.out) as { warnings?: string[] }).warnings, [
      "model 'nope' is not configured: the key cannot call it until the config serves it",
    ]);
    assert.match(warned.err, /^warning: model 'nope' is not configured: .* \(.*config\.json\)$/m);
    assert.equal(quiet.code, 0, quiet.err);
    assert.doesNotMatch(quiet.err, /warning/);
    assert.equal(
      (JSON.parse(viaConfig.out) as unknown[]).length,
      1,
      "--config without store: ./switchyard.db",
    );
    await new Promise((r) => setTimeout(r, 600)); // the default cache TTL is 500 ms
    await rejectsWith(auth.authenticate({ authorization: `Bearer ${secret}` }), "invalid_api_key");
    await store.close();

    const statuses = JSON.parse((await inProcess(["list", "--json", "--db", db])).out) as Array<{
      status: string;
    }>;
    assert.deepEqual(
      statuses.map((r) => r.status),
      ["revoked", "active"],
    );
    const missing = await inProcess(["revoke", "key_nope", "--db", db]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no key with id/);
  });

  test("bad flags: one line on stderr, exit 2, nothing on stdout", async () => {
    const db = join(dir, "bad.db");
    const cases = [
      ["create", "--db", db],
      ["create", "--name", "x", "--rpm", "0", "--db", db],
      ["create", "--name", "x", "--expires", "yesterday", "--db", db],
      ["create", "--name", "x", "--expires", "2001-01-01T00:00:00Z", "--db", db],
      ["create", "--name", "x", "--budget-period", "year", "--budget", "5", "--db", db],
      ["create", "--name", "x", "--budget-period", "day", "--db", db],
      ["create", "--name", "x", "--models", "a,,b", "--db", db],
      ["create", "--name", "x", "--bogus", "--db", db],
      ["revoke", "--db", db],
      ["list", "extra", "--db", db],
      ["frobnicate"],
    ];
    for (const args of cases) {
      const r = await inProcess(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
      assert.equal(r.err.trim().split("\n").length, 1, r.err);
      assert.match(r.err, /^switchyard keys: /);
      assert.equal(r.out, "");
    }
  });
});
