/**
 * An idle gateway sleeps: nothing in it runs a short periodic timer (the event-loop lag sampler is
 * every 100 ms, access lines are drained only while some wait). A process that keeps waking takes
 * CPU from the processes it shares a core with, its workers for one. Counted from the kernel's
 * voluntary context switches of the gateway's main thread (a sleep until the next timer or socket).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { configFor, type Running, startGateway, startSim } from "../helpers/proc.js";

let sim: Running;
let gw: Running;

before(async () => {
  sim = await startSim(["--model", "sim-small:instant"]);
  gw = await startGateway(configFor(sim.url));
});
after(async () => {
  await gw.stop();
  await sim.stop();
});

function sleeps(pid: number): number {
  const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m, "voluntary_ctxt_switches in /proc/PID/status");
  return Number(m[1]);
}

test("an idle gateway wakes up fewer than 50 times a second", async (t) => {
  const pid = gw.proc.pid;
  if (pid === undefined || !existsSync(`/proc/${pid}/status`)) {
    t.skip("needs /proc (Linux)");
    return;
  }
  // One request first, so the access-line drain has run once and its timer is gone again.
  const res = await request(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "sim-small", messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
  });
  assert.equal(res.statusCode, 200);
  await res.body.dump();
  await sleep(1_000);
  const before = sleeps(pid);
  const started = performance.now();
  await sleep(3_000);
  const perSecond = ((sleeps(pid) - before) * 1000) / (performance.now() - started);
  assert.ok(perSecond < 50, `${perSecond.toFixed(0)} wake-ups a second`);
});
