/**
 * The small expression language of pipeline templates (`{{ … }}`) and conditions (`when`): paths into
 * the run's data, literals, comparisons, `and`/`or`/`not`, `contains`, and a few pure functions that
 * may also be written as filters (`x | join(", ")` is `join(x, ", ")`). It is parsed once, at config
 * load, into a tree that `evaluate.ts` walks; nothing is ever compiled to JavaScript.
 */

/** A path segment: a field name or an array index / quoted key. */
export type Segment = string | number;

export type Expr =
  | { readonly t: "lit"; readonly value: string | number | boolean | null }
  | { readonly t: "path"; readonly root: string; readonly segs: readonly Segment[] }
  | { readonly t: "call"; readonly fn: string; readonly args: readonly Expr[] }
  | { readonly t: "not"; readonly arg: Expr }
  | { readonly t: "logic"; readonly op: "and" | "or"; readonly left: Expr; readonly right: Expr }
  | { readonly t: "cmp"; readonly op: CmpOp; readonly left: Expr; readonly right: Expr };

export type CmpOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "contains";

/** Functions (and filters) and how many arguments each takes, the piped value included. */
export const FUNCTIONS: Readonly<Record<string, readonly [min: number, max: number]>> = {
  length: [1, 1],
  json: [1, 1],
  join: [1, 2],
  default: [2, 2],
  lower: [1, 1],
  upper: [1, 1],
  trim: [1, 1],
  first: [1, 1],
  last: [1, 1],
  number: [1, 1],
  string: [1, 1],
};

/** A syntax error with the offset where it was found. */
export class ExprSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "ExprSyntaxError";
  }
}

type Tok =
  | { k: "num"; v: number; at: number }
  | { k: "str"; v: string; at: number }
  | { k: "id"; v: string; at: number }
  | { k: "op"; v: string; at: number }
  | { k: "end"; at: number };

const MAX_LENGTH = 2_000;
const MAX_DEPTH = 32;
const IDENT = /[A-Za-z_][A-Za-z0-9_-]*/y;
const NUMBER = /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const OPS = ["==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", ".", ",", "|", "-"];

function readString(src: string, start: number): [string, number] {
  const quote = src[start];
  let out = "";
  let i = start + 1;
  while (i < src.length && src[i] !== quote) {
    if (src[i] === "\\") {
      const next = src[i + 1];
      if (next === undefined) break;
      out += next === "n" ? "\n" : next === "t" ? "\t" : next;
      i += 2;
    } else out += src[i++];
  }
  if (i >= src.length) throw new ExprSyntaxError("unterminated string", start);
  return [out, i + 1];
}

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const [v, next] = readString(src, i);
      toks.push({ k: "str", v, at: i });
      i = next;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(src);
    if (num) {
      toks.push({ k: "num", v: Number(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    IDENT.lastIndex = i;
    const id = IDENT.exec(src);
    if (id) {
      toks.push({ k: "id", v: id[0], at: i });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExprSyntaxError(`unexpected character '${c}'`, i);
    toks.push({ k: "op", v: op, at: i });
    i += op.length;
  }
  toks.push({ k: "end", at: src.length });
  return toks;
}

const KEYWORDS = new Set(["and", "or", "not", "contains", "true", "false", "null"]);

/** A recursive-descent parser over the tokens; precedence: or < and < not < comparison < pipe < primary. */
class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.i] as Tok;
  }

  private isOp(v: string): boolean {
    const t = this.peek();
    return t.k === "op" && t.v === v;
  }

  private isWord(v: string): boolean {
    const t = this.peek();
    return t.k === "id" && t.v === v;
  }

  private expectOp(v: string): void {
    if (!this.isOp(v)) throw this.unexpected(`'${v}'`);
    this.i++;
  }

  private unexpected(wanted: string): ExprSyntaxError {
    const t = this.peek();
    const got = t.k === "end" ? "the end" : `'${"v" in t ? String(t.v) : ""}'`;
    return new ExprSyntaxError(`expected ${wanted}, found ${got}`, t.at);
  }

  parseAll(): Expr {
    const e = this.or();
    if (this.peek().k !== "end") throw this.unexpected("an operator or the end");
    return e;
  }

  private nest<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new ExprSyntaxError("expression nested too deeply", this.peek().at);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private or(): Expr {
    let left = this.and();
    while (this.isWord("or")) {
      this.i++;
      left = { t: "logic", op: "or", left, right: this.and() };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isWord("and")) {
      this.i++;
      left = { t: "logic", op: "and", left, right: this.not() };
    }
    return left;
  }

  private not(): Expr {
    if (this.isWord("not")) {
      this.i++;
      return this.nest(() => ({ t: "not", arg: this.not() }));
    }
    return this.cmp();
  }

  private cmp(): Expr {
    const left = this.pipe();
    const t = this.peek();
    let op: CmpOp | undefined;
    if (t.k === "op" && ["==", "!=", "<", "<=", ">", ">="].includes(t.v)) op = t.v as CmpOp;
    else if (t.k === "id" && t.v === "contains") op = "contains";
    if (!op) return left;
    this.i++;
    return { t: "cmp", op, left, right: this.pipe() };
  }

  private pipe(): Expr {
    let value = this.primary();
    while (this.isOp("|")) {
      this.i++;
      const name = this.peek();
      if (name.k !== "id" || KEYWORDS.has(name.v)) throw this.unexpected("a filter name");
      this.i++;
      const rest = this.isOp("(") ? this.args() : [];
      value = this.call(name.v, [value, ...rest], name.at);
    }
    return value;
  }

  private args(): Expr[] {
    this.expectOp("(");
    const out: Expr[] = [];
    if (!this.isOp(")")) {
      do out.push(this.nest(() => this.or()));
      while (this.isOp(",") && ++this.i);
    }
    this.expectOp(")");
    return out;
  }

  private call(fn: string, args: Expr[], at: number): Expr {
    const arity = FUNCTIONS[fn];
    if (!arity) throw new ExprSyntaxError(`unknown function '${fn}'`, at);
    if (args.length < arity[0] || args.length > arity[1]) {
      const want = arity[0] === arity[1] ? `${arity[0]}` : `${arity[0]} or ${arity[1]}`;
      throw new ExprSyntaxError(`'${fn}' takes ${want} argument(s), got ${args.length}`, at);
    }
    return { t: "call", fn, args };
  }

  private primary(): Expr {
    const t = this.peek();
    if (t.k === "num" || t.k === "str") {
      this.i++;
      return { t: "lit", value: t.v };
    }
    if (t.k === "op" && t.v === "-") {
      this.i++;
      const n = this.peek();
      if (n.k !== "num") throw this.unexpected("a number after '-'");
      this.i++;
      return { t: "lit", value: -n.v };
    }
    if (t.k === "op" && t.v === "(") {
      this.i++;
      const inner = this.nest(() => this.or());
      this.expectOp(")");
      return inner;
    }
    if (t.k !== "id") throw this.unexpected("a value, a path or a function");
    this.i++;
    if (t.v === "true" || t.v === "false") return { t: "lit", value: t.v === "true" };
    if (t.v === "null") return { t: "lit", value: null };
    if (KEYWORDS.has(t.v)) throw new ExprSyntaxError(`unexpected '${t.v}'`, t.at);
    if (this.isOp("(")) return this.call(t.v, this.args(), t.at);
    return { t: "path", root: t.v, segs: this.segments() };
  }

  private segments(): Segment[] {
    const segs: Segment[] = [];
    for (;;) {
      if (this.isOp(".")) {
        this.i++;
        const name = this.peek();
        if (name.k !== "id") throw this.unexpected("a field name after '.'");
        this.i++;
        segs.push(name.v);
      } else if (this.isOp("[")) {
        this.i++;
        const key = this.peek();
        if (key.k === "num" && Number.isInteger(key.v)) segs.push(key.v);
        else if (key.k === "str") segs.push(key.v);
        else throw this.unexpected("an index or a quoted key inside '[ ]'");
        this.i++;
        this.expectOp("]");
      } else return segs;
    }
  }
}

/** Parses one expression; throws ExprSyntaxError naming what was expected and where. */
export function parseExpr(src: string): Expr {
  if (src.length > MAX_LENGTH) throw new ExprSyntaxError(`longer than ${MAX_LENGTH} characters`, 0);
  return new Parser(lex(src)).parseAll();
}

/** Every path an expression reads (for load-time reference checks and the step graph). */
export function pathsOf(e: Expr, out: Array<Extract<Expr, { t: "path" }>> = []) {
  switch (e.t) {
    case "path":
      out.push(e);
      break;
    case "call":
      for (const a of e.args) pathsOf(a, out);
      break;
    case "not":
      pathsOf(e.arg, out);
      break;
    case "logic":
    case "cmp":
      pathsOf(e.left, out);
      pathsOf(e.right, out);
      break;
    default:
      break;
  }
  return out;
}

/** `root.a[0]["b c"]` as written in a config. */
export function formatPath(root: string, segs: readonly Segment[]): string {
  let out = root;
  for (const s of segs)
    out +=
      typeof s === "number"
        ? `[${s}]`
        : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)
          ? `.${s}`
          : `[${JSON.stringify(s)}]`;
  return out;
}
