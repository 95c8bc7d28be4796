/** The step graph of a pipeline: a topological order, or the first cycle found. */

interface Node {
  readonly name: string;
  readonly deps: readonly string[];
}

/** Finds a cycle by depth-first search; returns it as `a → b → a` names, or undefined. */
export function findCycle(nodes: readonly Node[]): string[] | undefined {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    state.set(name, 1);
    stack.push(name);
    for (const dep of byName.get(name)?.deps ?? []) {
      if (!byName.has(dep)) continue;
      if (state.get(dep) === 1) return [...stack.slice(stack.indexOf(dep)), dep];
      if (!state.has(dep)) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(name, 2);
    return undefined;
  };
  for (const n of nodes) {
    if (state.has(n.name)) continue;
    const found = visit(n.name);
    if (found) return found.reverse();
  }
  return undefined;
}

/**
 * The nodes in an order where each comes after its dependencies (ties keep the config's order), or
 * undefined after `onCycle` was told the cycle.
 */
export function orderSteps<T extends Node>(
  nodes: readonly T[],
  onCycle: (cycle: string[]) => void,
): T[] | undefined {
  const cycle = findCycle(nodes);
  if (cycle) {
    onCycle(cycle);
    return undefined;
  }
  const done = new Set<string>();
  const out: T[] = [];
  const known = new Set(nodes.map((n) => n.name));
  while (out.length < nodes.length) {
    for (const n of nodes) {
      if (done.has(n.name)) continue;
      if (n.deps.every((d) => done.has(d) || !known.has(d))) {
        done.add(n.name);
        out.push(n);
      }
    }
  }
  return out;
}
