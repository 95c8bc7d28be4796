/**
 * What the Kafka queue's clients share: connection options from the config (brokers, SASL, TLS,
 * time limits), topic names, message headers, the `queue_unavailable` error, and the group's
 * partition assignor.
 */
import { readFileSync } from "node:fs";
import {
  Admin,
  type ClusterMetadata,
  type ExtendedGroupProtocolSubscription,
  type GroupPartitionsAssignments,
} from "@platformatic/kafka";
import { GatewayError } from "../../core/errors.js";
import type { KafkaQueueConfig } from "./kafka-config.js";

/** Headers of every queue message (values are strings). */
export const H = {
  id: "sy-id",
  priority: "sy-priority",
  notBefore: "sy-not-before",
  deliveries: "sy-deliveries",
  reason: "sy-reason",
} as const;

/** `queue_unavailable` with `retry-after: 1`: the clients reconnect by themselves, so a retry soon may succeed. */
export function queueUnavailable(what: string, cause: unknown): GatewayError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new GatewayError("queue_unavailable", `The Kafka job queue ${what}: ${detail}`, {
    cause,
    retryAfterSeconds: 1,
  });
}

export interface KafkaNames {
  /** Priority topics, highest class first. */
  readonly classes: readonly string[];
  readonly dead: string;
}

export function kafkaNames(cfg: KafkaQueueConfig): KafkaNames {
  return {
    classes: cfg.priorityClasses.map((_, i) => `${cfg.topicPrefix}.p${i}`),
    dead: `${cfg.topicPrefix}.dead`,
  };
}

export interface ClientBase {
  clientId: string;
  bootstrapBrokers: string[];
  connectTimeout: number;
  requestTimeout: number;
  timeout: number;
  retries: number;
  retryDelay: number;
  sasl?: { mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512"; username: string; password: string };
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string };
}

/** Options every client of one queue uses; `retries` bounds how long a client keeps trying by itself. */
export function clientBase(cfg: KafkaQueueConfig, role: string, retries: number): ClientBase {
  const t = cfg.tls;
  return {
    clientId: `${cfg.clientId}-${role}`,
    bootstrapBrokers: cfg.brokers,
    connectTimeout: cfg.connectTimeoutMs,
    requestTimeout: cfg.requestTimeoutMs,
    timeout: cfg.requestTimeoutMs,
    retries,
    retryDelay: cfg.reconnectWaitMs,
    ...(cfg.sasl ? { sasl: { ...cfg.sasl } } : {}),
    ...(t
      ? {
          tls: {
            ...(t.caFile ? { ca: readFileSync(t.caFile) } : {}),
            ...(t.certFile && t.keyFile
              ? { cert: readFileSync(t.certFile), key: readFileSync(t.keyFile) }
              : {}),
            ...(t.serverName ? { servername: t.serverName } : {}),
          },
        }
      : {}),
  };
}

/**
 * Creates the priority topics (`partitions` each) and the dead-letter topic (one partition, so dead
 * letters read back in order) where missing; a topic another process created meanwhile is fine.
 */
export async function ensureTopics(cfg: KafkaQueueConfig, names: KafkaNames): Promise<void> {
  const admin = new Admin(clientBase(cfg, "admin", 2));
  try {
    const existing = new Set(await admin.listTopics());
    const wanted: Array<[string, number]> = [
      ...names.classes.map((t): [string, number] => [t, cfg.partitions]),
    ];
    wanted.push([names.dead, 1]);
    for (const [topic, partitions] of wanted) {
      if (existing.has(topic)) continue;
      try {
        await admin.createTopics({ topics: [topic], partitions, replicas: cfg.replicationFactor });
      } catch (err) {
        const exists = (err as { findBy?: (k: string, v: unknown) => unknown }).findBy?.(
          "apiId",
          "TOPIC_ALREADY_EXISTS",
        );
        if (!exists) throw err;
      }
    }
  } finally {
    await admin.close().catch(() => {});
  }
}

/** The group protocol: a sticky assignor by partition index (see `stickyAssign`). */
export const ASSIGNOR = "switchyard-sticky";

/** A member's subscription metadata: the partition indexes it owns now. */
export function encodeOwned(units: Iterable<number>): Buffer {
  return Buffer.from(JSON.stringify({ units: [...new Set(units)].sort((a, b) => a - b) }));
}

function decodeOwned(b: Buffer | undefined): number[] {
  try {
    const v = JSON.parse(b?.toString("utf8") ?? "{}") as { units?: unknown };
    return Array.isArray(v.units) ? v.units.filter((u): u is number => Number.isInteger(u) && u >= 0) : [];
  } catch {
    return [];
  }
}

/**
 * Assigns partition indexes ("units": partition i of every priority topic together, so one message id
 * maps to one member whatever its class) as evenly as possible while members keep the units they
 * already own, so a member joining or leaving moves as few partitions — and re-runs as few jobs in
 * progress — as it can.
 */
export function stickyAssign(
  _leader: string,
  members: Map<string, ExtendedGroupProtocolSubscription>,
  topics: Set<string>,
  metadata: ClusterMetadata,
): GroupPartitionsAssignments[] {
  const ids = [...members.keys()].sort();
  let units = 0;
  for (const t of topics) units = Math.max(units, metadata.topics.get(t)?.partitionsCount ?? 0);
  const floor = Math.floor(units / ids.length);
  let big = units % ids.length;
  const owner = new Map<number, string>();
  const owned = new Map<string, number[]>(ids.map((id) => [id, []]));
  const claims = new Map(ids.map((id) => [id, decodeOwned(members.get(id)?.metadata as Buffer | undefined)]));
  const byClaims = [...ids].sort((a, b) => claims.get(b)!.length - claims.get(a)!.length || (a < b ? -1 : 1));
  for (const id of byClaims) {
    let limit = floor;
    if (big > 0 && claims.get(id)!.length > floor) {
      limit++;
      big--;
    }
    for (const u of claims.get(id)!) {
      if (u < units && !owner.has(u) && owned.get(id)!.length < limit) {
        owner.set(u, id);
        owned.get(id)!.push(u);
      }
    }
  }
  for (let u = 0; u < units; u++) {
    if (owner.has(u)) continue;
    const id = ids.reduce((best, x) => (owned.get(x)!.length < owned.get(best)!.length ? x : best), ids[0]!);
    owner.set(u, id);
    owned.get(id)!.push(u);
  }
  return ids.map((memberId) => {
    const assignments = new Map<string, { topic: string; partitions: number[] }>();
    for (const topic of topics) {
      const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
      const partitions = owned.get(memberId)!.filter((u) => u < count);
      if (partitions.length > 0)
        assignments.set(topic, { topic, partitions: partitions.sort((a, b) => a - b) });
    }
    return { memberId, assignments };
  });
}
