import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { ERROR_CODES } from "../../src/core/error-codes.js";

const DOC = join(import.meta.dirname, "..", "..", "docs", "grpc.md");

function statusName(n: number): string {
  const hit = Object.entries(status).find(([k, v]) => v === n && Number.isNaN(Number(k)));
  return hit ? hit[0] : `UNKNOWN_${n}`;
}

function row(code: string): string {
  const spec = ERROR_CODES[code as keyof typeof ERROR_CODES];
  return `| \`${code}\` | \`${statusName(spec.grpc)}\` (${spec.grpc}) | ${spec.http} | ${spec.retryable ? "yes" : "no"} |`;
}

test("docs/grpc.md's status table has one row per registry code, with its gRPC and HTTP status", () => {
  const text = readFileSync(DOC, "utf8");
  const section = text.slice(text.indexOf("## Status codes"), text.indexOf("## Deadlines"));
  const rows = section.split("\n").filter((l) => /^\| `[a-z_]+` \|/.test(l));
  const documented = new Map(rows.map((r) => [/^\| `([a-z_]+)`/.exec(r)![1]!, r]));
  for (const code of Object.keys(ERROR_CODES)) {
    assert.equal(documented.get(code), row(code), `docs/grpc.md needs the row:\n${row(code)}`);
  }
  for (const code of documented.keys()) assert.ok(code in ERROR_CODES, `${code} is not in the registry`);
});
