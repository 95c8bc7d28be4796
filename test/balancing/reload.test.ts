import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { CLI, type Running, startCli, startSim, writeTempConfig } from "../helpers/proc.js";
import { call, chat, endpoint, received, resetStats } from "./_helpers.js";

// Hot reload under continuous traffic: endpoints added, removed, weights changed, through
// POST /admin/reload, SIGHUP and file changes; a bad config is refused and the old one keeps serving.

const sims: Running[] = [];
let gw: Running;
let file: string;

const configWith = (eps: unknown[], balancer: unknown = "round_robin") => ({
  logging: { level: "warn" },
  models: { m: { balancer, endpoints: eps, healthCheck: { enabled: false } } },
});

before(async () => {
  for (let i = 0; i < 3; i++) sims.push(await startSim(["--model", "m:instant"]));
  file = writeTempConfig(configWith([endpoint(sims[0] as Running), endpoint(sims[1] as Running)]));
  gw = await startCli(
    ["serve", "--config", file, "--port", "0", "--host", "127.0.0.1"],
    "switchyard listening",
  );
  void CLI;
});

after(async () => {
  await gw?.stop();
  await Promise.all(sims.map((s) => s.stop()));
});

test("reload under load: zero failed requests; a bad config is refused with its reason", async () => {
  const [s0, s1, s2] = sims as [Running, Running, Running];
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const traffic = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const stream = i % 4 === 0;
      const res = await call(gw.url, "/v1/chat/completions", { body: chat(`w${w} ${i}`, { stream }) });
      if (res.status === 200 && (!stream || res.text.includes("[DONE]"))) ok++;
      else failures.push(`${res.status} ${res.text.slice(0, 200)}`);
    }
  });
  const write = (cfg: unknown) => writeFileSync(file, stringify(cfg));
  const reload = async () => {
    const r = await call(gw.url, "/admin/reload", { method: "POST" });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  const steps: Array<() => Promise<void>> = [
    async () => {
      write(configWith([endpoint(s0), endpoint(s1), endpoint(s2)]));
      await reload();
    },
    async () => {
      write(configWith([endpoint(s0, { weight: 1 }), endpoint(s1, { weight: 3 }), endpoint(s2)], "weighted"));
      await reload();
    },
    async () => {
      write(configWith([endpoint(s1), endpoint(s2)], "p2c_ewma"));
      gw.proc.kill("SIGHUP");
    },
    async () => {
      write(configWith([endpoint(s0), endpoint(s2)], "least_outstanding"));
      await reload();
    },
    async () => {
      // Only the file changes: the watcher reloads.
      write(configWith([endpoint(s0), endpoint(s1), endpoint(s2)], "round_robin"));
    },
  ];
  for (let round = 0; round < 2; round++) {
    for (const step of steps) {
      await sleep(350);
      await step();
    }
  }
  await sleep(500);
  // A bad config: refused with its reason; the running one keeps serving.
  write({ models: { m: { balancer: "fastest", endpoints: [endpoint(s0)] } } });
  const bad = await call(gw.url, "/admin/reload", { method: "POST" });
  assert.equal(bad.status, 400);
  const err = bad.json.error as { message: string; code: string };
  assert.equal(err.code, "invalid_request");
  assert.match(err.message, /models\.m\.balancer/);
  await sleep(500);
  stop = true;
  await Promise.all(traffic);
  console.log(`reload under load: ${ok} requests ok, ${failures.length} failed, 10 reloads`);
  assert.deepEqual(failures.slice(0, 5), []);
  assert.ok(ok > 200, `only ${ok} requests`);
  // Still the last good config: all three replicas serve.
  await Promise.all(sims.map(resetStats));
  for (let i = 0; i < 30; i++)
    assert.equal((await call(gw.url, "/v1/chat/completions", { body: chat() })).status, 200);
  const counts = await Promise.all(sims.map(received));
  assert.deepEqual(counts, [10, 10, 10]);
  // A port change needs a restart: reported, models still reloaded.
  write({ ...configWith([endpoint(s0)]), server: { port: 1234 } });
  const r = await call(gw.url, "/admin/reload", { method: "POST" });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.restartRequired, ["server.port"]);
  const logs = gw.lines.filter((l) => l.msg === "config reload refused; the running config stays");
  assert.ok(logs.length >= 1, "the watcher logged the bad file with its reason");
});
