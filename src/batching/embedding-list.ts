/**
 * Cuts an OpenAI embeddings answer (`{"object":"list","data":[…],"model":…,"usage":…}`) into the
 * answers of the requests merged into it, without parsing the vectors: the text is scanned for the
 * `data` elements and their `index`, and each member's answer is put together from slices of it.
 */

import { extractUsage } from "../backends/usage.js";
import { GatewayError } from "../core/errors.js";
import type { Usage } from "../core/types.js";

interface Span {
  start: number;
  end: number;
}

interface Member extends Span {
  key: string;
  valueStart: number;
}

interface Element extends Span {
  /** Where the value of its `index` sits (replaced by the member's own index). */
  index: Span | undefined;
}

/** A scanned embeddings answer. */
export interface EmbeddingList {
  readonly text: string;
  /** Top-level members in their order (`data` and `usage` are rewritten per caller, the rest kept). */
  readonly members: readonly Member[];
  /** The `data` elements ordered by their `index`. */
  readonly elements: readonly Element[];
  /** The upstream's usage, when it reported one. */
  readonly usage: Usage | undefined;
}

function bad(why: string): GatewayError {
  return new GatewayError("upstream_bad_response", `upstream embeddings answer could not be split: ${why}`);
}

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** Finds the next `"`, `[`, `]`, `{` or `}`: the regex engine skips runs of numbers in one go. */
const STRUCTURAL = /["[\]{}]/g;

/**
 * One forward pass over the answer's text. Flat arrays of numbers (float vectors) are skipped with
 * native searches, and base64 vectors are strings found with `indexOf`, so a batch's answer of
 * megabytes costs well under a millisecond. The next position of `[`, `{` and `"` is cached so the
 * searches stay linear over the whole text.
 */
class Scanner {
  private readonly nextAt = new Map<string, number>();

  constructor(readonly t: string) {}

  ws(i: number): number {
    let j = i;
    while (isWs(this.t.charCodeAt(j))) j++;
    return j;
  }

  /** The index just past the string that starts at `i`. */
  stringEnd(i: number): number {
    const t = this.t;
    let j = i + 1;
    for (;;) {
      const q = t.indexOf('"', j);
      if (q < 0) throw bad("unterminated string");
      let slashes = 0;
      while (t.charCodeAt(q - 1 - slashes) === 92 /* \\ */) slashes++;
      if (slashes % 2 === 0) return q + 1;
      j = q + 1;
    }
  }

  /** The next position of `ch` at or after `from` (Infinity when none). */
  private next(ch: string, from: number): number {
    const cached = this.nextAt.get(ch);
    if (cached !== undefined && cached >= from) return cached;
    const at = this.t.indexOf(ch, from);
    const pos = at < 0 ? Number.POSITIVE_INFINITY : at;
    this.nextAt.set(ch, pos);
    return pos;
  }

  /** The index just past the JSON value that starts at `i`. */
  valueEnd(i: number): number {
    const t = this.t;
    const c = t.charCodeAt(i);
    if (c === 34) return this.stringEnd(i);
    if (c === 91) {
      const close = this.next("]", i + 1);
      const flat =
        close < this.next("[", i + 1) && close < this.next("{", i + 1) && close < this.next('"', i + 1);
      if (Number.isFinite(close) && flat) return close + 1;
    }
    if (c === 91 || c === 123) return this.containerEnd(i);
    let j = i;
    while (j < t.length) {
      const d = t.charCodeAt(j);
      if (d === 44 || d === 125 || d === 93 || isWs(d)) break;
      j++;
    }
    if (j === i) throw bad("missing value");
    return j;
  }

  private containerEnd(i: number): number {
    const t = this.t;
    let depth = 0;
    STRUCTURAL.lastIndex = i;
    while (STRUCTURAL.test(t)) {
      const j = STRUCTURAL.lastIndex - 1;
      const d = t.charCodeAt(j);
      if (d === 34) STRUCTURAL.lastIndex = this.stringEnd(j);
      else if (d === 123 || d === 91) depth++;
      else if (--depth === 0) return j + 1;
    }
    throw bad("unbalanced brackets");
  }

  /**
   * The members of the object at `start` and the index past it. `special` may take over a member's
   * value (answering where it ends); other values are skipped.
   */
  object(
    start: number,
    special?: (key: string, at: number) => number | undefined,
  ): { members: Member[]; end: number } {
    const t = this.t;
    if (t.charCodeAt(start) !== 123) throw bad("expected an object");
    const members: Member[] = [];
    let i = this.ws(start + 1);
    if (t.charCodeAt(i) === 125) return { members, end: i + 1 };
    for (;;) {
      if (t.charCodeAt(i) !== 34) throw bad("expected a key");
      const keyEnd = this.stringEnd(i);
      const key = JSON.parse(t.slice(i, keyEnd)) as string;
      let j = this.ws(keyEnd);
      if (t.charCodeAt(j) !== 58 /* : */) throw bad("expected ':'");
      j = this.ws(j + 1);
      const end = special?.(key, j) ?? this.valueEnd(j);
      members.push({ key, start: i, valueStart: j, end });
      i = this.ws(end);
      const c = t.charCodeAt(i);
      if (c === 125) return { members, end: i + 1 };
      if (c !== 44) throw bad("expected ',' or '}'");
      i = this.ws(i + 1);
    }
  }

  /** The objects of the array at `start` (each with its members) and the index past it. */
  objects(start: number): { items: Array<Span & { members: Member[] }>; end: number } {
    const t = this.t;
    if (t.charCodeAt(start) !== 91) throw bad("'data' is not an array");
    const items: Array<Span & { members: Member[] }> = [];
    let i = this.ws(start + 1);
    if (t.charCodeAt(i) === 93) return { items, end: i + 1 };
    for (;;) {
      const { members, end } = this.object(i);
      items.push({ start: i, end, members });
      i = this.ws(end);
      const c = t.charCodeAt(i);
      if (c === 93) return { items, end: i + 1 };
      if (c !== 44) throw bad("expected ',' or ']'");
      i = this.ws(i + 1);
    }
  }
}

/** Scans an embeddings answer of `items` inputs; throws `upstream_bad_response` when it does not fit. */
export function scanEmbeddingList(text: string, items: number): EmbeddingList {
  const scan = new Scanner(text);
  let spans: Array<Span & { members: Member[] }> | undefined;
  const { members } = scan.object(scan.ws(0), (key, at) => {
    if (key !== "data") return undefined;
    const found = scan.objects(at);
    spans = found.items;
    return found.end;
  });
  if (!spans) throw bad("no 'data'");
  if (spans.length !== items) throw bad(`${spans.length} embeddings for ${items} inputs`);
  const elements: Array<Element | undefined> = new Array(items);
  spans.forEach((span, pos) => {
    const idx = span.members.find((m) => m.key === "index");
    const at = idx ? Number(text.slice(idx.valueStart, idx.end)) : pos;
    if (!Number.isInteger(at) || at < 0 || at >= items || elements[at]) throw bad(`bad index at ${pos}`);
    elements[at] = {
      start: span.start,
      end: span.end,
      index: idx ? { start: idx.valueStart, end: idx.end } : undefined,
    };
  });
  const usageMember = members.find((m) => m.key === "usage");
  let usage: Usage | undefined;
  if (usageMember) {
    try {
      usage = extractUsage({ usage: JSON.parse(text.slice(usageMember.valueStart, usageMember.end)) });
    } catch {
      throw bad("'usage' is not JSON");
    }
  }
  return { text, members, elements: elements as Element[], usage };
}

/** The answer of the caller whose inputs are `count` items from `offset`, indexed from 0, with its `usage`. */
export function renderMember(list: EmbeddingList, offset: number, count: number, usage?: Usage): string {
  const t = list.text;
  const parts: string[] = [];
  for (let j = 0; j < count; j++) {
    const el = list.elements[offset + j] as Element;
    parts.push(
      el.index
        ? t.slice(el.start, el.index.start) + String(j) + t.slice(el.index.end, el.end)
        : t.slice(el.start, el.end),
    );
  }
  const out: string[] = [];
  for (const m of list.members) {
    if (m.key === "data") out.push(`"data":[${parts.join(",")}]`);
    else if (m.key === "usage" && usage) {
      out.push(`"usage":{"prompt_tokens":${usage.prompt_tokens},"total_tokens":${usage.total_tokens}}`);
    } else out.push(t.slice(m.start, m.end));
  }
  return `{${out.join(",")}}`;
}
