/**
 * Single-row INSERTs that arrive in the same turn of the event loop, written as one multi-row INSERT:
 * one pool checkout, one round trip and one commit (one WAL flush on a durable server) for all of
 * them. Concurrent job submissions are the case it is made for: under load a gateway takes several in
 * one turn. A row is never held back: the batch goes out at the end of the turn it was added in
 * (`setImmediate`), or at once when it is full: `max` rows, or `maxBytes` of text values (large job
 * bodies go in smaller batches, so no statement grows past what a single body would make it).
 *
 * A failed batch fails every row when the database is unavailable (they would all fail alone too);
 * any other error (one bad row) sends each row again on its own, so one row cannot fail the others.
 */
import { isUnavailable, type PgDb } from "./postgres-db.js";

interface Row {
  values: unknown[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class InsertBatcher {
  readonly #db: PgDb;
  readonly #head: string;
  readonly #row: string;
  readonly #width: number;
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #texts = new Map<number, string>();
  #rows: Row[] = [];
  #bytes = 0;
  #scheduled = false;

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
    this.#max = max;
    this.#maxBytes = maxBytes;
  }

  insert(values: unknown[]): Promise<void> {
    if (values.length !== this.#width) throw new RangeError(`expected ${this.#width} values`);
    let size = 0;
    for (const v of values) size += typeof v === "string" ? v.length : 8;
    return new Promise<void>((resolve, reject) => {
      if (this.#rows.length > 0 && this.#bytes + size > this.#maxBytes) this.#flush();
      this.#rows.push({ values, resolve, reject });
      this.#bytes += size;
      if (this.#rows.length >= this.#max || this.#bytes >= this.#maxBytes) this.#flush();
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
    const rows = this.#rows;
    if (rows.length === 0) return;
    this.#rows = [];
    this.#bytes = 0;
    void this.#write(rows);
  }

  async #write(rows: Row[]): Promise<void> {
    const single = rows.length === 1;
    try {
      await this.#db.query(this.#text(rows.length), single ? rows[0]!.values : rows.flatMap((r) => r.values));
    } catch (err) {
      if (single || isUnavailable(err)) {
        for (const r of rows) r.reject(err);
        return;
      }
      // One row the database refuses must not take the others with it: each goes alone, in order.
      for (const r of rows) await this.#write([r]);
      return;
    }
    for (const r of rows) r.resolve();
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
