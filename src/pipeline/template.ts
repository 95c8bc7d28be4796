/**
 * Templates: JSON values whose strings may hold `{{ expression }}` parts. A string that is one
 * expression and nothing else (`"{{ input.docs }}"`) becomes the expression's value with its type
 * (an array stays an array); a string with text around its expressions becomes text, each value
 * inserted as text (strings as they are, other values as JSON). `{{ "{{" }}` writes a literal `{{`.
 */
import { evaluate, type Scope, toText, type Value } from "./evaluate.js";
import { type Expr, ExprSyntaxError, parseExpr, pathsOf } from "./expr.js";

type Part = string | { readonly expr: Expr; readonly src: string };

export type Template =
  | { readonly t: "const"; readonly value: Value }
  | { readonly t: "text"; readonly parts: readonly Part[] }
  | { readonly t: "whole"; readonly expr: Expr; readonly src: string }
  | { readonly t: "array"; readonly items: readonly Template[] }
  | { readonly t: "object"; readonly entries: ReadonlyArray<readonly [string, Template]> };

/** A template that does not parse, with the path inside the templated value where it sits. */
export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    /** Keys and indexes from the templated value's root to the string at fault. */
    readonly path: ReadonlyArray<string | number>,
  ) {
    super(message);
    this.name = "TemplateSyntaxError";
  }
}

const MAX_TEMPLATE_CHARS = 100_000;

function findClose(src: string, from: number): number {
  // The closing `}}` of an expression, skipping quoted strings (which may contain `}}`).
  let quote: string | undefined;
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "}" && src[i + 1] === "}") return i;
  }
  return -1;
}

/** Splits a string into text and expressions; throws TemplateSyntaxError with the offending part. */
export function parseTemplateString(src: string, where: ReadonlyArray<string | number> = []): Template {
  if (src.length > MAX_TEMPLATE_CHARS) throw new TemplateSyntaxError("the template is too long", where);
  const parts: Part[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    if (open < 0) {
      parts.push(src.slice(i));
      break;
    }
    if (open > i) parts.push(src.slice(i, open));
    const close = findClose(src, open + 2);
    if (close < 0) throw new TemplateSyntaxError(`'{{' at offset ${open} has no closing '}}'`, where);
    const body = src.slice(open + 2, close);
    try {
      parts.push({ expr: parseExpr(body), src: body.trim() });
    } catch (err) {
      if (!(err instanceof ExprSyntaxError)) throw err;
      throw new TemplateSyntaxError(`in '{{${body}}}': ${err.message} (offset ${err.offset})`, where);
    }
    i = close + 2;
  }
  const merged = parts.filter((p) => p !== "");
  if (merged.length === 0) return { t: "const", value: src };
  if (merged.length === 1 && typeof merged[0] === "object") {
    const only = merged[0];
    return { t: "whole", expr: only.expr, src: only.src };
  }
  if (merged.every((p) => typeof p === "string")) return { t: "const", value: merged.join("") };
  return { t: "text", parts: merged };
}

/** Compiles a JSON value (from the config) into a template: every string inside may hold expressions. */
export function compileTemplate(value: unknown, where: ReadonlyArray<string | number> = []): Template {
  if (typeof value === "string") return parseTemplateString(value, where);
  if (Array.isArray(value))
    return { t: "array", items: value.map((v, i) => compileTemplate(v, [...where, i])) };
  if (value && typeof value === "object") {
    return {
      t: "object",
      entries: Object.entries(value).map(([k, v]) => [k, compileTemplate(v, [...where, k])] as const),
    };
  }
  if (value === undefined) return { t: "const", value: null };
  return { t: "const", value: value as Value };
}

/** The same template, but always text: a lone expression's value is inserted as text (a prompt). */
export function asText(t: Template): Template {
  if (t.t === "whole") return { t: "text", parts: [{ expr: t.expr, src: t.src }] };
  if (t.t === "const" && typeof t.value !== "string") return { t: "const", value: JSON.stringify(t.value) };
  return t;
}

/** Every expression of a template, with the source text it was written as. */
export function expressionsOf(t: Template, out: Array<{ expr: Expr; src: string }> = []) {
  switch (t.t) {
    case "whole":
      out.push({ expr: t.expr, src: t.src });
      break;
    case "text":
      for (const p of t.parts) if (typeof p !== "string") out.push(p);
      break;
    case "array":
      for (const i of t.items) expressionsOf(i, out);
      break;
    case "object":
      for (const [, v] of t.entries) expressionsOf(v, out);
      break;
    default:
      break;
  }
  return out;
}

/** Every path a template reads. */
export function templatePaths(t: Template) {
  return expressionsOf(t).flatMap((e) => pathsOf(e.expr));
}

/** Renders a template over `scope`. Throws MissingValueError / EvalTypeError from the expressions. */
export function render(t: Template, scope: Scope): Value {
  switch (t.t) {
    case "const":
      return t.value;
    case "whole":
      return evaluate(t.expr, scope);
    case "text": {
      let out = "";
      for (const p of t.parts) out += typeof p === "string" ? p : toText(evaluate(p.expr, scope));
      return out;
    }
    case "array":
      return t.items.map((i) => render(i, scope));
    case "object": {
      const out: Record<string, Value> = {};
      for (const [k, v] of t.entries) out[k] = render(v, scope);
      return out;
    }
  }
}
