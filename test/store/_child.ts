// Run in a child process by the store tests: `node --import tsx test/store/_child.ts FILE N`.
// Prints "ready" once loaded; on the first stdin line ("go") opens FILE (several children race to
// migrate a fresh file) and prints the migrations it applied; on the second line (a key id) adds
// usage to that key N times, concurrently with the other children, and prints "done".
import { createInterface } from "node:readline";
import { openSqliteStore, type SqliteStore } from "../../src/store/sqlite.js";

const [file, count] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function main(): Promise<void> {
  process.stdout.write("ready\n");
  await lines.next();
  const store: SqliteStore = openSqliteStore({ kind: "sqlite", path: file!, busyTimeoutMs: 10_000 });
  process.stdout.write(`${JSON.stringify({ applied: store.applied })}\n`);
  const id = (await lines.next()).value as string;
  const all: Promise<boolean>[] = [];
  for (let i = 0; i < Number(count); i++)
    all.push(store.keys.addUsage(id, { requests: 1, promptTokens: 3, completionTokens: 5 }, Date.now()));
  const ok = (await Promise.all(all)).every(Boolean);
  await store.close();
  process.stdout.write(ok ? "done\n" : "missing key\n");
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
