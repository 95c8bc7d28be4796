import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import ts from "typescript";

/**
 * Turns one self-contained TypeScript file into plain ESM JavaScript, so that a process under test
 * runs on bare `node` (the tsx loader adds a hooks thread of ~30 MB and would skew RSS and CPU).
 * The output lands under bench/results/, beside the repo's node_modules for package resolution.
 */
export function transpileFile(source: string, outDir: string): string {
  const out = ts.transpileModule(readFileSync(source, "utf8"), {
    fileName: source,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  });
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, basename(source).replace(/\.ts$/, ".mjs"));
  writeFileSync(file, out.outputText);
  return file;
}
