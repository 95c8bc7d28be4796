/**
 * The JetStream objects a NATS queue uses, and their setup: created at start when missing, and
 * brought to the configured settings when they exist (a change of `replicas`, `ackWaitMs`, … in the
 * config is applied on the next start).
 */
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { NatsQueueConfig } from "./nats-config.js";

/** Subject and object names derived from the config. */
export interface NatsNames {
  readonly stream: string;
  readonly deadStream: string;
  /**
   * A ready message of priority class `i`. One subject per message (`token` is a hash of its id), so
   * a publish can ask the server to store it only while no message for that id is in the stream.
   */
  ready(i: number, token: string): string;
  /** What consumer `i` reads: every ready subject of class `i`. */
  classFilter(i: number): string;
  /** Where a message waits for its `notBefore` (a server-side schedule; one subject per message). */
  scheduled(token: string): string;
  readonly dead: string;
  /** Plain NATS subject (not stored): "a message is ready now", so idle consumers pull at once. */
  readonly wake: string;
  consumer(i: number): string;
  readonly classes: number;
}

export function natsNames(cfg: NatsQueueConfig): NatsNames {
  const p = cfg.subjectPrefix;
  return {
    stream: cfg.stream,
    deadStream: `${cfg.stream}_DEAD`,
    ready: (i, token) => `${p}.q.${i}.${token}`,
    classFilter: (i) => `${p}.q.${i}.*`,
    scheduled: (token) => `${p}.s.${token}`,
    dead: `${p}.dead`,
    wake: `${p}.wake`,
    consumer: (i) => `${cfg.consumer}-p${i}`,
    classes: cfg.priorityClasses.length,
  };
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw err;
  }
}

function sameSet(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && b.every((x) => a.includes(x));
}

/** Creates or updates the work stream; returns whether server-side message schedules are on. */
async function ensureWorkStream(
  jsm: JetStreamManager,
  cfg: NatsQueueConfig,
  names: NatsNames,
  schedules: boolean,
): Promise<boolean> {
  const p = cfg.subjectPrefix;
  const want = {
    subjects: [`${p}.q.*.*`, `${p}.s.*`],
    num_replicas: cfg.replicas,
    duplicate_window: nanos(cfg.duplicateWindowMs),
    ...(schedules ? { allow_msg_schedules: true, allow_rollup_hdrs: true, deny_purge: false } : {}),
  } satisfies Partial<StreamConfig>;
  const have = await streamInfo(jsm, names.stream);
  if (!have) {
    const si = await jsm.streams.add({
      name: names.stream,
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      ...want,
    });
    return si.config.allow_msg_schedules === true;
  }
  const c = have.config;
  if (c.retention !== RetentionPolicy.Workqueue || c.storage !== StorageType.File) {
    throw new Error(
      `NATS stream ${names.stream} exists with retention ${c.retention} and storage ${c.storage}; the job queue needs workqueue retention and file storage (use another jobs.queue.stream)`,
    );
  }
  const changed =
    !sameSet(c.subjects, want.subjects) ||
    c.num_replicas !== want.num_replicas ||
    c.duplicate_window !== want.duplicate_window ||
    (schedules && (c.allow_msg_schedules !== true || c.allow_rollup_hdrs !== true));
  if (!changed) return c.allow_msg_schedules === true;
  const si = await jsm.streams.update(names.stream, { ...c, ...want });
  return si.config.allow_msg_schedules === true;
}

async function ensureDeadStream(
  jsm: JetStreamManager,
  cfg: NatsQueueConfig,
  names: NatsNames,
): Promise<void> {
  const maxAge = nanos(cfg.deadLetterMaxAgeMs);
  const want = {
    subjects: [names.dead],
    num_replicas: cfg.replicas,
    max_age: maxAge,
    max_msgs: cfg.deadLetterMaxMessages,
    // Dead-lettering one delivery twice (a retried call) stores it once.
    duplicate_window: cfg.deadLetterMaxAgeMs > 0 ? Math.min(nanos(120_000), maxAge) : nanos(120_000),
  } satisfies Partial<StreamConfig>;
  const have = await streamInfo(jsm, names.deadStream);
  if (!have) {
    await jsm.streams.add({
      name: names.deadStream,
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      ...want,
    });
    return;
  }
  const c = have.config;
  const changed =
    !sameSet(c.subjects, want.subjects) ||
    c.num_replicas !== want.num_replicas ||
    c.max_age !== want.max_age ||
    c.max_msgs !== want.max_msgs ||
    c.duplicate_window !== want.duplicate_window;
  if (changed) await jsm.streams.update(names.deadStream, { ...c, ...want });
}

async function ensureConsumer(jsm: JetStreamManager, cfg: NatsQueueConfig, names: NatsNames, i: number) {
  const name = names.consumer(i);
  const want = {
    ack_wait: nanos(cfg.ackWaitMs),
    // Unlimited on the server: the queue itself dead-letters at `maxDeliver` (a message the server
    // stops delivering would stay in the work-queue stream, invisible to every consumer).
    max_deliver: -1,
    max_ack_pending: cfg.maxAckPending,
    filter_subject: names.classFilter(i),
  } satisfies Partial<ConsumerConfig>;
  let have: ConsumerConfig | undefined;
  try {
    have = (await jsm.consumers.info(names.stream, name)).config;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  if (!have) {
    await jsm.consumers.add(names.stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      replay_policy: ReplayPolicy.Instant,
      ...want,
    });
    return;
  }
  const changed =
    have.ack_wait !== want.ack_wait ||
    have.max_deliver !== want.max_deliver ||
    have.max_ack_pending !== want.max_ack_pending ||
    have.filter_subject !== want.filter_subject;
  if (changed) await jsm.consumers.update(names.stream, name, want);
}

/** Parses `2.12.0` (or `v2.12.0-beta`) and compares with `major.minor`. */
export function serverAtLeast(version: string | undefined, major: number, minor: number): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? "");
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/**
 * Sets up the streams and consumers. Returns whether delayed messages use server-side schedules:
 * `auto` asks for them on nats-server 2.12 or later; an older server (which ignores the setting)
 * falls back to delayed redelivery, and `schedule` then fails here rather than later.
 */
export async function ensureTopology(
  jsm: JetStreamManager,
  cfg: NatsQueueConfig,
  names: NatsNames,
  serverVersion: string | undefined,
): Promise<{ schedules: boolean }> {
  const ask =
    cfg.delayedDelivery === "schedule" ||
    (cfg.delayedDelivery === "auto" && serverAtLeast(serverVersion, 2, 12));
  const on = await ensureWorkStream(jsm, cfg, names, ask);
  if (cfg.delayedDelivery === "schedule" && !on) {
    throw new Error(
      `jobs.queue.delayedDelivery is schedule, but nats-server ${serverVersion ?? "?"} did not enable message schedules on ${names.stream} (they need 2.12 or later)`,
    );
  }
  await ensureDeadStream(jsm, cfg, names);
  for (let i = 0; i < names.classes; i++) await ensureConsumer(jsm, cfg, names, i);
  return { schedules: cfg.delayedDelivery !== "redeliver" && on };
}
