import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { GatewayError } from "../../src/core/errors.js";
import { postgresStoreConfigSchema, storeConfigSchema } from "../../src/store/config.js";
import { createStore } from "../../src/store/index.js";
import { openPostgresStore, PostgresSchemaError, type PostgresStore } from "../../src/store/postgres.js";
import { clientConfig } from "../../src/store/postgres-db.js";
import { POSTGRES_MIGRATIONS } from "../../src/store/postgres-migrations.js";
import {
  freePort,
  PG_BIN_DIR,
  type PostgresProc,
  postgresAvailable,
  startPostgres,
} from "../helpers/postgres.js";
import { addKey, newJob, storeConformance } from "./store-conformance.js";

let server: PostgresProc | undefined;
before(async () => {
  if (PG_BIN_DIR) server = await startPostgres();
});
after(async () => {
  await server?.cleanup();
});

const cfgFor = (over: Record<string, unknown> = {}, url = server?.url()) => {
  if (!url) throw new Error("PostgreSQL is not running (not installed: apt-get install -y postgresql)");
  return postgresStoreConfigSchema.parse({ kind: "postgres", url, ...over });
};
let n = 0;
const opened: PostgresStore[] = [];
after(async () => {
  for (const s of opened) await s.close();
});
const open = async (over: Record<string, unknown> = {}, url?: string) => {
  const s = await openPostgresStore(cfgFor(over, url));
  opened.push(s);
  return s;
};

const isUnavailable = (err: unknown) => err instanceof GatewayError && err.code === "store_unavailable";
const ALL_VERSIONS = POSTGRES_MIGRATIONS.map((m) => m.version);
const one = { requests: 1, promptTokens: 3, completionTokens: 5 };

// The shared behaviour tests, each on a schema of its own in one database.
storeConformance("postgres", async () => createStore(cfgFor({ schema: `conf_${++n}` })), {
  skip: PG_BIN_DIR || process.env.CI ? undefined : "PostgreSQL not installed: apt-get install -y postgresql",
});

describe("postgres store config", () => {
  test("defaults; url and schema checked; unknown keys refused", () => {
    assert.deepEqual(storeConfigSchema.parse({ kind: "postgres", url: "postgres://u:p@db:5432/sy" }), {
      kind: "postgres",
      url: "postgres://u:p@db:5432/sy",
      schema: "public",
      poolMax: 10,
      connectTimeoutMs: 5000,
      statementTimeoutMs: 10000,
      idleInTransactionTimeoutMs: 10000,
      idleTimeoutMs: 30000,
      ssl: false,
    });
    const bad = (x: Record<string, unknown>) =>
      storeConfigSchema.safeParse({ kind: "postgres", url: "postgresql://db/sy", ...x }).success;
    assert.equal(bad({}), true);
    assert.equal(bad({ url: "mysql://db/sy" }), false);
    assert.equal(bad({ schema: "Bad-Name" }), false);
    assert.equal(bad({ schema: 'x"; DROP' }), false);
    assert.equal(bad({ poolMax: 0 }), false);
    assert.equal(bad({ path: "x.db" }), false);
    assert.equal(bad({ ssl: { caFile: "/ca.pem" } }), true);
    assert.equal(bad({ ssl: { certFile: "/c.pem" } }), false);
  });
});

describe("postgres store", () => {
  test("each connection carries the timeouts, search path and application name", async (t) => {
    if (!postgresAvailable(t)) return;
    const cfg = cfgFor({ schema: "settings", statementTimeoutMs: 2500, idleInTransactionTimeoutMs: 4000 });
    const c = new pg.Client(clientConfig(cfg));
    await c.connect();
    try {
      const show = async (name: string) => (await c.query(`SHOW ${name}`)).rows[0]?.[name];
      assert.equal(await show("statement_timeout"), "2500ms");
      assert.equal(await show("idle_in_transaction_session_timeout"), "4s");
      assert.equal(await show("search_path"), "settings");
      assert.equal(await show("application_name"), "switchyard");
    } finally {
      await c.end();
    }
  });

  test("migrations: versioned and idempotent; a newer schema is refused", async (t) => {
    if (!postgresAvailable(t)) return;
    const a = await open({ schema: "mig" });
    assert.deepEqual(a.applied, ALL_VERSIONS);
    const rec = await addKey(a.keys);
    const b = await open({ schema: "mig" });
    assert.deepEqual(b.applied, []);
    assert.equal((await b.keys.get(rec.id))?.hash, rec.hash);
    const rows = await server!.sql("SELECT version FROM mig.schema_migrations ORDER BY version");
    assert.deepEqual(
      rows.map((r) => r.version),
      ALL_VERSIONS,
    );
    await server!.sql("INSERT INTO mig.schema_migrations VALUES (999, 'future', 0)");
    await assert.rejects(
      openPostgresStore(cfgFor({ schema: "mig" })),
      (err: unknown) => err instanceof PostgresSchemaError && /newer/.test(err.message),
    );
  });

  test("three stores migrating one empty database at once: all succeed, one migrates, one schema version", async (t) => {
    if (!postgresAvailable(t)) return;
    const url = await server!.createDatabase("race");
    for (const schema of ["public", "tenant"]) {
      const stores = await Promise.all([1, 2, 3].map(() => open({ schema }, url)));
      const applied = stores.map((s) => s.applied);
      assert.equal(applied.filter((a) => a.length > 0).length, 1, JSON.stringify(applied));
      assert.deepEqual(
        applied.find((a) => a.length > 0),
        ALL_VERSIONS,
      );
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const rows = await c.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
      await c.end();
      assert.deepEqual(
        rows.rows.map((r) => r.version),
        ALL_VERSIONS,
      );
      // Every store works on the one schema.
      const key = await addKey(stores[0]!.keys);
      for (const s of stores) assert.equal((await s.keys.get(key.id))?.id, key.id);
    }
  });

  test("two gateways claim the same jobs at once: for each job exactly one claim wins and may finish it", async (t) => {
    if (!postgresAvailable(t)) return;
    const [a, b] = [
      await open({ schema: "claims", poolMax: 4 }),
      await open({ schema: "claims", poolMax: 4 }),
    ];
    const jobs = Array.from({ length: 20 }, () => newJob());
    for (const j of jobs) await a.jobs.create(j);
    await Promise.all(
      jobs.map(async (j) => {
        const now = Date.now();
        const claims = await Promise.all([
          a.jobs.claim(j.id, "ta", now, now + 30_000),
          b.jobs.claim(j.id, "tb", now, now + 30_000),
        ]);
        assert.equal(claims.filter((c) => c?.status === "RUNNING").length, 1);
        const wrote = await Promise.all([
          a.jobs.finishAttempt(j.id, "ta", { status: "SUCCESS", result: "a" }, Date.now()),
          b.jobs.finishAttempt(j.id, "tb", { status: "SUCCESS", result: "b" }, Date.now()),
        ]);
        assert.equal(wrote.filter(Boolean).length, 1, `${j.id}: ${wrote}`);
        const done = await b.jobs.get(j.id);
        assert.equal(claims[0] !== undefined, wrote[0], "the winning claim is the one that may write");
        assert.deepEqual([done?.status, done?.attempts, done?.result], ["SUCCESS", 1, wrote[0] ? "a" : "b"]);
      }),
    );
  });

  test("jobs created in one turn share one INSERT; a row the database refuses fails alone", async (t) => {
    if (!postgresAvailable(t)) return;
    const s = await open({ schema: "batch", poolMax: 2 });
    const query = t.mock.method(pg.Pool.prototype, "query");
    const jobInserts = () =>
      query.mock.calls.filter((c) => String(c.arguments[0]).startsWith("INSERT INTO jobs")).length;
    const jobs = Array.from({ length: 40 }, () => newJob());
    const made = await Promise.all(jobs.map((j) => s.jobs.create(j)));
    assert.ok(made.every((m) => m.kind === "created"));
    assert.equal(jobInserts(), 1, "40 creates in one turn: one statement");
    for (const j of jobs) assert.equal((await s.jobs.get(j.id))?.status, "PENDING");
    // A duplicate id in the same turn: the batch is refused, each row is tried alone, and only the
    // duplicate fails (with the database's error, not store_unavailable).
    const more = Array.from({ length: 5 }, () => newJob());
    const results = await Promise.allSettled([...more, more[2]!].map((j) => s.jobs.create(j)));
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "fulfilled", "fulfilled", "fulfilled", "fulfilled", "rejected"],
    );
    const why = (results[5] as PromiseRejectedResult).reason as { code?: string };
    assert.equal(why.code, "23505", "unique violation");
    assert.equal(isUnavailable(why), false);
    for (const j of more) assert.equal((await s.jobs.get(j.id))?.status, "PENDING");
    // Large bodies go in smaller batches: about 1.5 MB each, so two per statement (4 MiB of text at most).
    const big = "x".repeat(1_500_000);
    const large = Array.from({ length: 10 }, () =>
      newJob({ request: { model: "sim-small", messages: [{ role: "user", content: big }] } }),
    );
    const beforeLarge = jobInserts();
    await Promise.all(large.map((j) => s.jobs.create(j)));
    assert.equal(jobInserts() - beforeLarge, 5);
    const back = await s.jobs.get(large[9]!.id);
    assert.ok(back);
    assert.equal((back.request.messages as Array<{ content: string }>)[0]?.content.length, big.length);
    // One at a time, each create is its own single-row statement and resolves on its own.
    const before = jobInserts();
    for (let i = 0; i < 3; i++) assert.equal((await s.jobs.create(newJob())).kind, "created");
    assert.equal(jobInserts() - before, 3);
  });

  test("claims and successes of one turn share one statement, each row fenced as it would be alone", async (t) => {
    if (!postgresAvailable(t)) return;
    const s = await open({ schema: "turns", poolMax: 2 });
    const query = t.mock.method(pg.Pool.prototype, "query");
    const count = (prefix: string, many?: boolean) =>
      query.mock.calls.filter((c) => {
        const text = String(c.arguments[0]);
        return text.startsWith(prefix) && (many === undefined || text.includes("unnest") === many);
      }).length;
    const CLAIM = "UPDATE jobs SET status = 'RUNNING'";
    const SUCCEED = "UPDATE jobs SET status = 'SUCCESS'";
    const jobs = Array.from({ length: 10 }, () => newJob());
    for (const j of jobs) await s.jobs.create(j);
    const now = Date.now();
    // Ten claims, a second claim of the first job with another token and a claim of no job, in one turn.
    const claims = await Promise.all([
      ...jobs.map((j, i) => s.jobs.claim(j.id, `t${i}`, now, now + 30_000)),
      s.jobs.claim(jobs[0]!.id, "other", now, now + 30_000),
      s.jobs.claim("job_that_does_not_exist", "t", now, now + 30_000),
    ]);
    assert.deepEqual(
      [count(CLAIM, true), count(CLAIM, false)],
      [1, 0],
      "12 claims in one turn: one statement",
    );
    assert.equal(claims[11], undefined);
    const first = [claims[0], claims[10]].filter((c) => c !== undefined);
    assert.equal(first.length, 1, "of two claims of one job, exactly one wins");
    for (let i = 0; i < 10; i++) {
      const stored = await s.jobs.get(jobs[i]!.id);
      const token = i === 0 ? first[0]!.runToken : `t${i}`;
      assert.deepEqual([stored?.status, stored?.runToken, stored?.attempts], ["RUNNING", token, 1]);
      if (i > 0) assert.deepEqual([claims[i]?.id, claims[i]?.runToken], [jobs[i]!.id, `t${i}`]);
    }
    // Successes in one turn: the nine, the first job under its winning token, one under a token that
    // lost, and the same attempt twice (the second finds it finished, as it would alone).
    const ok = (id: string, token: string, result: unknown) =>
      s.jobs.finishAttempt(id, token, { status: "SUCCESS", result }, Date.now());
    const wrote = await Promise.all([
      ...jobs.map((j, i) => ok(j.id, i === 0 ? first[0]!.runToken! : `t${i}`, { n: i })),
      ok(jobs[1]!.id, "nope", "late"),
      ok(jobs[2]!.id, "t2", "again"),
    ]);
    assert.deepEqual(
      [count(SUCCEED, true), count(SUCCEED, false)],
      [1, 0],
      "12 finishes in one turn: one statement",
    );
    assert.deepEqual(wrote, [...Array<boolean>(10).fill(true), false, false]);
    for (let i = 0; i < 10; i++) {
      const stored = await s.jobs.get(jobs[i]!.id);
      assert.deepEqual([stored?.status, stored?.result], ["SUCCESS", { n: i }]);
    }
    // A batch the database refuses (for a reason other than an outage: a time beyond BIGINT in one
    // item): each item runs alone, and only the bad one fails, with the database's own error.
    const more = Array.from({ length: 3 }, () => newJob());
    for (const j of more) await s.jobs.create(j);
    const times = [now, 1e20, now];
    const again = await Promise.allSettled(
      more.map((j, i) => s.jobs.claim(j.id, `m${i}`, times[i]!, now + 30_000)),
    );
    assert.deepEqual(
      again.map((r) => (r.status === "fulfilled" ? r.value?.runToken : (r.reason as { code?: string }).code)),
      ["m0", "22003", "m2"],
    );
    assert.equal((await s.jobs.get(more[1]!.id))?.status, "PENDING", "the refused claim took nothing");
    const done = await Promise.allSettled([
      ok(more[0]!.id, "m0", 0),
      s.jobs.finishAttempt(more[2]!.id, "m2", { status: "SUCCESS", result: 2 }, 1e20),
      ok(more[2]!.id, "m2", 2),
    ]);
    assert.deepEqual(
      done.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as { code?: string }).code)),
      [true, "22003", true],
    );
    assert.deepEqual(
      [count(CLAIM, true), count(CLAIM, false), count(SUCCEED, true), count(SUCCEED, false)],
      [2, 3, 2, 3],
      "a refused batch, then each item alone",
    );
    // One at a time, each is its own single-row statement.
    const lone = newJob();
    await s.jobs.create(lone);
    assert.equal((await s.jobs.claim(lone.id, "solo", now, now + 30_000))?.runToken, "solo");
    assert.equal(await ok(lone.id, "solo", 1), true);
    assert.deepEqual([count(CLAIM, false), count(SUCCEED, false)], [4, 4]);
    for (const j of [more[0]!, more[2]!, lone]) assert.equal((await s.jobs.get(j.id))?.status, "SUCCESS");
  });

  test("two gateways add usage to one key concurrently: no update is lost", async (t) => {
    if (!postgresAvailable(t)) return;
    const [a, b] = [await open({ schema: "usage", poolMax: 5 }), await open({ schema: "usage", poolMax: 5 })];
    const key = await addKey(a.keys);
    const other = await addKey(a.keys);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 150; i++) {
      for (const s of [a, b]) calls.push(s.keys.addUsage(key.id, one, Date.now()));
      if (i % 15 === 0) {
        const entries = [other, key].map((k) => ({ keyId: k.id, delta: one, atMs: Date.now() }));
        calls.push(a.keys.addUsageBatch(entries), b.keys.addUsageBatch([...entries].reverse()));
      }
    }
    await Promise.all(calls);
    const usage = (await b.keys.get(key.id))?.usage;
    assert.deepEqual([usage?.requests, usage?.promptTokens, usage?.completionTokens], [320, 960, 1600]);
    assert.equal((await a.keys.usageSince(key.id, Date.now() - 60_000)).requests, 320);
    assert.equal((await a.keys.get(other.id))?.usage.requests, 20);
  });

  test("the pool never holds more than poolMax connections", async (t) => {
    if (!postgresAvailable(t)) return;
    const s = await open({ schema: "poolmax", poolMax: 2 });
    const key = await addKey(s.keys);
    let most = 0;
    const calls = Array.from({ length: 30 }, async () => {
      await s.keys.addUsage(key.id, one, Date.now());
      most = Math.max(most, s.poolStats.total);
    });
    await Promise.all(calls);
    assert.ok(most <= 2, `pool grew to ${most}`);
    assert.equal((await s.keys.get(key.id))?.usage.requests, 30);
  });

  test("a statement over statementTimeoutMs fails with store_unavailable; the store goes on", async (t) => {
    if (!postgresAvailable(t)) return;
    const s = await open({ schema: "stmt", statementTimeoutMs: 500 });
    const key = await addKey(s.keys);
    const locker = new pg.Client({ connectionString: server!.url() });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("SELECT 1 FROM stmt.api_keys WHERE id = $1 FOR UPDATE", [key.id]);
      const t0 = Date.now();
      await assert.rejects(s.keys.addUsage(key.id, one, Date.now()), isUnavailable);
      const took = Date.now() - t0;
      assert.ok(took >= 400 && took < 3_000, `took ${took} ms`);
      await locker.query("ROLLBACK");
    } finally {
      await locker.end();
    }
    assert.equal(await s.keys.addUsage(key.id, one, Date.now()), true);
  });

  test("unreachable at start: opening fails with store_unavailable within connectTimeoutMs", async (t) => {
    if (!postgresAvailable(t)) return;
    const port = await freePort();
    const t0 = Date.now();
    await assert.rejects(
      openPostgresStore(cfgFor({ connectTimeoutMs: 1000 }, `postgres://postgres@127.0.0.1:${port}/x`)),
      isUnavailable,
    );
    assert.ok(Date.now() - t0 < 3_000);
  });

  test("PostgreSQL hangs (SIGSTOP): calls fail with store_unavailable within the timeouts, then recover", async (t) => {
    if (!postgresAvailable(t)) return;
    const s = await open({ schema: "hang", connectTimeoutMs: 1000, statementTimeoutMs: 1000, poolMax: 3 });
    const key = await addKey(s.keys);
    await Promise.all([1, 2, 3].map(() => s.keys.get(key.id))); // open pooled connections
    server!.pause();
    try {
      for (const call of [() => s.keys.get(key.id), () => s.idempotency.acquire("s", "k", "f", 1, 2, 3)]) {
        const t0 = Date.now();
        await assert.rejects(call(), isUnavailable);
        // query timeout = statementTimeoutMs + min(connectTimeoutMs, 5 s) = 2 s, plus scheduling headroom.
        assert.ok(Date.now() - t0 < 4_500, `took ${Date.now() - t0} ms`);
      }
    } finally {
      server!.resume();
    }
    assert.equal((await s.keys.get(key.id))?.id, key.id);
  });

  test("PostgreSQL SIGKILLed mid-use: calls reject with store_unavailable; the same store works after restart", async (t) => {
    if (!postgresAvailable(t)) return;
    const s = await open({ schema: "crash", connectTimeoutMs: 1000, statementTimeoutMs: 2000, poolMax: 4 });
    const key = await addKey(s.keys);
    const job = newJob();
    await s.jobs.create(job);
    await s.keys.addUsage(key.id, one, Date.now());
    await Promise.all([1, 2, 3, 4].map(() => s.keys.get(key.id)));
    // A call in flight when the server dies: it waits on a row lock held by another session.
    const locker = new pg.Client({ connectionString: server!.url() });
    locker.on("error", () => {});
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("SELECT 1 FROM crash.api_keys WHERE id = $1 FOR UPDATE", [key.id]);
    const inFlight = [
      s.keys.addUsage(key.id, one, Date.now()),
      s.keys.addUsageBatch([{ keyId: key.id, delta: one, atMs: Date.now() }]), // inside a transaction
    ];
    for (const p of inFlight) p.catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    await server!.kill();
    for (const p of inFlight) await assert.rejects(p, isUnavailable);
    const during = [
      () => s.keys.get(key.id),
      () => s.keys.addUsage(key.id, one, Date.now()),
      () => s.keys.addUsageBatch([{ keyId: key.id, delta: one, atMs: Date.now() }]),
      () => s.jobs.create(newJob()),
      () => s.jobs.create(newJob(), { key: "k", fingerprint: "f", expiresAt: Date.now() + 60_000 }),
      () => s.jobs.claim(job.id, "t", Date.now(), Date.now() + 30_000),
      () => s.idempotency.acquire("s", "k", "f", 1, 2, 3),
    ];
    for (const call of during) {
      const t0 = Date.now();
      await assert.rejects(call(), (err: unknown) => {
        assert.ok(isUnavailable(err), String(err));
        assert.equal((err as GatewayError).status, 503);
        assert.doesNotMatch((err as Error).message, /postgres:\/\//);
        return true;
      });
      assert.ok(Date.now() - t0 < 2_500, `took ${Date.now() - t0} ms`);
    }
    await server!.restart();
    await locker.end().catch(() => {});
    // The same Store object: committed data survived the crash, and writes work again.
    const after = await s.keys.get(key.id);
    assert.equal(after?.usage.requests, 1);
    assert.equal((await s.jobs.get(job.id))?.status, "PENDING");
    assert.equal((await s.jobs.claim(job.id, "t", Date.now(), Date.now() + 30_000))?.attempts, 1);
    assert.equal(await s.keys.addUsage(key.id, one, Date.now()), true);
    assert.equal((await s.idempotency.acquire("s", "k2", "f", 1, 2, 3)).kind, "acquired");
  });
});
