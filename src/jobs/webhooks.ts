import { createHmac } from "node:crypto";
import { promises as dns, lookup as dnsLookup } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { GatewayError } from "../core/errors.js";
import { Agent } from "../core/http-client.js";
import { backoffMs } from "../routing/router.js";
import type { JobRecord, WebhookState } from "../store/job-types.js";
import type { Store } from "../store/types.js";
import type { WebhookConfig } from "./config.js";

/**
 * Addresses a webhook may not reach unless `allowPrivate`: everything IANA's special-purpose
 * registries mark as not globally reachable (private, loopback, link-local, CGNAT, documentation,
 * benchmarking, multicast, reserved) and the IPv6 forms that carry an IPv4 address inside.
 */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  PRIVATE.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  // IPv4-compatible (deprecated; includes :: and ::1) and IPv4-translated addresses.
  ["::", 96],
  ["::ffff:0:0:0", 96],
  ["64:ff9b::", 96],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  // Teredo and the other IETF protocol assignments, documentation.
  ["2001::", 23],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
] as const)
  PRIVATE.addSubnet(net, bits, "ipv6");

/** The IPv4 address inside a 6to4 address (2002:AABB:CCDD::/48 carries AA.BB.CC.DD). */
function sixToFourV4(address: string): string | undefined {
  const m = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4})(?::|$)/i.exec(address);
  if (!m) return undefined;
  const hi = Number.parseInt(m[1]!, 16);
  const lo = Number.parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** True when `address` (v4, v6 or v4-mapped v6) is not a public unicast address. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, "ipv4");
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return PRIVATE.check(address, "ipv4");
  const v4 = sixToFourV4(address);
  if (v4 !== undefined && PRIVATE.check(v4, "ipv4")) return true;
  return PRIVATE.check(address, "ipv6");
}

function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const h = host.toLowerCase();
  return allowed.some((p) => {
    const q = p.toLowerCase();
    return q.startsWith("*.") ? h.endsWith(q.slice(1)) : h === q;
  });
}

const refused = (msg: string) => new GatewayError("webhook_url_refused", msg, { param: "webhook.url" });

/** Checks webhook URLs against the allow-list and (unless `allowPrivate`) every address the host resolves to. */
export class WebhookGuard {
  constructor(private readonly cfg: WebhookConfig) {}

  async check(raw: string): Promise<URL> {
    if (!this.cfg.secret)
      throw refused("Webhooks are not configured on this gateway (jobs.webhooks.secret).");
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw refused("The webhook URL is not a valid URL.");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw refused("The webhook URL must be http(s).");
    if (url.username || url.password) throw refused("The webhook URL must not carry credentials.");
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (!hostAllowed(host, this.cfg.allowedHosts))
      throw refused(`The host '${host}' is not on the allow-list.`);
    if (!this.cfg.allowPrivate) {
      const addrs = isIP(host) ? [host] : await resolveAll(host);
      if (addrs.length === 0) throw refused(`The host '${host}' does not resolve.`);
      const bad = addrs.find(isPrivateAddress);
      if (bad) throw refused(`The host '${host}' resolves to a private or loopback address (${bad}).`);
    }
    return url;
  }

  /** A DNS lookup for the delivery's socket that refuses private answers (no rebinding between check and connect). */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 4);
      const list = addresses as unknown as Array<{ address: string; family: number }>;
      const bad = this.cfg.allowPrivate ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (bad) return callback(new Error(`refused private address ${bad.address}`), "", 4);
      if ((options as { all?: boolean }).all) return (callback as (e: null, a: unknown) => void)(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}

async function resolveAll(host: string): Promise<string[]> {
  try {
    const r = await dns.lookup(host, { all: true, verbatim: true });
    return r.map((a) => a.address);
  } catch {
    return [];
  }
}

/** Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 over `id.timestamp.body` with the secret's bytes. */
export function signWebhook(secret: string, id: string, timestampSec: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestampSec}.${body}`).digest("base64")}`;
}

export interface WebhookDeps {
  cfg: WebhookConfig;
  store: Store;
  guard: WebhookGuard;
  onError?: (err: unknown) => void;
}

/**
 * Delivers a finished job's webhook, retried with backoff, recording the delivery state on the job.
 * Deliveries run in the background of the process that finished the job (at least once while it lives).
 */
export class WebhookDispatcher {
  readonly #agent: Agent;
  readonly #running = new Set<Promise<void>>();
  readonly #stop = new AbortController();

  constructor(private readonly d: WebhookDeps) {
    this.#agent = new Agent({ connect: { lookup: d.guard.lookup, timeout: d.cfg.timeoutMs } });
  }

  notify(job: JobRecord): void {
    if (!job.webhook || !this.d.cfg.secret) return;
    const p = this.#deliver(job).catch((err: unknown) => this.d.onError?.(err));
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  async #deliver(job: JobRecord): Promise<void> {
    const { cfg, store } = this.d;
    const url = job.webhook!.url;
    const id = `msg_${job.id}_${job.attempts}`;
    const type =
      job.status === "SUCCESS" ? "job.succeeded" : job.status === "FAILED" ? "job.failed" : "job.cancelled";
    let state: WebhookState = {
      status: "pending",
      attempts: 0,
      lastStatus: null,
      lastError: null,
      deliveredAt: null,
    };
    for (let attempt = 1; attempt <= cfg.maxAttempts; attempt++) {
      const ts = Math.floor(Date.now() / 1000);
      const body = JSON.stringify({
        type,
        timestamp: new Date(ts * 1000).toISOString(),
        data: webhookData(job),
      });
      let status: number | null = null;
      let error: string | null = null;
      try {
        const target = new URL(url);
        const res = await this.#agent.request({
          origin: target.origin,
          path: target.pathname + target.search,
          method: "POST",
          headers: {
            "content-type": "application/json",
            "webhook-id": id,
            "webhook-timestamp": String(ts),
            "webhook-signature": signWebhook(cfg.secret!, id, ts, body),
          },
          body,
          headersTimeout: cfg.timeoutMs,
          bodyTimeout: cfg.timeoutMs,
          signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(cfg.timeoutMs)]),
        });
        status = res.statusCode;
        await res.body.dump();
      } catch (err) {
        error = (err as Error).message;
      }
      const ok = status !== null && status >= 200 && status < 300;
      state = {
        status: ok ? "delivered" : attempt === cfg.maxAttempts ? "failed" : "pending",
        attempts: attempt,
        lastStatus: status,
        lastError: ok ? null : (error ?? `HTTP ${status}`),
        deliveredAt: ok ? Date.now() : null,
      };
      await store.jobs.setWebhookState(job.id, state, Date.now());
      if (ok || this.#stop.signal.aborted) return;
      if (attempt < cfg.maxAttempts) {
        const wait = Math.max(cfg.backoffBaseMs / 2, backoffMs(attempt, cfg.backoffBaseMs, cfg.backoffMaxMs));
        await sleep(wait, undefined, { signal: this.#stop.signal }).catch(() => undefined);
        if (this.#stop.signal.aborted) return;
      }
    }
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled([...this.#running]);
    await this.#agent.close();
  }
}

function webhookData(job: JobRecord): Record<string, unknown> {
  return {
    id: job.id,
    status: job.status,
    type: job.type,
    attempts: job.attempts,
    result: job.result ?? null,
    error: job.error,
    metadata: job.metadata,
    finished_at: job.finishedAt === null ? null : new Date(job.finishedAt).toISOString(),
  };
}
