import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Running, startCli, startGateway, startSim, writeTempConfig } from "../helpers/proc.js";
import { call, chat, endpoint, received, resetStats } from "./_helpers.js";

const stops: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const s of stops.reverse()) await s();
});

async function until(what: string, check: () => Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function spread(gw: Running, sims: Running[], n = 12): Promise<number[]> {
  await Promise.all(sims.map(resetStats));
  for (let i = 0; i < n; i++) {
    const r = await call(gw.url, "/v1/chat/completions", { body: chat() });
    assert.equal(r.status, 200, r.text);
  }
  return Promise.all(sims.map(received));
}

test("file discovery picks up an edited file", async () => {
  const a = await startSim(["--model", "m:instant"]);
  const b = await startSim(["--model", "m:instant"]);
  stops.push(
    () => a.stop(),
    () => b.stop(),
  );
  const list = writeTempConfig(JSON.stringify([endpoint(a)]), "endpoints.json");
  const gw = await startGateway({
    logging: { level: "warn" },
    models: { m: { discovery: { kind: "file", path: list, intervalMs: 500 } } },
  });
  stops.push(() => gw.stop());
  assert.deepEqual(await spread(gw, [a, b]), [12, 0]);
  writeFileSync(list, `- kind: openai\n  url: ${b.url}/v1\n`); // YAML works too
  await until("b only", async () => (await spread(gw, [a, b], 4))[0] === 0);
  writeFileSync(list, "not: [valid"); // a broken file keeps the last good list
  await sleep(700);
  assert.deepEqual(await spread(gw, [a, b], 4), [0, 4]);
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function hasDnsmasq(): boolean {
  return spawnSync("sh", ["-c", "command -v dnsmasq || test -x /usr/sbin/dnsmasq"]).status === 0;
}

test("DNS discovery: A records from a real dnsmasq, re-resolved when they change", async (t) => {
  if (!hasDnsmasq()) {
    if (process.env.CI) assert.fail("dnsmasq is required in CI (apt-get install -y dnsmasq)");
    t.skip("dnsmasq is not installed (apt-get install -y dnsmasq); skipping the DNS discovery test");
    return;
  }
  // Two sims on one port, on two loopback addresses: A records carry addresses only.
  const a = await startCli(
    ["sim", "--port", "0", "--host", "127.0.0.2", "--model", "m:instant"],
    "sim listening",
  );
  stops.push(() => a.stop());
  const b = await startCli(
    ["sim", "--port", String(a.port), "--host", "127.0.0.3", "--model", "m:instant"],
    "sim listening",
  );
  stops.push(() => b.stop());
  a.url = `http://127.0.0.2:${a.port}`;
  b.url = `http://127.0.0.3:${b.port}`;
  const hosts = writeTempConfig("127.0.0.2 llm.switchyard.test\n", "hosts");
  const dnsPort = await freePort();
  const bin = spawnSync("sh", ["-c", "command -v dnsmasq || echo /usr/sbin/dnsmasq"])
    .stdout.toString()
    .trim();
  const dns: ChildProcess = spawn(
    bin,
    [
      "--keep-in-foreground",
      `--port=${dnsPort}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      `--addn-hosts=${hosts}`,
      "--local-ttl=0",
      "--pid-file=",
      "--user=",
      "--log-facility=-",
    ],
    { stdio: "ignore" },
  );
  stops.push(async () => {
    dns.kill("SIGTERM");
  });
  await sleep(300);
  const gw = await startGateway({
    logging: { level: "warn" },
    models: {
      m: {
        discovery: {
          kind: "dns",
          name: "llm.switchyard.test",
          record: "A",
          port: a.port,
          server: `127.0.0.1:${dnsPort}`,
          intervalMs: 300,
        },
      },
    },
  });
  stops.push(() => gw.stop());
  assert.deepEqual(await spread(gw, [a, b]), [12, 0]);
  writeFileSync(hosts, "127.0.0.2 llm.switchyard.test\n127.0.0.3 llm.switchyard.test\n");
  dns.kill("SIGHUP");
  await until("both addresses", async () => (await spread(gw, [a, b], 6)).every((n) => n > 0));
  writeFileSync(hosts, "127.0.0.3 llm.switchyard.test\n");
  dns.kill("SIGHUP");
  await until("only the second address", async () => (await spread(gw, [a, b], 6))[0] === 0);
  const state = await call(gw.url, "/admin/state");
  const pools = state.json.pools as Array<{ endpoints: Array<{ id: string }> }>;
  assert.deepEqual(
    pools[0]?.endpoints.map((e) => e.id),
    [`openai:127.0.0.3:${a.port}`],
  );
});
