import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { configFor, type Running, startGateway, startSim } from "../helpers/proc.js";

interface SimRecord {
  arrivedAt: number;
  endedAt?: number | null;
  closedByClientAt?: number | null;
  completed: boolean;
  aborted: boolean;
}

async function simRecord(sim: Running, id: string, want: (r: SimRecord) => boolean): Promise<SimRecord> {
  const until = Date.now() + 3000;
  for (;;) {
    const res = await request(`${sim.url}/sim/requests/${id}`);
    let rec: SimRecord | undefined;
    if (res.statusCode === 200) rec = (await res.body.json()) as SimRecord;
    else await res.body.dump();
    if (rec && want(rec)) return rec;
    if (Date.now() > until) throw new Error(`sim record for ${id}: ${JSON.stringify(rec)}`);
    await sleep(10);
  }
}

const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    model: "sim-small",
    messages: [{ role: "user", content: "count slowly" }],
    max_tokens: 200,
    ...extra,
  });

// Deadlines and client disconnects abort the upstream call at once; the sim records when its socket closed.
describe("cancellation reaches the upstream within 100 ms", () => {
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

  test("client disconnect mid-stream", async () => {
    const id = `cancel-stream-${Date.now()}`;
    const ac = new AbortController();
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": id, "x-sim-fault": "itl=20" },
      body: chat({ stream: true }),
      signal: ac.signal,
    });
    assert.equal(res.statusCode, 200);
    for await (const chunk of res.body) {
      if (chunk.toString().includes("data:")) break;
    }
    const abortedAt = Date.now();
    ac.abort();
    const rec = await simRecord(sim, id, (r) => Boolean(r.closedByClientAt));
    assert.equal(rec.completed, false);
    assert.ok(
      (rec.closedByClientAt as number) - abortedAt < 100,
      `upstream saw the close after ${(rec.closedByClientAt as number) - abortedAt} ms`,
    );
  });

  test("client disconnect before the answer", async () => {
    const id = `cancel-json-${Date.now()}`;
    const ac = new AbortController();
    const pending = request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": id, "x-sim-fault": "hang" },
      body: chat(),
      signal: ac.signal,
    }).catch(() => undefined);
    await simRecord(sim, id, (r) => r.arrivedAt > 0);
    const abortedAt = Date.now();
    ac.abort();
    await pending;
    const rec = await simRecord(sim, id, (r) => Boolean(r.closedByClientAt));
    assert.ok((rec.closedByClientAt as number) - abortedAt < 100);
  });

  test("deadline before the answer gives 504 deadline_exceeded and aborts the upstream", async () => {
    const id = `deadline-json-${Date.now()}`;
    const started = Date.now();
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-request-id": id,
        "x-sim-fault": "hang",
        "x-switchyard-timeout-ms": "300",
      },
      body: chat(),
    });
    const body = (await res.body.json()) as { error: { code: string; type: string; trace_id: string } };
    assert.equal(res.statusCode, 504);
    assert.equal(body.error.code, "deadline_exceeded");
    assert.match(body.error.trace_id, /^[0-9a-f]{32}$/);
    const rec = await simRecord(sim, id, (r) => Boolean(r.closedByClientAt));
    assert.ok((rec.closedByClientAt as number) - (started + 300) < 100);
  });

  test("deadline mid-stream ends with a final error event and aborts the upstream", async () => {
    const id = `deadline-stream-${Date.now()}`;
    const started = Date.now();
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-request-id": id,
        "x-sim-fault": "hang-after=3",
        "x-switchyard-timeout-ms": "400",
      },
      body: chat({ stream: true }),
    });
    assert.equal(res.statusCode, 200);
    const text = await res.body.text();
    const events = text.split("\n\n").filter(Boolean);
    const last = events.at(-1) ?? "";
    assert.ok(!text.includes("[DONE]"), "a cut stream must not end with [DONE]");
    assert.match(last, /^data: \{"error":/);
    assert.equal((JSON.parse(last.slice(6)) as { error: { code: string } }).error.code, "deadline_exceeded");
    assert.ok(events.length >= 4);
    const rec = await simRecord(sim, id, (r) => Boolean(r.closedByClientAt));
    assert.ok((rec.closedByClientAt as number) - (started + 400) < 100);
  });

  test("a bad timeout header is a 400 naming the header", async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-switchyard-timeout-ms": "soon" },
      body: chat(),
    });
    const body = (await res.body.json()) as { error: { code: string; param: string } };
    assert.equal(res.statusCode, 400);
    assert.equal(body.error.code, "invalid_header");
    assert.equal(body.error.param, "x-switchyard-timeout-ms");
  });
});
