/**
 * Statements of one kind that arrive in the same turn of the event loop, written as one: one pool
 * checkout, one round trip and one commit (one WAL flush on a durable server) for all of them. Under
 * load a gateway accepts several job submissions in one turn, and a worker claims several deliveries
 * and records several results in one turn; each of those kinds goes out as one statement. An item is
 * never held back: the batch goes out at the end of the turn it was added in (`setImmediate`), or at
 * once when it is full: `max` items, or `maxBytes` of text (large items go in smaller batches, so no
 * statement grows past what a single item would make it).
 *
 * A batch of one runs the item's own single-row statement. A failed batch fails every item when the
 * database is unavailable (they would all fail alone too); any other error (one bad row) sends each
 * item again on its own, in order, so one item cannot fail the others.
 */
import { isUnavailable, type PgDb } from "./postgres-db.js";

export interface TurnBatchOptions<A, R> {
  /** One statement for two or more items; resolves with one result per item, in their order. */
  many(items: A[]): Promise<R[]>;
  /** The statement for one item alone (also each item's retry when a batch is refused). */
  one(item: A): Promise<R>;
  /** Items per statement. */
  max?: number;
  /** Text per statement (see `size`); a single item may be larger. */
  maxBytes?: number;
  /** An item's text, counted against `maxBytes`. */
  size?(item: A): number;
}

interface Pending<A, R> {
  item: A;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

export class TurnBatcher<A, R> {
  readonly #o: TurnBatchOptions<A, R>;
  readonly #max: number;
  readonly #maxBytes: number;
  #items: Pending<A, R>[] = [];
  #bytes = 0;
  #scheduled = false;

  constructor(opts: TurnBatchOptions<A, R>) {
    this.#o = opts;
    this.#max = opts.max ?? 64;
    this.#maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
  }

  run(item: A): Promise<R> {
    const size = this.#o.size?.(item) ?? 0;
    return new Promise<R>((resolve, reject) => {
      if (this.#items.length > 0 && this.#bytes + size > this.#maxBytes) this.#flush();
      this.#items.push({ item, resolve, reject });
      this.#bytes += size;
      if (this.#items.length >= this.#max || this.#bytes >= this.#maxBytes) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    const items = this.#items;
    if (items.length === 0) return;
    this.#items = [];
    this.#bytes = 0;
    void this.#write(items);
  }

  async #write(items: Pending<A, R>[]): Promise<void> {
    if (items.length === 1) {
      const p = items[0]!;
      await this.#o.one(p.item).then(p.resolve, p.reject);
      return;
    }
    let results: R[];
    try {
      results = await this.#o.many(items.map((p) => p.item));
    } catch (err) {
      if (isUnavailable(err)) {
        for (const p of items) p.reject(err);
        return;
      }
      // One row the database refuses must not take the others with it: each goes alone, in order.
      for (const p of items) await this.#o.one(p.item).then(p.resolve, p.reject);
      return;
    }
    for (let i = 0; i < items.length; i++) items[i]!.resolve(results[i] as R);
  }
}

/** Single-row INSERTs of one turn as one multi-row INSERT (job submissions without an idempotency key). */
export class InsertBatcher {
  readonly #db: PgDb;
  readonly #head: string;
  readonly #row: string;
  readonly #width: number;
  readonly #texts = new Map<number, string>();
  readonly #batch: TurnBatcher<unknown[], void>;

  /**
   * @param head `INSERT INTO t (a, b, …) VALUES`
   * @param row one row's value list with `$1`…`$width` (placeholders may repeat, literals are kept)
   * @param width how many values each row binds
   * @param max rows per statement (PostgreSQL binds at most 65,535 values per statement)
   * @param maxBytes text per statement (string values' lengths); a row alone may be larger
   */
  constructor(db: PgDb, head: string, row: string, width: number, max = 64, maxBytes = 4 * 1024 * 1024) {
    if (width * max > 65_535) throw new RangeError("too many values per statement");
    this.#db = db;
    this.#head = head;
    this.#row = row;
    this.#width = width;
    this.#batch = new TurnBatcher<unknown[], void>({
      many: async (rows) => {
        await this.#db.query(this.#text(rows.length), rows.flat());
        return [];
      },
      one: async (values) => {
        await this.#db.query(this.#text(1), values);
      },
      max,
      maxBytes,
      size: textSize,
    });
  }

  insert(values: unknown[]): Promise<void> {
    if (values.length !== this.#width) throw new RangeError(`expected ${this.#width} values`);
    return this.#batch.run(values);
  }

  /** The statement for `n` rows (built once per `n`): row k's `$i` becomes `$(k × width + i)`. */
  #text(n: number): string {
    const known = this.#texts.get(n);
    if (known !== undefined) return known;
    const parts: string[] = [];
    for (let k = 0; k < n; k++) {
      const offset = k * this.#width;
      parts.push(this.#row.replace(/\$(\d+)/g, (_, i: string) => `$${Number(i) + offset}`));
    }
    const text = `${this.#head} ${parts.join(", ")}`;
    this.#texts.set(n, text);
    return text;
  }
}

/** The text a list of values carries (string lengths; anything else counts 8). */
export function textSize(values: readonly unknown[]): number {
  let size = 0;
  for (const v of values) size += typeof v === "string" ? v.length : 8;
  return size;
}
