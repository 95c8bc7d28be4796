/**
 * The gateway loads undici's Pool and Agent without undici's index (src/core/http-client.ts): the
 * index would load the whole library and cost ~4 MB of resident memory. A child process loads the
 * modules of `switchyard serve` and reports which undici files it holds; the bundle users run
 * (dist/bin) is read for the undici modules esbuild put in it; the Pool it uses must still answer a
 * real request.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { DIST } from "../helpers/proc.js";

const dist = (...p: string[]) => pathToFileURL(join(DIST, ...p)).href;

test("serve's modules leave undici's index unloaded", () => {
  const script = `
    import { createRequire } from "node:module";
    await import(${JSON.stringify(dist("cli", "serve.js"))});
    await import(${JSON.stringify(dist("app.js"))});
    const undici = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes("/undici/"));
    process.stdout.write(JSON.stringify(undici));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const files: string[] = JSON.parse(r.stdout);
  assert.ok(
    files.some((f) => f.endsWith("/undici/lib/dispatcher/pool.js")),
    "the Pool is loaded",
  );
  assert.deepEqual(
    files.filter((f) => /\/undici\/(index\.js|lib\/web\/)/.test(f)),
    [],
    "no index, no fetch/WebSocket",
  );
});

test("the bundled program holds undici's dispatchers but not its index, fetch, WebSocket, caches or mocks", () => {
  const bin = join(DIST, "bin");
  const modules = new Set<string>();
  for (const f of readdirSync(bin).filter((n) => n.endsWith(".js"))) {
    for (const m of readFileSync(join(bin, f), "utf8").matchAll(/node_modules\/undici\/([\w/.-]+\.js)/g))
      modules.add(m[1]!);
  }
  assert.ok(modules.has("lib/dispatcher/pool.js"), `undici modules in the bundle: ${[...modules].join(" ")}`);
  const unwanted = [...modules].filter((m) =>
    /^index\.js$|^lib\/(mock|cache|interceptor)\/|^lib\/web\/(fetch\/index|websocket|eventsource)/.test(m),
  );
  assert.deepEqual(unwanted, []);
});

test("a Pool and an Agent from http-client answer requests with undici's request API", async () => {
  const { Agent, Pool } = await import("../../src/core/http-client.js");
  const server = createServer((req, res) => {
    res.setHeader("content-type", "text/plain");
    res.end(`${req.method} ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pool = new Pool(origin);
  const agent = new Agent();
  try {
    const a = await pool.request({ path: "/v1/models?x=1", method: "GET" });
    assert.equal(a.statusCode, 200);
    assert.equal(await a.body.text(), "GET /v1/models?x=1");
    const b = await agent.request({ origin, path: "/hook", method: "POST", body: "{}" });
    assert.equal(b.statusCode, 200);
    assert.equal(await b.body.text(), "POST /hook");
  } finally {
    await pool.close();
    await agent.close();
    server.close();
  }
});
