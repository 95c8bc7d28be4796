import { Counter, Gauge, Registry } from "prom-client";
import type { SimEngine, SimEngineStats } from "./engine.js";

/** Prometheus metrics of one sim server, in a registry the server owns (never the global one). */
export interface SimMetrics {
  registry: Registry;
  countRequest(model: string, route: string, status: string): void;
}

type StatKey = keyof SimEngineStats;

const GAUGES: Array<[name: string, help: string, key: StatKey]> = [
  ["sim_running_seqs", "Sequences in the running batch", "runningSeqs"],
  ["sim_waiting_seqs", "Sequences waiting for a batch slot", "waitingSeqs"],
  ["sim_embedding_running_calls", "Embedding calls running", "embeddingRunningCalls"],
  ["sim_embedding_waiting_calls", "Embedding calls waiting", "embeddingWaitingCalls"],
];

const COUNTERS: Array<[name: string, help: string, key: StatKey]> = [
  [
    "sim_prefix_cache_queries_total",
    "Prompt tokens looked up in the prefix cache",
    "prefixCacheQueriedTokens",
  ],
  ["sim_prefix_cache_hits_total", "Prompt tokens found in the prefix cache", "prefixCacheHitTokens"],
  ["sim_prompt_tokens_total", "Prompt tokens admitted", "promptTokens"],
  ["sim_generation_tokens_total", "Tokens generated", "completionTokens"],
  ["sim_embedding_items_total", "Inputs embedded", "embeddingItems"],
];

export function createSimMetrics(engines: ReadonlyMap<string, SimEngine>): SimMetrics {
  const registry = new Registry();
  const read = (key: StatKey): Array<[string, number]> =>
    [...engines].map(([model, engine]) => [model, engine.stats()[key]]);
  for (const [name, help, key] of GAUGES) {
    new Gauge({
      name,
      help,
      labelNames: ["model"],
      registers: [registry],
      collect() {
        for (const [model, v] of read(key)) this.set({ model }, v);
      },
    });
  }
  for (const [name, help, key] of COUNTERS) {
    new Counter({
      name,
      help,
      labelNames: ["model"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [model, v] of read(key)) this.inc({ model }, v);
      },
    });
  }
  const requests = new Counter({
    name: "sim_requests_total",
    help: "Requests answered, by model, route and outcome (HTTP status, reset or client_closed)",
    labelNames: ["model", "route", "status"],
    registers: [registry],
  });
  return {
    registry,
    countRequest(model, route, status) {
      requests.inc({ model, route, status });
    },
  };
}
