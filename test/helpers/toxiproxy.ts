/**
 * Toxiproxy for tests: a TCP fault proxy (latency, bandwidth, black hole, reset, slow close) to put
 * between the gateway and an upstream, Redis or a broker. `startToxiproxy()` runs a real
 * `toxiproxy-server` on a free loopback port as a child process; the client below drives its HTTP API.
 *
 * The binary comes from `scripts/install-test-deps.sh` (`$(go env GOPATH)/bin/toxiproxy-server`);
 * `TOXIPROXY_SERVER=/path/to/binary` overrides the lookup. When it is missing, `toxiproxySkipReason()`
 * returns a message for `describe(..., { skip })`, or throws when `CI` is set (CI must not skip).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { request } from "undici";
import { findGoTool, goBin, isExecutable, skipReason } from "./binaries.js";
import { freePort } from "./ports.js";

const BINARY = "toxiproxy-server";
const INSTALL = "scripts/install-test-deps.sh";

export type ToxicStream = "upstream" | "downstream";

/** The toxics the harness uses, with their attributes (times in ms, `rate` in KB/s). */
export type ToxicSpec =
  /** Delays all data by `latency` ± `jitter`. */
  | { type: "latency"; attributes: { latency: number; jitter?: number } }
  /** Limits throughput to `rate` KB/s. */
  | { type: "bandwidth"; attributes: { rate: number } }
  /** Black hole: stops all data and closes the connection after `timeout` (0: never, until removed). */
  | { type: "timeout"; attributes: { timeout: number } }
  /** Resets the connection (TCP RST) after `timeout` (0: at once). */
  | { type: "reset_peer"; attributes: { timeout: number } }
  /** Delays the TCP close by `delay`. */
  | { type: "slow_close"; attributes: { delay: number } };

export type ToxicType = ToxicSpec["type"];

export type ToxicOptions = ToxicSpec & {
  /** Default `${type}_${stream}`. */
  name?: string;
  /** Default `downstream` (data from the upstream to the client). */
  stream?: ToxicStream;
  /** Share of connections affected, 0..1; default 1. */
  toxicity?: number;
};

export interface Toxic {
  name: string;
  type: ToxicType;
  stream: ToxicStream;
  toxicity: number;
  attributes: Record<string, number>;
}

export interface ProxyInfo {
  name: string;
  /** `host:port` it listens on (the real port once listening). */
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: Toxic[];
}

let located: string | null | undefined;

/** The path of `toxiproxy-server`, or undefined when it is not installed. */
export function findToxiproxy(): string | undefined {
  if (located === undefined) {
    const override = process.env.TOXIPROXY_SERVER;
    if (override) located = isExecutable(override) ? override : null;
    else {
      located = findGoTool(BINARY) ?? null;
    }
  }
  return located ?? undefined;
}

/**
 * Undefined when Toxiproxy can run; else why not, for `describe(name, { skip })`. With `CI` set a
 * missing binary throws instead: CI installs it, so its absence there is a broken setup.
 */
export function toxiproxySkipReason(): string | undefined {
  if (findToxiproxy()) return undefined;
  const where = process.env.TOXIPROXY_SERVER ?? `${join(goBin(), BINARY)} or PATH`;
  return skipReason(`${BINARY} not found (looked in ${where}); run ${INSTALL} to build it`);
}

export class ToxiproxyApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A thin typed client of the Toxiproxy HTTP API. */
class Api {
  constructor(readonly url: string) {}

  async call<T>(method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
    const res = await request(this.url + path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) {
      throw new ToxiproxyApiError(
        res.statusCode,
        `toxiproxy ${method} ${path} -> ${res.statusCode}: ${text.trim()}`,
      );
    }
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }
}

/** One proxy: a listener on 127.0.0.1 that forwards to its upstream through its toxics. */
export class ToxiproxyProxy {
  private listenAddr: string;

  constructor(
    private readonly api: Api,
    readonly name: string,
    info: ProxyInfo,
  ) {
    this.listenAddr = info.listen;
  }

  /** `host:port` the proxy listens on. */
  get listen(): string {
    return this.listenAddr;
  }

  get port(): number {
    return Number(this.listenAddr.slice(this.listenAddr.lastIndexOf(":") + 1));
  }

  /** `http://127.0.0.1:PORT`, for HTTP upstreams. */
  get url(): string {
    return `http://${this.listenAddr}`;
  }

  async info(): Promise<ProxyInfo> {
    return this.api.call<ProxyInfo>("GET", `/proxies/${encodeURIComponent(this.name)}`);
  }

  async addToxic(opts: ToxicOptions): Promise<Toxic> {
    const stream = opts.stream ?? "downstream";
    const body = {
      name: opts.name ?? `${opts.type}_${stream}`,
      type: opts.type,
      stream,
      toxicity: opts.toxicity ?? 1,
      attributes: opts.attributes,
    };
    return this.api.call<Toxic>("POST", `/proxies/${encodeURIComponent(this.name)}/toxics`, body);
  }

  async removeToxic(name: string): Promise<void> {
    const path = `/proxies/${encodeURIComponent(this.name)}/toxics/${encodeURIComponent(name)}`;
    await this.api.call("DELETE", path);
  }

  /** Stops listening and drops every connection: clients get connection refused. */
  async disable(): Promise<void> {
    await this.setEnabled(false);
  }

  /** Listens again, on the same port. */
  async enable(): Promise<void> {
    await this.setEnabled(true);
  }

  async delete(): Promise<void> {
    await this.api.call("DELETE", `/proxies/${encodeURIComponent(this.name)}`);
  }

  private async setEnabled(enabled: boolean): Promise<void> {
    const info = await this.api.call<ProxyInfo>("PATCH", `/proxies/${encodeURIComponent(this.name)}`, {
      enabled,
    });
    this.listenAddr = info.listen;
  }
}

export interface Toxiproxy {
  /** Base URL of its HTTP API. */
  apiUrl: string;
  /** Creates an enabled proxy from `listen` (default `127.0.0.1:0`, a free port) to `upstream` (`host:port`). */
  createProxy(name: string, upstream: string, listen?: string): Promise<ToxiproxyProxy>;
  /** Enables every proxy and removes every toxic. */
  reset(): Promise<void>;
  /** Output of the server so far (for failure messages). */
  output(): string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); idempotent. */
  stop(): Promise<void>;
}

function capture(proc: ChildProcess): () => string {
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8192);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  return () => out;
}

async function waitForApi(api: Api, exited: Promise<number | null>, output: () => string): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => {
    gone = code;
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (gone !== undefined)
      throw new Error(`${BINARY} exited with ${gone} before its API answered: ${output()}`);
    try {
      await api.call("GET", "/version");
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`${BINARY} API not answering within 10 s: ${output()}`);
}

async function launch(binary: string): Promise<Toxiproxy> {
  const port = await freePort();
  const proc = spawn(binary, ["-host", "127.0.0.1", "-port", String(port)], {
    env: { ...process.env, LOG_LEVEL: process.env.TOXIPROXY_LOG_LEVEL ?? "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = capture(proc);
  const exited = new Promise<number | null>((resolve) => {
    proc.once("exit", (code) => resolve(code));
    proc.once("error", () => resolve(-1));
  });
  const killOnExit = () => proc.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const api = new Api(`http://127.0.0.1:${port}`);
  try {
    await waitForApi(api, exited, output);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    apiUrl: api.url,
    async createProxy(name, upstream, listen = "127.0.0.1:0") {
      const info = await api.call<ProxyInfo>("POST", "/proxies", { name, listen, upstream, enabled: true });
      return new ToxiproxyProxy(api, name, info);
    },
    async reset() {
      await api.call("POST", "/reset");
    },
    output,
    stop,
  };
}

/** Starts `toxiproxy-server` on a free loopback port and waits until its API answers. */
export async function startToxiproxy(): Promise<Toxiproxy> {
  const binary = findToxiproxy();
  if (!binary) throw new Error(toxiproxySkipReason() ?? `${BINARY} not found`);
  // The free port may be taken between probing and binding; try a few times.
  let last: unknown;
  for (let i = 0; i < 3; i++) {
    try {
      return await launch(binary);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
