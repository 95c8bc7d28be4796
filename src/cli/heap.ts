/**
 * V8 heap settings for the long-running commands (`serve`, `worker`): a cap on the young generation
 * and on how far the old generation grows between full collections.
 *
 * Young generation.
 * V8 sizes each of the young generation's two semi-spaces between 1 MB and 16 MB and doubles them
 * whenever many objects survive a scavenge. Loading the gateway's modules does that at once, so an
 * idle gateway already holds 32 MB of young generation, all of it resident, and keeps it. A request's
 * garbage dies young, so a few MB serve the gateway's load as well as 16 MB do.
 *
 * The maximum can only be set on the command line (`--max-semi-space-size`, read once when V8
 * starts), but the growth factor is read at each growth. So the factor is set so that the next
 * growth lands on the cap exactly (never above it: the new size is the old one times the factor);
 * after the garbage collection that grew it, growth is off. V8 may shrink the young
 * generation when the process is idle: a check each second lets it grow back to the cap. Garbage
 * collections are watched only while growth is on, so at the cap the process pays nothing per
 * collection.
 *
 * Old generation. After each full collection V8 lets the old generation grow to up to four times
 * what survived (the factor falls only when collections get slow against the program's work), so a
 * gateway that keeps ~25 MB alive holds tens of MB of dead objects under load before the next full
 * collection. `--heap-growing-percent` replaces the factor and is read each time V8 computes the next
 * limit, so it can be set from inside the process. At 20% (V8 still adds at least 8 MB) a full
 * collection comes every few seconds under full load, a few ms of pause each, mostly incremental.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { UsageError } from "./options.js";

/** Semi-space size (MB) the young generation may grow to by default; V8's own maximum is 16. */
export const DEFAULT_SEMI_SPACE_MB = 4;
const MAX_SEMI_SPACE_MB = 64;

/** Percent the old generation may grow past what the last full collection kept, by default. */
export const DEFAULT_HEAP_GROWTH_PERCENT = 20;
const MAX_HEAP_GROWTH_PERCENT = 300;

const CHECK_MS = 1_000;

/** The young generation's size now (both semi-spaces), in bytes. */
function youngBytes(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === "new_space") return s.space_size;
  return 0;
}

/** The growth factor that takes `current` bytes to at most `cap` in one growth (1: no growth). */
export function growthFactor(current: number, cap: number): number {
  if (current <= 0) return 1;
  return Math.max(1, Math.floor(cap / current));
}

const YOUNG_GENERATION_FLAGS = /^--(max|min)[-_]semi[-_]space[-_]size|^--semi[-_]space[-_]growth[-_]factor/;
const OLD_GENERATION_FLAGS = /^--heap[-_]growing[-_]percent/;

/** True when node was started with a flag matching `flags`, on its command line or in `NODE_OPTIONS`. */
function setByOperator(flags: RegExp, execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const set = (a: string) => flags.test(a);
  return execArgv.some(set) || (nodeOptions ?? "").split(/\s+/).some(set);
}

/**
 * True when the process was started with its own young-generation size (`--max-semi-space-size`
 * or `--semi-space-growth-factor`, on the command line or in `NODE_OPTIONS`): that one is kept.
 */
export function youngGenerationSetByOperator(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): boolean {
  return setByOperator(YOUNG_GENERATION_FLAGS, execArgv, nodeOptions);
}

/**
 * The whole number in `env[name]` (0 to `max`), or undefined when unset or empty; anything else is
 * a usage error naming the variable, the range and what was given.
 */
function wholeNumberFrom(
  env: NodeJS.ProcessEnv,
  name: string,
  unit: string,
  max: number,
): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n > max)
    throw new UsageError(
      `${name}: expected a whole number of ${unit} from 0 to ${max} (0 keeps V8's default), got "${raw}"`,
    );
  return n;
}

/**
 * The cap to apply (MB per semi-space; 0: none): `SWITCHYARD_SEMI_SPACE_MB` (0 keeps V8's defaults),
 * else 4 — unless the process was started with a young-generation size of its own, which is kept.
 */
export function semiSpaceCapFrom(env: NodeJS.ProcessEnv, execArgv: readonly string[]): number {
  const mb = wholeNumberFrom(env, "SWITCHYARD_SEMI_SPACE_MB", "MB", MAX_SEMI_SPACE_MB);
  if (mb !== undefined) return mb;
  return youngGenerationSetByOperator(execArgv, env.NODE_OPTIONS) ? 0 : DEFAULT_SEMI_SPACE_MB;
}

/**
 * The old generation's growth to apply (percent; 0: V8's own): `SWITCHYARD_HEAP_GROWTH_PERCENT`,
 * else 20 — unless node was started with `--heap-growing-percent` (node takes it on its command
 * line only), which is kept.
 */
export function heapGrowthPercentFrom(env: NodeJS.ProcessEnv, execArgv: readonly string[]): number {
  const pct = wholeNumberFrom(env, "SWITCHYARD_HEAP_GROWTH_PERCENT", "percent", MAX_HEAP_GROWTH_PERCENT);
  if (pct !== undefined) return pct;
  return setByOperator(OLD_GENERATION_FLAGS, execArgv, undefined) ? 0 : DEFAULT_HEAP_GROWTH_PERCENT;
}

/**
 * Lets the old generation grow by `percent` over what each full collection keeps alive before the
 * next one starts (0 leaves V8's heuristics alone). V8 reads the setting whenever it computes the
 * next limit, so it holds from the next full collection on.
 */
export function capOldGenerationGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * Keeps the young generation at `semiSpaceMb` per semi-space at most from now on; the returned
 * function stops watching. `semiSpaceMb` 0 leaves V8's defaults alone.
 */
export function capYoungGeneration(semiSpaceMb: number): () => void {
  if (semiSpaceMb <= 0) return () => {};
  const cap = 2 * semiSpaceMb * 1024 * 1024;
  let factor = 2; // V8's default
  let watching: PerformanceObserver | undefined;
  const check = (): void => {
    const f = growthFactor(youngBytes(), cap);
    if (f !== factor) {
      factor = f;
      setFlagsFromString(`--semi-space-growth-factor=${f}`);
    }
    if (factor > 1 && !watching) {
      watching = new PerformanceObserver(check);
      watching.observe({ entryTypes: ["gc"] });
    } else if (factor === 1 && watching) {
      watching.disconnect();
      watching = undefined;
    }
  };
  check();
  const timer = setInterval(check, CHECK_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    watching?.disconnect();
    watching = undefined;
  };
}
