import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteQueue } from "../../src/jobs/queue/sqlite.js";
import { queueConformance } from "./queue-conformance.js";

queueConformance("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-queue-"));
  const cfg = { kind: "sqlite" as const, path: join(dir, "q.db"), busyTimeoutMs: 5_000 };
  return {
    open: async () => openSqliteQueue(cfg, { pollIntervalMs: 50 }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
