/** Reads of the NATS queue's state: the dead-letter list and the counts behind `stats()`. */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import type { NatsNames } from "./nats-topology.js";
import type { DeadLetter, QueueStats } from "./types.js";

/** Message headers the queue sets (besides `Nats-Msg-Id`, which the server uses for de-duplication). */
export const H = {
  id: "Sy-Id",
  priority: "Sy-Priority",
  notBefore: "Sy-Not-Before",
  reason: "Sy-Reason",
  deliveries: "Sy-Deliveries",
} as const;

/** Most dead letters one `deadLetters` call reads. */
const MAX_DEAD_LIST = 1_000;

/** A numeric header, or `dflt` when it is missing or not a number. */
export function headerNumber(h: MsgHdrs | undefined, key: string, dflt: number): number {
  const v = Number(h?.get(key) ?? "");
  return h?.has(key) && Number.isFinite(v) ? v : dflt;
}

/** The oldest `limit` dead letters (at most 1000), read by sequence from the dead-letter stream. */
export async function readDeadLetters(
  jsm: JetStreamManager,
  names: NatsNames,
  limit: number,
): Promise<DeadLetter[]> {
  const n = Math.max(0, Math.min(Math.floor(limit), MAX_DEAD_LIST));
  if (n === 0) return [];
  const { state } = await jsm.streams.info(names.deadStream);
  const out: DeadLetter[] = [];
  let seq = state.first_seq;
  while (out.length < n && seq <= state.last_seq && state.messages > 0) {
    const want = Math.min(n - out.length, 64, state.last_seq - seq + 1);
    const seqs = Array.from({ length: want }, (_, i) => seq + i);
    seq += want;
    const got = await Promise.all(seqs.map((s) => jsm.streams.getMessage(names.deadStream, { seq: s })));
    for (const sm of got) {
      if (!sm) continue;
      out.push({
        id: sm.header.get(H.id),
        payload: sm.string(),
        reason: sm.header.get(H.reason),
        deliveries: headerNumber(sm.header, H.deliveries, 0),
      });
    }
  }
  return out.slice(0, n);
}

/**
 * Counts from stream and consumer info. The work stream holds every message not yet acked, so
 * `ready` is its count less the consumers' pending acks (`leased`, which also counts messages
 * waiting out a nack delay); scheduled messages count as ready.
 */
export async function readStats(jsm: JetStreamManager, names: NatsNames): Promise<QueueStats> {
  const consumers = Array.from({ length: names.classes }, (_, i) =>
    jsm.consumers.info(names.stream, names.consumer(i)),
  );
  const [work, dead, ...infos] = await Promise.all([
    jsm.streams.info(names.stream),
    jsm.streams.info(names.deadStream),
    ...consumers,
  ]);
  const leased = infos.reduce((sum, ci) => sum + ci.num_ack_pending, 0);
  return { ready: Math.max(0, work.state.messages - leased), leased, dead: dead.state.messages };
}
