import { Resolver } from "node:dns/promises";
import type { ModelConfig, OpenAIEndpointConfig } from "../../config/schema.js";
import { dedupeChanges } from "./dedupe.js";

export type DnsDiscoveryConfig = Extract<NonNullable<ModelConfig["discovery"]>, { kind: "dns" }>;

interface Target {
  host: string;
  port: number;
}

/**
 * Endpoints from DNS, re-resolved every `intervalMs`: A/AAAA records give addresses (with the
 * configured port), SRV records give targets and ports (targets resolved to addresses) — so
 * Kubernetes headless services and Consul's DNS interface work. Each address becomes an `openai`
 * endpoint with the options of `endpoint`.
 */
export class DnsDiscovery {
  private timer: NodeJS.Timeout | undefined;
  private readonly resolver: Resolver;
  private stopped = false;

  constructor(private readonly cfg: DnsDiscoveryConfig) {
    this.resolver = new Resolver({ timeout: cfg.timeoutMs, tries: 2 });
    if (cfg.server) this.resolver.setServers([cfg.server]);
  }

  async start(onChange: (eps: OpenAIEndpointConfig[]) => void, onError: (err: Error) => void): Promise<void> {
    const report = dedupeChanges(onChange as (eps: unknown[]) => void);
    const round = async () => {
      try {
        const targets = await this.resolve();
        if (!this.stopped) report(targets.map((t) => this.endpoint(t)));
      } catch (err) {
        if (!this.stopped) onError(err as Error);
      }
    };
    await round();
    if (this.stopped) return;
    this.timer = setInterval(() => void round(), this.cfg.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.resolver.cancel();
  }

  /** The current targets, sorted so that an unchanged answer in another order is no change. */
  async resolve(): Promise<Target[]> {
    const { record, name } = this.cfg;
    let out: Target[];
    if (record === "SRV") {
      const srv = await this.resolver.resolveSrv(name);
      const lists = await Promise.all(
        srv.map(async (r) => (await this.addresses(r.name)).map((host) => ({ host, port: r.port }))),
      );
      out = lists.flat();
    } else {
      const hosts = record === "A" ? await this.resolver.resolve4(name) : await this.resolver.resolve6(name);
      out = hosts.map((host) => ({ host, port: this.cfg.port as number }));
    }
    const seen = new Set<string>();
    return out
      .filter((t) => !seen.has(`${t.host}:${t.port}`) && seen.add(`${t.host}:${t.port}`))
      .sort((a, b) => (a.host === b.host ? a.port - b.port : a.host < b.host ? -1 : 1));
  }

  private async addresses(host: string): Promise<string[]> {
    try {
      return await this.resolver.resolve4(host);
    } catch {
      return await this.resolver.resolve6(host);
    }
  }

  private endpoint(t: Target): OpenAIEndpointConfig {
    const host = t.host.includes(":") ? `[${t.host}]` : t.host;
    return {
      ...this.cfg.endpoint,
      kind: "openai",
      url: `${this.cfg.scheme}://${host}:${t.port}${this.cfg.basePath}`,
    } as OpenAIEndpointConfig;
  }
}
