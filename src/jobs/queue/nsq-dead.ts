/**
 * Reading the NSQ queue's dead letters. NSQ has no way to look at a message without taking it, so a
 * read subscribes to the dead-letter topic through the queue's channel, takes what each nsqd holds
 * there (up to a bound), and puts every message back at once (REQ 0): the dead letters stay in the
 * channel. Two reads at the same moment may each see part of the list.
 */
import { type Message, NSQDConnection } from "nsqjs";
import type { NsqdNode, NsqQueueConfig } from "./nsq-config.js";
import { splitAddress } from "./nsq-conn.js";
import { decodeDead } from "./nsq-envelope.js";
import { nodeStats } from "./nsq-http.js";
import type { DeadLetter } from "./types.js";

/** Most dead letters one read takes from one nsqd. */
export const MAX_DEAD_READ = 1_000;

/** Takes up to `n` messages from `topic` on one nsqd within `timeoutMs`, then puts them back. */
function peek(node: NsqdNode, topic: string, cfg: NsqQueueConfig, n: number): Promise<Message[]> {
  const { host, port } = splitAddress(node.tcpAddress);
  const conn = new NSQDConnection(host, port, topic, cfg.channel, { messageTimeout: cfg.msgTimeoutMs });
  const got: Message[] = [];
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        conn.setRdy(0);
        for (const m of got) m.requeue(0, false);
        // The REQs are written on the next tick (nsqjs); close after them.
        setImmediate(() => conn.close());
      } catch {
        conn.destroy();
      }
      if (err && got.length === 0) reject(err);
      else resolve(got);
    };
    const timer = setTimeout(() => finish(), cfg.requestTimeoutMs);
    conn.on(NSQDConnection.READY, () => conn.setRdy(n));
    conn.on(NSQDConnection.MESSAGE, (m) => {
      got.push(m);
      if (got.length >= n) finish();
    });
    conn.on(NSQDConnection.ERROR, () => {});
    conn.on(NSQDConnection.CONNECTION_ERROR, (err) => finish(err));
    conn.on(NSQDConnection.CLOSED, () => finish(new Error(`nsqd ${node.tcpAddress} closed the connection`)));
    conn.connect();
  });
}

/** The oldest `limit` dead letters across `nodes` (at most 1000 read per nsqd), by the time they died. */
export async function readDeadLetters(
  nodes: readonly NsqdNode[],
  topic: string,
  cfg: NsqQueueConfig,
  limit: number,
): Promise<DeadLetter[]> {
  const n = Math.max(0, Math.min(Math.floor(limit), MAX_DEAD_READ));
  if (n === 0) return [];
  const perNode = await Promise.all(
    nodes.map(async (node) => {
      const s = await nodeStats(node.httpAddress, [topic], cfg.channel, cfg.requestTimeoutMs);
      const c = s.topics.get(topic);
      const there = (c?.depth ?? 0) + (c?.topicDepth ?? 0);
      return there === 0 ? [] : peek(node, topic, cfg, Math.min(there, MAX_DEAD_READ));
    }),
  );
  const dead = perNode
    .flat()
    .map((m) => ({ m, e: decodeDead(m.body) }))
    .sort((a, b) => (a.e?.at ?? 0) - (b.e?.at ?? 0));
  return dead.slice(0, n).map(({ m, e }) => ({
    id: e?.id ?? `nsq:${m.id}`,
    payload: e?.payload ?? m.body.toString("utf8"),
    reason: e?.reason ?? "malformed: not a Switchyard dead letter",
    deliveries: e?.deliveries ?? 0,
  }));
}
