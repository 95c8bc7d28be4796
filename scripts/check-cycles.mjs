// Finds import cycles between the project's own modules (relative imports only; type-only imports count too,
// since they still tie two modules' designs together).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;

// Generated code (protobuf types, whose Struct and Value refer to each other by definition) is not ours to shape.
const SKIP = new Set(["generated"]);

function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (!SKIP.has(name)) out.push(...sources(p));
    } else if (name.endsWith(".ts")) out.push(resolve(p));
  }
  return out;
}

export function checkCycles(root) {
  const graph = new Map();
  for (const file of sources(root)) {
    const text = readFileSync(file, "utf8");
    const deps = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      deps.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
    }
    graph.set(file, deps);
  }
  const cycles = [];
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, 1);
    stack.push(node);
    for (const dep of graph.get(node) ?? []) {
      if (!graph.has(dep)) continue;
      if (state.get(dep) === 1)
        cycles.push([...stack.slice(stack.indexOf(dep)), dep].map((p) => p.slice(resolve(root).length + 1)));
      else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(node, 2);
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}
