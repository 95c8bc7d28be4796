/**
 * Starts a real single-node Apache Kafka broker for a test: KRaft (combined broker and controller),
 * the jars that scripts/install-kafka.sh put in ~/.cache/switchyard/kafka-<version>/libs, free
 * loopback ports, a temp log folder, a small heap. It can be killed and restarted on the same ports
 * and folder. Start one per test file and share it: a JVM start costs seconds.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Admin } from "@platformatic/kafka";
import { freePort } from "./ports.js";

const POM = fileURLToPath(new URL("../../scripts/kafka/pom.xml", import.meta.url));
const VERSION = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, "utf8"))?.[1] ?? "unknown";
const LIBS = join(homedir(), ".cache", "switchyard", `kafka-${VERSION}`, "libs");

function hasJava(): boolean {
  try {
    execFileSync("java", ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The reason the broker cannot run here, or undefined when it can. */
export const KAFKA_MISSING = !existsSync(join(LIBS, ".complete"))
  ? `Kafka ${VERSION} jars not found in ${LIBS}: run scripts/install-kafka.sh (the Kafka queue tests need them)`
  : !hasJava()
    ? "java not found on PATH: the Kafka queue tests need Java 17 or later"
    : undefined;

/**
 * True when a broker can run. Otherwise skips the test with a clear message, or fails it when `CI`
 * is set (a CI run must exercise Kafka).
 */
export function kafkaAvailable(t: TestContext): boolean {
  if (!KAFKA_MISSING) return true;
  if (process.env.CI) assert.fail(`${KAFKA_MISSING}; CI is set, so this is a failure`);
  t.skip(KAFKA_MISSING);
  return false;
}

export interface KafkaProc {
  port: number;
  /** `127.0.0.1:<port>`, for `brokers`. */
  broker: string;
  dir: string;
  /** SIGKILLs the broker and waits for it to exit (a crash). */
  kill(): Promise<void>;
  /** Starts the broker again on the same ports and log folder (kills a running one first). */
  restart(): Promise<void>;
  /** Kills the broker and removes its folder. */
  cleanup(): Promise<void>;
}

function properties(dir: string, port: number, controller: number): string {
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${controller}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    "controller.listener.names=CONTROLLER",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${join(dir, "data")}`,
    "num.partitions=1",
    "auto.create.topics.enable=false",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    // A restarted node is back within seconds rather than after the default session and election waits.
    "broker.session.timeout.ms=2000",
    "broker.heartbeat.interval.ms=500",
    "controller.quorum.election.timeout.ms=500",
    "controller.quorum.fetch.timeout.ms=1000",
    // Tests use short sessions so that a dead member's partitions move within seconds.
    "group.min.session.timeout.ms=500",
    "num.network.threads=2",
    "num.io.threads=2",
    "background.threads=2",
    "log.cleaner.threads=1",
    "",
  ].join("\n");
}

const JVM = [
  "-Xmx384m",
  "-Xms64m",
  "-XX:+UseSerialGC",
  "-XX:TieredStopAtLevel=1",
  "-Djava.awt.headless=true",
  "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
];

function java(args: string[], log: string): ChildProcess {
  const fd = openSync(log, "a");
  try {
    return spawn("java", [...JVM, "-cp", join(LIBS, "*"), ...args], { stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
}

const tail = (file: string): string => {
  try {
    return readFileSync(file, "utf8").slice(-3_000);
  } catch {
    return "";
  }
};

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Waits until the broker answers a metadata request (a listening socket is not enough). */
async function waitReady(proc: ChildProcess, port: number, log: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (!(await portOpen(port))) {
    if (proc.exitCode !== null)
      throw new Error(`the Kafka broker exited with ${proc.exitCode}: ${tail(log)}`);
    if (Date.now() > until) throw new Error(`the Kafka broker did not listen within 60 s: ${tail(log)}`);
    await sleep(100);
  }
  const admin = new Admin({ clientId: "test-ready", bootstrapBrokers: [`127.0.0.1:${port}`], retries: 0 });
  try {
    for (;;) {
      try {
        await admin.listTopics();
        return;
      } catch (err) {
        if (Date.now() > until) throw new Error(`the Kafka broker did not answer within 60 s: ${err}`);
        await sleep(200);
      }
    }
  } finally {
    await admin.close().catch(() => {});
  }
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once("exit", () => r()));
}

/** Formats a KRaft log folder and starts a broker on free ports; `cleanup()` it when done. */
export async function startKafka(): Promise<KafkaProc> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-kafka-"));
  const [port, controller] = [await freePort(), await freePort()];
  const props = join(dir, "server.properties");
  const log = join(dir, "broker.log");
  writeFileSync(props, properties(dir, port, controller));
  // A Kafka cluster id is 16 bytes in URL-safe base64; one that starts with "-" would read as a flag.
  let clusterId = randomBytes(16).toString("base64url");
  while (clusterId.startsWith("-")) clusterId = randomBytes(16).toString("base64url");
  const format = java(["kafka.tools.StorageTool", "format", "-t", clusterId, "-c", props], log);
  const code = await new Promise<number | null>((r) => format.once("exit", r));
  if (code !== 0) throw new Error(`formatting the Kafka log folder failed (${code}): ${tail(log)}`);
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = java(["kafka.Kafka", props], log);
    try {
      await waitReady(proc, port, log);
    } catch (err) {
      proc.kill("SIGKILL");
      throw err;
    }
  };
  const kill = async () => {
    const p = proc;
    proc = undefined;
    if (!p) return;
    p.kill("SIGKILL");
    await exited(p);
  };
  await start();
  return {
    port,
    broker: `127.0.0.1:${port}`,
    dir,
    kill,
    async restart() {
      await kill();
      await start();
    },
    async cleanup() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
