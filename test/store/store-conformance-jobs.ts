/** The job tests of the `Store` conformance suite (see store-conformance.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobIdempotency, NewJob } from "../../src/store/job-types.js";
import type { Store } from "../../src/store/types.js";

let seq = 0;
/** A job with an id that sorts after every earlier one (ids sort by submission, as in the service). */
export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  const now = Date.now();
  return {
    id: `job_${now.toString(36).padStart(9, "0")}${String(++seq).padStart(8, "0")}`,
    owner: "key:key_a",
    principal: { id: "key:key_a", kind: "key", name: "a", limits: { rpm: 5 } },
    type: "chat.completion",
    request: { model: "sim-small", messages: [{ role: "user", content: "hi \u00e9\u0000" }] },
    priority: 0,
    runAfter: now,
    deadlineAt: now + 60_000,
    maxAttempts: 2,
    webhook: null,
    metadata: null,
    traceparent: null,
    tracestate: null,
    createdAt: now,
    ...overrides,
  };
}

const err = (attempt: number, code = "upstream_error") => ({
  attempt,
  code,
  message: `boom ${attempt}`,
  at: 1000 + attempt,
});
const idem = (key: string, fingerprint = "fp1", expiresAt = Date.now() + 60_000): JobIdempotency => ({
  key,
  fingerprint,
  expiresAt,
});

/** `skip`: why the adapter cannot run here (a missing server); the whole suite is then reported skipped. */
export function jobTests(fresh: () => Promise<Store>): void {
  test("jobs: create stores every field as given; a new job is PENDING with no attempts", async () => {
    const store = await fresh();
    const input = newJob({
      priority: -3,
      webhook: { url: "https://hooks.example/x" },
      metadata: { team: "a", "k\u00e9y": "v" },
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      tracestate: "vendor=opaque,other=1",
    });
    const res = await store.jobs.create(input);
    assert.equal(res.kind, "created");
    const job = res.kind === "created" ? res.job : undefined;
    assert.deepEqual(job, {
      ...input,
      status: "PENDING",
      attempts: 0,
      attemptLimit: 2,
      attemptErrors: [],
      runToken: null,
      leaseUntil: null,
      result: null,
      error: null,
      webhookState: null,
      updatedAt: input.createdAt,
      startedAt: null,
      finishedAt: null,
    });
    assert.deepEqual(await store.jobs.get(input.id), job);
    assert.equal(await store.jobs.get("job_nope"), undefined);
    await assert.rejects(store.jobs.create(input), /unique/i);
  });

  test("jobs: an idempotency key returns the bound job, refuses another body, is per owner, expires", async () => {
    const store = await fresh();
    const first = await store.jobs.create(newJob(), idem("k1"));
    assert.equal(first.kind, "created");
    const again = await store.jobs.create(newJob(), idem("k1"));
    assert.equal(again.kind, "existing");
    assert.equal(again.kind === "existing" && again.job.id, first.kind === "created" && first.job.id);
    assert.deepEqual(await store.jobs.create(newJob(), idem("k1", "fp2")), { kind: "conflict" });
    const other = newJob({ owner: "key:key_b" });
    assert.equal((await store.jobs.create(other, idem("k1", "fp2"))).kind, "created");
    // An expired key binds the next job afresh, whatever its body.
    await store.jobs.create(newJob(), idem("k2", "fp1", Date.now() - 1));
    assert.equal((await store.jobs.create(newJob(), idem("k2", "fp9"))).kind, "created");
    // A key whose job was purged binds the next job with the same body.
    const gone = newJob();
    await store.jobs.create(gone, idem("k3"));
    await store.jobs.claim(gone.id, "t", 1, 1001);
    await store.jobs.finishAttempt(gone.id, "t", { status: "SUCCESS", result: 1 }, 2);
    assert.equal(await store.jobs.purge(3), 1);
    const next = await store.jobs.create(newJob(), idem("k3"));
    assert.equal(next.kind, "created");
    assert.equal((await store.jobs.create(newJob(), idem("k3"))).kind, "existing");
  });

  test("jobs: concurrent submissions with one idempotency key create exactly one job", async () => {
    const store = await fresh();
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => store.jobs.create(newJob(), idem("race"))));
    const created = results.filter((r) => r.kind === "created");
    assert.equal(created.length, 1, JSON.stringify(results.map((r) => r.kind)));
    const id = created[0]?.kind === "created" ? created[0].job.id : "";
    for (const r of results) assert.equal(r.kind !== "conflict" && r.job.id, id);
    assert.equal((await store.jobs.list({ owner: "key:key_a", limit: 10 })).length, 1);
  });

  test("jobs: list is newest first, per owner, filtered by status, paged by `after`", async () => {
    const store = await fresh();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const j = newJob();
      ids.push(j.id);
      await store.jobs.create(j);
    }
    await store.jobs.create(newJob({ owner: "key:key_b" }));
    await store.jobs.cancel(ids[1]!, 5);
    const all = await store.jobs.list({ owner: "key:key_a", limit: 10 });
    assert.deepEqual(
      all.map((j) => j.id),
      [...ids].reverse(),
    );
    const page = await store.jobs.list({ owner: "key:key_a", limit: 2, after: ids[3] });
    assert.deepEqual(
      page.map((j) => j.id),
      [ids[2], ids[1]],
    );
    const cancelled = await store.jobs.list({ owner: "key:key_a", status: "CANCELLED", limit: 10 });
    assert.deepEqual(
      cancelled.map((j) => j.id),
      [ids[1]],
    );
    assert.deepEqual(
      await store.jobs.list({ owner: "key:key_a", status: "PENDING", limit: 2, after: ids[1] }),
      [await store.jobs.get(ids[0]!)],
    );
    assert.deepEqual(await store.jobs.list({ owner: "nobody", limit: 10 }), []);
  });

  test("jobs: claim, requeue with an error, claim again, fail; attempt errors accumulate in order", async () => {
    const store = await fresh();
    const job = newJob();
    await store.jobs.create(job);
    const c1 = await store.jobs.claim(job.id, "t1", 100, 1100);
    assert.deepEqual([c1?.status, c1?.attempts, c1?.runToken, c1?.startedAt], ["RUNNING", 1, "t1", 100]);
    assert.equal(
      await store.jobs.finishAttempt(job.id, "t1", { status: "PENDING", error: err(1), runAfter: 500 }, 110),
      true,
    );
    const p = await store.jobs.get(job.id);
    assert.deepEqual(
      [p?.status, p?.runAfter, p?.updatedAt, p?.attemptErrors],
      ["PENDING", 500, 110, [err(1)]],
    );
    const c2 = await store.jobs.claim(job.id, "t2", 200, 1200);
    assert.deepEqual([c2?.attempts, c2?.startedAt, c2?.runToken], [2, 100, "t2"]);
    assert.equal(
      await store.jobs.finishAttempt(job.id, "t1", { status: "FAILED", error: err(9) }, 210),
      false,
    );
    assert.equal(
      await store.jobs.finishAttempt(job.id, "t2", { status: "FAILED", error: err(2) }, 220),
      true,
    );
    const f = await store.jobs.get(job.id);
    assert.deepEqual(
      [f?.status, f?.finishedAt, f?.error, f?.attemptErrors],
      ["FAILED", 220, { code: "upstream_error", message: "boom 2" }, [err(1), err(2)]],
    );
    assert.equal(await store.jobs.claim(job.id, "t3", 300, 1300), undefined);
    assert.equal(await store.jobs.claim("job_nope", "t3", 300, 1300), undefined);
  });

  test("jobs: success writes the result once; the fence refuses old tokens and finished jobs", async () => {
    const store = await fresh();
    const job = newJob();
    await store.jobs.create(job);
    assert.equal((await store.jobs.claim(job.id, "old", 10, 15))?.leaseUntil, 15);
    // While the lease lasts, another delivery cannot take the job (a duplicate message);
    // a heartbeat moves the lease, and only the holder's token does.
    assert.equal(await store.jobs.claim(job.id, "dup", 12, 1012), undefined);
    await store.jobs.extendLeases([{ id: job.id, token: "old" }], 18);
    await store.jobs.extendLeases([{ id: job.id, token: "dup" }], 900);
    assert.deepEqual(
      [(await store.jobs.get(job.id))?.leaseUntil, (await store.jobs.get(job.id))?.runToken],
      [18, "old"],
    );
    assert.equal(await store.jobs.claim(job.id, "dup", 17, 1017), undefined);
    // Once it has ended, a redelivery takes the job over from the (dead) worker.
    assert.equal((await store.jobs.claim(job.id, "new", 20, 1020))?.runToken, "new");
    const result = { choices: [{ message: { content: "ok \u2713" } }], n: 1.5 };
    assert.equal(
      await store.jobs.finishAttempt(job.id, "old", { status: "SUCCESS", result: "stale" }, 30),
      false,
    );
    assert.equal(await store.jobs.finishAttempt(job.id, "new", { status: "SUCCESS", result }, 40), true);
    assert.equal(await store.jobs.finishAttempt(job.id, "new", { status: "SUCCESS", result: 2 }, 50), false);
    const done = await store.jobs.get(job.id);
    assert.deepEqual(
      [done?.status, done?.result, done?.attempts, done?.finishedAt],
      ["SUCCESS", result, 2, 40],
    );
  });

  test("jobs: two workers claim one job at once; exactly one gets it and may write its outcome", async () => {
    const store = await fresh();
    const job = newJob();
    await store.jobs.create(job);
    const now = Date.now();
    const claims = await Promise.all(["wa", "wb"].map((t) => store.jobs.claim(job.id, t, now, now + 30_000)));
    assert.equal(claims.filter((c) => c?.status === "RUNNING").length, 1);
    const holder = (await store.jobs.get(job.id))?.runToken;
    assert.ok(holder === "wa" || holder === "wb");
    assert.equal((await store.jobs.get(job.id))?.attempts, 1);
    const wrote = await Promise.all(
      ["wa", "wb"].map((t) =>
        store.jobs.finishAttempt(job.id, t, { status: "SUCCESS", result: t }, Date.now()),
      ),
    );
    assert.deepEqual(wrote.filter(Boolean).length, 1);
    assert.equal((await store.jobs.get(job.id))?.result, holder);
  });

  test("jobs: cancel, retry, webhook state, statuses", async () => {
    const store = await fresh();
    const [a, b, c] = [newJob(), newJob(), newJob({ maxAttempts: 3 })];
    for (const j of [a, b, c]) await store.jobs.create(j);
    const ca = await store.jobs.cancel(a.id, 50);
    assert.deepEqual([ca?.status, ca?.finishedAt, ca?.runToken], ["CANCELLED", 50, null]);
    assert.equal((await store.jobs.cancel(a.id, 60))?.finishedAt, 50); // unchanged when finished
    assert.equal(await store.jobs.cancel("job_nope", 60), undefined);
    await store.jobs.claim(b.id, "tb", 10, 1010);
    assert.equal((await store.jobs.cancel(b.id, 20))?.status, "CANCELLED");
    assert.equal(await store.jobs.finishAttempt(b.id, "tb", { status: "SUCCESS", result: 1 }, 30), false);
    assert.equal(await store.jobs.retry(b.id, 40), undefined);
    await store.jobs.claim(c.id, "tc", 10, 1010);
    await store.jobs.finishAttempt(c.id, "tc", { status: "FAILED", error: err(1) }, 20);
    const wh = {
      status: "failed",
      attempts: 3,
      lastStatus: 500,
      lastError: "HTTP 500",
      deliveredAt: null,
    } as const;
    await store.jobs.setWebhookState(c.id, wh, 25);
    assert.deepEqual(
      [(await store.jobs.get(c.id))?.webhookState, (await store.jobs.get(c.id))?.updatedAt],
      [wh, 25],
    );
    const r = await store.jobs.retry(c.id, 30);
    assert.deepEqual(
      [r?.status, r?.attemptLimit, r?.error, r?.finishedAt, r?.runAfter, r?.runToken, r?.webhookState],
      ["PENDING", 4, null, null, 30, null, null],
    );
    assert.deepEqual(r?.attemptErrors, [err(1)]);
    assert.deepEqual(
      await store.jobs.statuses([a.id, b.id, c.id, "job_nope"]),
      new Map([
        [a.id, "CANCELLED"],
        [b.id, "CANCELLED"],
        [c.id, "PENDING"],
      ]),
    );
    assert.deepEqual(await store.jobs.statuses([]), new Map());
  });

  test("jobs: purge deletes finished jobs before the cut; stale lists old PENDING and abandoned RUNNING jobs", async () => {
    const store = await fresh();
    const [a, b, c, d] = [
      newJob({ createdAt: 10 }),
      newJob({ createdAt: 30 }),
      newJob({ createdAt: 20 }),
      newJob({ createdAt: 5 }),
    ];
    for (const j of [a, b, c, d]) await store.jobs.create(j);
    await store.jobs.cancel(d.id, 100);
    assert.deepEqual(
      (await store.jobs.stale(1_000, 10)).map((j) => j.id),
      [a.id, c.id, b.id],
    );
    assert.deepEqual(
      (await store.jobs.stale(25, 1)).map((j) => j.id),
      [a.id],
    );
    // A RUNNING job counts once its lease has ended before the cut (its worker died), not while it lasts.
    await store.jobs.claim(b.id, "tb", 40, 50);
    await store.jobs.claim(c.id, "tc", 40, 2_000);
    assert.deepEqual(
      (await store.jobs.stale(1_000, 10)).map((j) => j.id),
      [a.id, b.id],
    );
    assert.deepEqual(
      (await store.jobs.stale(45, 10)).map((j) => j.id),
      [a.id],
    );
    assert.equal(await store.jobs.purge(100), 0);
    assert.equal(await store.jobs.purge(101), 1);
    assert.equal(await store.jobs.get(d.id), undefined);
    assert.ok(await store.jobs.get(a.id));
  });

  test("jobs: discard removes a never-started job with its idempotency key, and nothing else", async () => {
    const store = await fresh();
    const j = newJob();
    await store.jobs.create(j, idem("dk"));
    const keep = newJob();
    await store.jobs.create(keep, idem("keep"));
    assert.equal(await store.jobs.discard(j.id), true);
    assert.equal(await store.jobs.get(j.id), undefined);
    assert.equal(await store.jobs.discard(j.id), false);
    assert.equal((await store.jobs.create(newJob(), idem("dk", "fp2"))).kind, "created");
    assert.equal((await store.jobs.create(newJob(), idem("keep"))).kind, "existing");
    await store.jobs.claim(keep.id, "t", 1, 1001);
    assert.equal(await store.jobs.discard(keep.id), false);
    assert.ok(await store.jobs.get(keep.id));
  });
}
