/**
 * The NSQ queue's HTTP side: publishes (`/pub`, with `defer` for delayed ones), topic and channel
 * setup, `/stats`, `/info` on nsqd, and `/lookup` on nsqlookupd. Every request has a time limit;
 * nothing here retries.
 */
import { GatewayError } from "../../core/errors.js";
import type { NsqdNode } from "./nsq-config.js";

export function queueUnavailable(what: string, cause: unknown): GatewayError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new GatewayError("queue_unavailable", `The NSQ job queue ${what}: ${detail}`, {
    cause,
    retryAfterSeconds: 1,
  });
}

/** An HTTP call to nsqd / nsqlookupd; rejects on a non-2xx answer or after `timeoutMs`. */
export async function nsqRequest(
  address: string,
  path: string,
  timeoutMs: number,
  init: { method?: "GET" | "POST"; body?: string } = {},
): Promise<string> {
  const res = await fetch(`http://${address}${path}`, {
    method: init.method ?? "GET",
    ...(init.body === undefined ? {} : { body: init.body }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (!res.ok)
    throw new Error(`${address}${path.split("?")[0]} answered ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

/** Publishes one message body to `topic` on one nsqd, deferred by `deferMs` when > 0; checks the `OK`. */
export async function httpPublish(
  node: NsqdNode,
  topic: string,
  body: string,
  deferMs: number,
  timeoutMs: number,
): Promise<void> {
  const q = `topic=${encodeURIComponent(topic)}${deferMs > 0 ? `&defer=${Math.ceil(deferMs)}` : ""}`;
  const text = await nsqRequest(node.httpAddress, `/pub?${q}`, timeoutMs, { method: "POST", body });
  if (text.trim() !== "OK")
    throw new Error(`nsqd ${node.httpAddress} answered "${text.slice(0, 100)}" to PUB`);
}

/** Creates the topics and the channel on each (so that messages published before any consumer wait in the channel). */
export async function ensureTopics(
  node: NsqdNode,
  topics: readonly string[],
  channel: string,
  timeoutMs: number,
): Promise<void> {
  for (const t of topics) {
    const topic = encodeURIComponent(t);
    await nsqRequest(node.httpAddress, `/topic/create?topic=${topic}`, timeoutMs, { method: "POST" });
    await nsqRequest(
      node.httpAddress,
      `/channel/create?topic=${topic}&channel=${encodeURIComponent(channel)}`,
      timeoutMs,
      { method: "POST" },
    );
  }
}

/** Counts of one topic and the queue's channel on it, on one nsqd. */
export interface TopicCounts {
  /** Messages at topic level, not yet copied into channels. */
  readonly topicDepth: number;
  /** Ready in the channel (memory + disk). */
  readonly depth: number;
  readonly inFlight: number;
  /** Waiting out a REQ delay or a deferred publish. */
  readonly deferred: number;
}

interface StatsJson {
  start_time?: number;
  topics?: Array<{
    topic_name: string;
    depth: number;
    channels?: Array<{
      channel_name: string;
      depth: number;
      in_flight_count: number;
      deferred_count: number;
    }>;
  }>;
}

export interface NodeStats {
  /** nsqd's start time (epoch seconds): a change means it restarted. */
  readonly startTime: number;
  readonly topics: Map<string, TopicCounts>;
}

/** `/stats` of one nsqd, reduced to the queue's topics and channel (missing topics count zero). */
export async function nodeStats(
  httpAddress: string,
  topics: readonly string[],
  channel: string,
  timeoutMs: number,
): Promise<NodeStats> {
  const text = await nsqRequest(httpAddress, "/stats?format=json&include_clients=false", timeoutMs);
  const json = JSON.parse(text) as StatsJson;
  const out = new Map<string, TopicCounts>();
  for (const name of topics) {
    const t = json.topics?.find((x) => x.topic_name === name);
    const c = t?.channels?.find((x) => x.channel_name === channel);
    out.set(name, {
      topicDepth: t?.depth ?? 0,
      depth: c?.depth ?? 0,
      inFlight: c?.in_flight_count ?? 0,
      deferred: c?.deferred_count ?? 0,
    });
  }
  return { startTime: json.start_time ?? 0, topics: out };
}

/** nsqd's start time (epoch seconds) from `/info`. */
export async function nodeStartTime(httpAddress: string, timeoutMs: number): Promise<number> {
  const json = JSON.parse(await nsqRequest(httpAddress, "/info", timeoutMs)) as { start_time?: number };
  return json.start_time ?? 0;
}

interface LookupJson {
  producers?: Array<{ broadcast_address: string; tcp_port: number; http_port: number }>;
}

const bracket = (host: string) => (host.includes(":") ? `[${host}]` : host);

/** The nsqd nodes nsqlookupd lists for `topic` (none when it does not know the topic). */
export async function lookupNodes(lookupd: string, topic: string, timeoutMs: number): Promise<NsqdNode[]> {
  let text: string;
  try {
    text = await nsqRequest(lookupd, `/lookup?topic=${encodeURIComponent(topic)}`, timeoutMs);
  } catch (err) {
    // nsqlookupd answers 404 TOPIC_NOT_FOUND for a topic no nsqd has registered yet.
    if (err instanceof Error && err.message.includes(" 404:")) return [];
    throw err;
  }
  const json = JSON.parse(text) as LookupJson;
  return (json.producers ?? []).map((p) => ({
    tcpAddress: `${bracket(p.broadcast_address)}:${p.tcp_port}`,
    httpAddress: `${bracket(p.broadcast_address)}:${p.http_port}`,
  }));
}
