import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { ConfigError, defaultConfigInput, parseConfig, substituteEnv } from "../../src/config/load.js";
import { CLI, startCli, writeTempConfig } from "../helpers/proc.js";

test("the embedded default has two chat models and one embedding model, every default filled", () => {
  const cfg = parseConfig(defaultConfigInput());
  assert.deepEqual(Object.keys(cfg.models).sort(), ["sim-embed", "sim-large", "sim-small"]);
  assert.equal(cfg.models["sim-embed"]?.type, "embedding");
  assert.equal(cfg.server.port, 8080);
  assert.equal(cfg.server.bodyLimitBytes, 4 * 1024 * 1024);
  assert.ok(Object.isFrozen(cfg.models));
});

test("${ENV} and ${ENV:-default} are substituted in values, $$ is a dollar", () => {
  const out = substituteEnv({ a: "${KEY}", b: "x-${MISSING:-dflt}", c: ["$${KEY}"], d: 5 }, { KEY: "v" });
  assert.deepEqual(out, { a: "v", b: "x-dflt", c: ["${KEY}"], d: 5 });
  assert.throws(
    () => substituteEnv({ k: { key: "${NOPE}" } }, {}),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /\$\.k\.key: environment variable NOPE is not set/);
      return true;
    },
  );
});

test("a bad config names the path, what was expected and what was found", () => {
  assert.throws(
    () =>
      parseConfig({
        server: { port: "eighty" },
        models: { m: { endpoints: [{ kind: "openai", url: "ftp://x" }, { kind: "mystery" }] } },
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.issues.join("\n");
      assert.match(text, /server\.port: .*expected number.*got "eighty"/);
      assert.match(text, /models\.m\.endpoints\[0\]\.url: must be an http:\/\/ or https:\/\/ URL/);
      assert.match(text, /models\.m\.endpoints\[1\]\.kind/);
      return true;
    },
  );
  assert.throws(() => parseConfig({ models: {} }), /at least one model/);
  assert.throws(
    () => parseConfig({ modles: {}, models: { m: { endpoints: [{ kind: "sim" }] } } }),
    /unknown key\(s\) modles/,
  );
});

test("switchyard config check: exit 0 with the resolved config, exit 2 with a precise message", () => {
  const good = writeTempConfig(
    "models:\n  m:\n    endpoints:\n      - kind: openai\n        url: ${UP:-http://127.0.0.1:9000/v1}\n        apiKey: ${KEY}\n",
  );
  const ok = spawnSync(process.execPath, [CLI, "config", "check", good], {
    env: { ...process.env, KEY: "sk-secret-1" },
    encoding: "utf8",
  });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /url: http:\/\/127\.0\.0\.1:9000\/v1/);
  assert.match(ok.stdout, /bodyLimitBytes: 4194304/);
  assert.ok(!ok.stdout.includes("sk-secret-1"), "secrets are not printed");

  const bad = writeTempConfig("server:\n  port: -1\nmodels:\n  m:\n    endpoints: []\n");
  const r = spawnSync(process.execPath, [CLI, "config", "check", bad], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /server\.port: .*got number -1/);
  assert.match(r.stderr, /models\.m\.endpoints: /);
  assert.ok(!r.stderr.includes("    at "), "no stack trace");

  const yamlBad = writeTempConfig("models: [unclosed\n");
  const y = spawnSync(process.execPath, [CLI, "config", "check", yamlBad], { encoding: "utf8" });
  assert.equal(y.status, 2);
  assert.match(y.stderr, /not valid YAML/);

  const missing = spawnSync(process.execPath, [CLI, "config", "check", "/nonexistent/x.yaml"], {
    encoding: "utf8",
  });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read config file .*ENOENT/);

  const usage = spawnSync(process.execPath, [CLI, "serve", "--port", "http"], { encoding: "utf8" });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--port must be a port number/);
});

test("an empty PORT or SWITCHYARD_CONFIG counts as unset, as ${VAR:-} would", async () => {
  // PORT="" with a config file: the file's port (0, a free one) instead of a usage error.
  const file = writeTempConfig({
    server: { port: 0 },
    grpc: { port: 0 },
    logging: { level: "warn" },
    models: { m: { endpoints: [{ kind: "sim", sim: { preset: "small" } }] } },
  });
  const a = await startCli(["serve", "--config", file, "--host", "127.0.0.1"], "switchyard listening", {
    PORT: "",
  });
  try {
    assert.ok(a.port > 0);
    const ready = a.lines.find((l) => l.msg === "switchyard listening");
    assert.equal(ready?.config, file);
  } finally {
    await a.stop();
  }
  // SWITCHYARD_CONFIG="": the embedded default, named as such.
  const b = await startCli(
    ["serve", "--port", "0", "--grpc-port", "0", "--host", "127.0.0.1"],
    "switchyard listening",
    { SWITCHYARD_CONFIG: "", PORT: "" },
  );
  try {
    const ready = b.lines.find((l) => l.msg === "switchyard listening");
    assert.equal(ready?.config, "embedded default");
    assert.deepEqual(ready?.models, ["sim-small", "sim-large", "sim-embed"]);
  } finally {
    await b.stop();
  }
});
