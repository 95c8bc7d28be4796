/**
 * Reads the queue's state from the brokers without joining the group: the dead-letter topic (read by
 * offset from its start) and the group's lag on the priority topics.
 */
import { type Consumer, ListOffsetTimestamps } from "@platformatic/kafka";
import { H, type KafkaNames } from "./kafka-link.js";
import type { DeadLetter } from "./types.js";

type Inspector = Consumer<string, string, string, string>;

const header = (headers: [Buffer | null, Buffer | null][], name: string): string | undefined => {
  for (const [k, v] of headers) if (k?.toString("utf8") === name) return v?.toString("utf8");
  return undefined;
};

/** Reads up to `limit` dead letters, oldest first (the dead-letter topic has one partition). */
export async function readDeadLetters(c: Inspector, topic: string, limit: number): Promise<DeadLetter[]> {
  const max = Math.max(0, Math.min(limit, 1_000));
  if (max === 0) return [];
  const [start, end] = await partitionBounds(c, topic);
  const meta = await c.metadata({ topics: [topic] });
  const t = meta.topics.get(topic);
  const leader = t?.partitions[0]?.leader;
  if (!t || leader === undefined) return [];
  const out: DeadLetter[] = [];
  let offset = start;
  while (out.length < max && offset < end) {
    const res = await c.fetch({
      node: leader,
      maxWaitTime: 0,
      minBytes: 0,
      topics: [
        {
          topicId: t.id,
          partitions: [
            {
              partition: 0,
              fetchOffset: offset,
              partitionMaxBytes: 1_048_576,
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
            },
          ],
        },
      ],
    });
    const before = offset;
    for (const batch of res.responses[0]?.partitions[0]?.records ?? []) {
      for (const r of batch.records) {
        const at = batch.firstOffset + BigInt(r.offsetDelta);
        if (at < offset || out.length >= max) continue;
        offset = at + 1n;
        out.push({
          id: header(r.headers, H.id) ?? `offset:${at}`,
          payload: r.value?.toString("utf8") ?? "",
          reason: header(r.headers, H.reason) ?? "",
          deliveries: Number(header(r.headers, H.deliveries) ?? 0),
        });
      }
    }
    if (offset === before) break;
  }
  return out;
}

/** Earliest and end offset of partition 0 of a topic. */
async function partitionBounds(c: Inspector, topic: string): Promise<[bigint, bigint]> {
  const [first, last] = await Promise.all([
    c.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST }),
    c.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST }),
  ]);
  return [first.get(topic)?.[0] ?? 0n, last.get(topic)?.[0] ?? 0n];
}

export async function countDead(c: Inspector, topic: string): Promise<number> {
  const [start, end] = await partitionBounds(c, topic);
  return Number(end - start);
}

/**
 * Messages of the priority topics past the group's committed offsets: everything published and not
 * yet committed past (waiting, delayed, leased, or settled but not yet committed).
 */
export async function groupLag(c: Inspector, names: KafkaNames): Promise<number> {
  const topics = [...names.classes];
  const [first, last] = await Promise.all([
    c.listOffsets({ topics, timestamp: ListOffsetTimestamps.EARLIEST }),
    c.listOffsets({ topics, timestamp: ListOffsetTimestamps.LATEST }),
  ]);
  const committed = await c.listCommittedOffsets({
    topics: topics.map((topic) => ({ topic, partitions: (last.get(topic) ?? []).map((_, i) => i) })),
  });
  let lag = 0n;
  for (const topic of topics) {
    const ends = last.get(topic) ?? [];
    ends.forEach((end, i) => {
      const c0 = committed.get(topic)?.[i] ?? -1n;
      const from = c0 >= 0n ? c0 : (first.get(topic)?.[i] ?? 0n);
      if (end > from) lag += end - from;
    });
  }
  return Number(lag);
}
