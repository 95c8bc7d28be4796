import { type CmpOp, type Expr, formatPath, type Segment } from "./expr.js";

/** A JSON value as templates and conditions see it. */
export type Value = null | boolean | number | string | readonly Value[] | { readonly [k: string]: Value };

/** The data an expression reads: roots (`input`, `steps`, `item`, `index`) to values. */
export type Scope = Readonly<Record<string, Value | undefined>>;

/** A path that does not resolve at run time (`default(...)` turns it into its fallback). */
export class MissingValueError extends Error {
  constructor(readonly path: string) {
    super(`${path} is missing`);
    this.name = "MissingValueError";
  }
}

/** A value of the wrong kind for an operation (comparing a string with a number, `join` on a number, …). */
export class EvalTypeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EvalTypeError";
  }
}

const MAX_OUTPUT_CHARS = 1_000_000;

function kind(v: Value): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function isObject(v: Value): v is { readonly [k: string]: Value } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function step(v: Value, seg: Segment): Value | undefined {
  if (Array.isArray(v)) {
    if (typeof seg !== "number") return undefined;
    return v[seg < 0 ? v.length + seg : seg];
  }
  if (isObject(v) && Object.hasOwn(v, seg)) return v[String(seg)];
  return undefined;
}

function resolvePath(root: string, segs: readonly Segment[], scope: Scope): Value {
  let v = Object.hasOwn(scope, root) ? scope[root] : undefined;
  for (let i = 0; i < segs.length && v !== undefined; i++) {
    const next = step(v, segs[i] as Segment);
    if (next === undefined) throw new MissingValueError(formatPath(root, segs.slice(0, i + 1)));
    v = next;
  }
  if (v === undefined) throw new MissingValueError(root);
  return v;
}

/** Truthiness of a condition's value: false, null, 0, "", [] and {} are false. */
export function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return Boolean(v);
}

function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function compare(op: CmpOp, a: Value, b: Value): boolean {
  switch (op) {
    case "==":
      return equal(a, b);
    case "!=":
      return !equal(a, b);
    case "contains":
      if (typeof a === "string") {
        if (typeof b !== "string")
          throw new EvalTypeError(`'contains' on a string needs a string, got ${kind(b)}`);
        return a.includes(b);
      }
      if (Array.isArray(a)) return a.some((x) => equal(x, b));
      if (isObject(a) && typeof b === "string") return Object.hasOwn(a, b);
      throw new EvalTypeError(`'contains' needs a string, an array or an object on its left, got ${kind(a)}`);
    default: {
      const same =
        (typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string");
      if (!same) throw new EvalTypeError(`cannot compare ${kind(a)} ${op} ${kind(b)}`);
      const x = a as number | string;
      const y = b as number | string;
      return op === "<" ? x < y : op === "<=" ? x <= y : op === ">" ? x > y : x >= y;
    }
  }
}

/** Text of a value inside a template or `join`: strings as they are, everything else as JSON. */
export function toText(v: Value): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function needString(fn: string, v: Value): string {
  if (typeof v !== "string") throw new EvalTypeError(`'${fn}' needs a string, got ${kind(v)}`);
  return v;
}

function needArray(fn: string, v: Value): readonly Value[] {
  if (!Array.isArray(v)) throw new EvalTypeError(`'${fn}' needs an array, got ${kind(v)}`);
  return v;
}

function limited(s: string): string {
  if (s.length > MAX_OUTPUT_CHARS)
    throw new EvalTypeError(`a value longer than ${MAX_OUTPUT_CHARS} characters`);
  return s;
}

function callFn(fn: string, args: readonly Value[]): Value {
  const [a, b] = args as [Value, Value | undefined];
  switch (fn) {
    case "length":
      if (a === null) return 0;
      if (typeof a === "string" || Array.isArray(a)) return a.length;
      if (isObject(a)) return Object.keys(a).length;
      throw new EvalTypeError(`'length' needs a string, an array or an object, got ${kind(a)}`);
    case "json":
      return limited(JSON.stringify(a));
    case "join":
      return limited(
        needArray("join", a)
          .map(toText)
          .join(b === undefined ? ", " : needString("join", b)),
      );
    case "lower":
      return needString(fn, a).toLowerCase();
    case "upper":
      return needString(fn, a).toUpperCase();
    case "trim":
      return needString(fn, a).trim();
    case "first":
      return needArray(fn, a)[0] ?? null;
    case "last":
      return needArray(fn, a).at(-1) ?? null;
    case "number": {
      const n = typeof a === "number" ? a : typeof a === "string" && a.trim() !== "" ? Number(a) : Number.NaN;
      return Number.isFinite(n) ? n : null;
    }
    case "string":
      return limited(toText(a));
    default:
      throw new EvalTypeError(`unknown function '${fn}'`);
  }
}

/** Evaluates an expression over `scope`. Throws MissingValueError or EvalTypeError; never runs code. */
export function evaluate(e: Expr, scope: Scope): Value {
  switch (e.t) {
    case "lit":
      return e.value;
    case "path":
      return resolvePath(e.root, e.segs, scope);
    case "not":
      return !truthy(evaluate(e.arg, scope));
    case "logic": {
      const left = truthy(evaluate(e.left, scope));
      if (e.op === "and") return left && truthy(evaluate(e.right, scope));
      return left || truthy(evaluate(e.right, scope));
    }
    case "cmp":
      return compare(e.op, evaluate(e.left, scope), evaluate(e.right, scope));
    case "call": {
      if (e.fn === "default") {
        try {
          const v = evaluate(e.args[0] as Expr, scope);
          if (v !== null) return v;
        } catch (err) {
          if (!(err instanceof MissingValueError)) throw err;
        }
        return evaluate(e.args[1] as Expr, scope);
      }
      return callFn(
        e.fn,
        e.args.map((a) => evaluate(a, scope)),
      );
    }
  }
}
