/**
 * Conditions (`when` on a step): one expression of the template language, written bare
 * (`steps.draft.output.finish_reason == "length"`) or inside `{{ }}`. It holds when its value is
 * truthy: not false, null, 0, "", [] or {}. Parsed at load; evaluated without running any code.
 */
import { evaluate, type Scope, truthy } from "./evaluate.js";
import { type Expr, parseExpr } from "./expr.js";

export interface Condition {
  readonly expr: Expr;
  /** The condition as written (for errors and debug output). */
  readonly src: string;
}

/** Parses a condition; throws ExprSyntaxError. */
export function parseCondition(src: string): Condition {
  const trimmed = src.trim();
  const bare = /^\{\{[\s\S]*\}\}$/.test(trimmed) ? trimmed.slice(2, -2) : trimmed;
  return { expr: parseExpr(bare), src: trimmed };
}

/** Whether the condition holds over `scope`; throws MissingValueError / EvalTypeError. */
export function holds(c: Condition, scope: Scope): boolean {
  return truthy(evaluate(c.expr, scope));
}
