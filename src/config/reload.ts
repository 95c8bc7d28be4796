import type { Logger } from "../observability/logger.js";
import { buildPools } from "../routing/build.js";
import { watchFileText } from "../routing/discovery/watch.js";
import type { RouterObserver } from "../routing/observer.js";
import type { Router } from "../routing/router.js";
import { ConfigError } from "./load.js";
import type { Config } from "./schema.js";

/** What a reload did: the models now served and the changed settings that only a restart applies. */
export interface ReloadOutcome {
  models: string[];
  restartRequired: string[];
}

export interface ReloaderOptions {
  router: Router;
  config: Config;
  observer: RouterObserver;
  logger: Logger;
  /** Reads and validates the config again from where it came (a file); throws ConfigError. */
  load?: () => Config;
}

/** Top-level settings applied at start only; `models` (everything routing) reloads live. */
const LIVE = new Set(["models"]);

/** Dotted names of the settings outside `models` that differ between two configs. */
export function restartRequired(before: Config, after: Config): string[] {
  const out: string[] = [];
  for (const key of Object.keys({ ...before, ...after }) as Array<keyof Config>) {
    if (LIVE.has(key)) continue;
    const a = before[key] as unknown;
    const b = after[key] as unknown;
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (a && b && typeof a === "object" && typeof b === "object") {
      const ra = a as Record<string, unknown>;
      const rb = b as Record<string, unknown>;
      for (const k of Object.keys({ ...ra, ...rb })) {
        if (JSON.stringify(ra[k]) !== JSON.stringify(rb[k])) out.push(`${key}.${k}`);
      }
    } else out.push(key);
  }
  return out;
}

/**
 * Hot reload of the whole config, one reload at a time: the new config is read and validated first
 * (a bad one throws ConfigError and nothing changes), then a routing table is built from it —
 * reusing unchanged endpoints with their connections, health and breakers — and swapped into the
 * router at once. Settings outside `models` are reported as needing a restart.
 */
export class ConfigReloader {
  private current: Config;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: ReloaderOptions) {
    this.current = o.config;
  }

  get config(): Config {
    return this.current;
  }

  /** Reloads `next`, or the config from its source when none is given. Rejects with ConfigError. */
  reload(next?: Config): Promise<ReloadOutcome> {
    const run = this.chain.then(() => this.apply(next));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async apply(given: Config | undefined): Promise<ReloadOutcome> {
    let next = given;
    if (!next) {
      if (!this.o.load)
        throw new ConfigError("this gateway was not started from a config file; nothing to reload");
      next = this.o.load();
    }
    const { router, observer, logger } = this.o;
    const pools = buildPools(next, {
      observer,
      previous: router.endpoints(),
      warn: (msg, fields) => logger.warn(fields, msg),
    });
    await router.swap(pools);
    const restart = restartRequired(this.current, next);
    this.current = next;
    const outcome = { models: [...pools.keys()], restartRequired: restart };
    logger.info(outcome, "config reloaded");
    if (restart.length > 0) logger.warn({ settings: restart }, "these settings change only with a restart");
    return outcome;
  }

  /**
   * Reloads on SIGHUP and, when `file` is given, when the file changes. Failures are logged with
   * their reason and the running config stays. Returns the function that stops listening.
   */
  watch(file: string | undefined, intervalMs = 2_000): () => void {
    const run = (why: string) => {
      this.reload().catch((err: unknown) => {
        const reason = err instanceof ConfigError ? err.message : String(err);
        this.o.logger.error({ trigger: why, reason }, "config reload refused; the running config stays");
      });
    };
    const onHup = () => run("SIGHUP");
    process.on("SIGHUP", onHup);
    let first = true;
    const w = file
      ? watchFileText(
          file,
          intervalMs,
          () => {
            if (first) first = false;
            else run("file");
          },
          () => undefined,
        )
      : undefined;
    return () => {
      process.off("SIGHUP", onHup);
      w?.stop();
    };
  }
}
