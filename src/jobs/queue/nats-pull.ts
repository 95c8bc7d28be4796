/**
 * No-wait pulls from durable JetStream consumers, on the consumer API directly: the server sends
 * what is ready now (up to `batch`) and then a `404 No Messages` status, so an empty priority class
 * costs one round trip (the client library's `fetch` waits at least a second).
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { createInbox } from "@nats-io/transport-node";

export interface AckInfo {
  /** The consumer that delivered it. */
  readonly consumer: string;
  /** The message's sequence in the stream. */
  readonly seq: number;
  /** Deliveries so far, this one included. */
  readonly deliveries: number;
}

/**
 * Reads the delivery info from an ack subject: `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.…`
 * (9 tokens) or `$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.…` (11 or 12).
 */
export function parseAckSubject(reply: string | undefined): AckInfo | undefined {
  if (!reply?.startsWith("$JS.ACK.")) return undefined;
  const t = reply.split(".");
  const at = t.length === 9 ? 4 : t.length >= 11 ? 6 : -1;
  if (at < 0) return undefined;
  const deliveries = Number(t[at]);
  const seq = Number(t[at + 1]);
  if (!Number.isSafeInteger(deliveries) || !Number.isSafeInteger(seq)) return undefined;
  return { consumer: t[at - 1]!, seq, deliveries };
}

interface PullState {
  readonly consumer: string;
  readonly got: Msg[];
  readonly batch: number;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (msgs: Msg[]) => void;
}

/**
 * No-wait pulls over one inbox subscription (`<inbox>.*`, made on the first pull): each pull names
 * its own reply subject under it, so a pull costs one message to the server instead of a subscribe,
 * the request and an unsubscribe, which matters most to an idle worker that polls every class
 * several times a second. A status (the end of a pull) comes on the pull's own reply subject; a
 * message keeps its stream subject, so it goes to the oldest open pull of the consumer that
 * delivered it (its ack subject names it). A message no open pull of its consumer can take (its
 * pull timed out) is handed back at once (`-NAK`) instead of waiting out the consumer's `ack_wait`.
 */
export class PullInbox {
  readonly #nc: NatsConnection;
  readonly #prefix = createInbox();
  /** Open pulls by token, in the order they were made. */
  readonly #pulls = new Map<string, PullState>();
  #sub: Subscription | undefined;
  #next = 0;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  /**
   * Takes up to `batch` ready messages from `consumer` without waiting. Never throws: a lost
   * connection or a missing answer within `timeoutMs` gives what arrived so far (usually nothing).
   */
  pull(stream: string, consumer: string, batch: number, timeoutMs: number): Promise<Msg[]> {
    return new Promise((resolve) => {
      const token = String(++this.#next);
      const got: Msg[] = [];
      try {
        this.#sub ??= this.#nc.subscribe(`${this.#prefix}.*`, { callback: (err, m) => this.#route(err, m) });
        const timer = setTimeout(() => this.#finish(token), timeoutMs);
        this.#pulls.set(token, { consumer, got, batch, timer, resolve });
        this.#nc.publish(
          `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
          JSON.stringify({ batch, no_wait: true }),
          {
            reply: `${this.#prefix}.${token}`,
          },
        );
      } catch {
        // Closed: the pull ends with nothing (resolving again after `#finish` did is a no-op).
        this.#finish(token);
        resolve(got);
      }
    });
  }

  /** Ends every pull with what it has and drops the subscription (the connection is closing). */
  close(): void {
    for (const token of [...this.#pulls.keys()]) this.#finish(token);
    try {
      this.#sub?.unsubscribe();
    } catch {
      // the connection is closed: nothing to unsubscribe
    }
    this.#sub = undefined;
  }

  #route(err: Error | null, m: Msg): void {
    if (err) {
      // The subscription itself ended (connection closed): every pull is over.
      for (const token of [...this.#pulls.keys()]) this.#finish(token);
      this.#sub = undefined;
      return;
    }
    const info = parseAckSubject(m.reply);
    if (!info) {
      // A status (404 no messages, 408 timeout, 409 limits) on a pull's own subject: that pull is over.
      if (m.subject.startsWith(`${this.#prefix}.`)) this.#finish(m.subject.slice(this.#prefix.length + 1));
      return;
    }
    for (const [token, pull] of this.#pulls) {
      if (pull.consumer !== info.consumer) continue;
      pull.got.push(m);
      if (pull.got.length >= pull.batch) this.#finish(token);
      return;
    }
    try {
      m.respond("-NAK");
    } catch {
      // closed: the server delivers it again after ack_wait
    }
  }

  #finish(token: string): void {
    const pull = this.#pulls.get(token);
    if (!pull) return;
    this.#pulls.delete(token);
    clearTimeout(pull.timer);
    pull.resolve(pull.got);
  }
}
