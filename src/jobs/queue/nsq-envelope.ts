/**
 * The body of an NSQ queue message: NSQ carries bytes only, so the message id, priority and
 * `notBefore` travel with the payload in a small JSON envelope (dead letters add the reason, the
 * delivery count and when they died).
 */

export interface Envelope {
  /** The queue message id (`publish`'s `id`). */
  readonly id: string;
  readonly payload: string;
  readonly priority: number;
  /** Epoch ms before which the message is not handed out. */
  readonly notBefore: number;
}

export interface DeadEnvelope extends Envelope {
  readonly reason: string;
  readonly deliveries: number;
  /** Epoch ms of the dead-lettering (dead letters are listed in this order). */
  readonly at: number;
}

interface Wire {
  v: 1;
  i: string;
  b: string;
  p: number;
  n: number;
  r?: string;
  d?: number;
  t?: number;
}

export function encodeEnvelope(e: Envelope): string {
  const w: Wire = { v: 1, i: e.id, b: e.payload, p: e.priority, n: e.notBefore };
  return JSON.stringify(w);
}

export function encodeDead(e: DeadEnvelope): string {
  const w: Wire = {
    v: 1,
    i: e.id,
    b: e.payload,
    p: e.priority,
    n: e.notBefore,
    r: e.reason,
    d: e.deliveries,
    t: e.at,
  };
  return JSON.stringify(w);
}

const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

/** The envelope in a message body, or undefined when the body is not one (written by something else). */
export function decodeEnvelope(body: Buffer | string): Envelope | undefined {
  let w: Partial<Wire>;
  try {
    w = JSON.parse(typeof body === "string" ? body : body.toString("utf8")) as Partial<Wire>;
  } catch {
    return undefined;
  }
  if (w === null || typeof w !== "object" || w.v !== 1) return undefined;
  if (typeof w.i !== "string" || typeof w.b !== "string" || !isNum(w.p) || !isNum(w.n)) return undefined;
  return { id: w.i, payload: w.b, priority: w.p, notBefore: w.n };
}

export function decodeDead(body: Buffer | string): DeadEnvelope | undefined {
  const e = decodeEnvelope(body);
  if (!e) return undefined;
  const w = JSON.parse(typeof body === "string" ? body : body.toString("utf8")) as Partial<Wire>;
  return {
    ...e,
    reason: typeof w.r === "string" ? w.r : "",
    deliveries: isNum(w.d) ? w.d : 0,
    at: isNum(w.t) ? w.t : 0,
  };
}
