import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ERROR_CODES } from "../../src/core/error-codes.js";

test("docs/errors.md lists exactly the codes of the registry, with their HTTP status", () => {
  const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "errors.md"), "utf8");
  const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])] as const);
  const documented = new Map(rows);
  assert.deepEqual([...documented.keys()].sort(), Object.keys(ERROR_CODES).sort());
  for (const [code, spec] of Object.entries(ERROR_CODES)) assert.equal(documented.get(code), spec.http, code);
});
