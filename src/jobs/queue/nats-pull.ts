/**
 * One no-wait pull from a durable JetStream consumer, on the consumer API directly: the server sends
 * what is ready now (up to `batch`) and then a `404 No Messages` status, so an empty priority class
 * costs one round trip (the client library's `fetch` waits at least a second).
 */
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { createInbox } from "@nats-io/transport-node";

export interface AckInfo {
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
  return { seq, deliveries };
}

/**
 * Takes up to `batch` ready messages from `consumer` without waiting. Never throws: a lost
 * connection or a missing answer within `timeoutMs` gives what arrived so far (usually nothing).
 */
export function pullNoWait(
  nc: NatsConnection,
  stream: string,
  consumer: string,
  batch: number,
  timeoutMs: number,
): Promise<Msg[]> {
  return new Promise((resolve) => {
    const got: Msg[] = [];
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    let sub: ReturnType<NatsConnection["subscribe"]> | undefined;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      try {
        sub?.unsubscribe();
      } catch {
        // the connection is closed: nothing to unsubscribe
      }
      resolve(got);
    };
    try {
      const inbox = createInbox();
      sub = nc.subscribe(inbox, {
        callback: (err, m) => {
          if (err) return done();
          if (m.reply?.startsWith("$JS.ACK.")) {
            got.push(m);
            if (got.length >= batch) done();
          } else {
            // A status (404 no messages, 408 timeout, 409 limits): the pull is over.
            done();
          }
        },
      });
      timer = setTimeout(done, timeoutMs);
      nc.publish(
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
        JSON.stringify({ batch, no_wait: true }),
        {
          reply: inbox,
        },
      );
    } catch {
      done();
    }
  });
}
