import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config/load.js";
import { call } from "../helpers/http.js";
import { type Running, startSim } from "../helpers/proc.js";

/** A `switchyard sim` with instant chat models `sim-small`, `sim-large` and an instant embedding model `sim-embed`. */
export function startPipelineSim(): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-pipeline-sim-"));
  const file = join(dir, "settings.json");
  writeFileSync(
    file,
    JSON.stringify({
      models: {
        "sim-small": { preset: "instant" },
        "sim-large": { preset: "instant" },
        "sim-embed": { preset: "instant", type: "embedding", embedding: { dimensions: 8 } },
      },
    }),
  );
  return startSim(["--settings", file]);
}

/** Models in front of the sim: no breaker or ejection (tests inject failures), one attempt unless a step asks for more. */
export function pipelineModels(simUrl: string): Record<string, unknown> {
  const common = {
    endpoints: [{ kind: "openai", url: `${simUrl}/v1` }],
    breaker: { enabled: false },
    outlier: { enabled: false },
    healthCheck: { enabled: false },
    retry: { maxAttempts: 1, backoffBaseMs: 1, backoffMaxMs: 5 },
  };
  return {
    "sim-small": common,
    "sim-large": common,
    "sim-embed": { ...common, type: "embedding" },
  };
}

/** An in-process gateway (real HTTP listener on a free port) with these pipelines. */
export async function startPipelineGateway(
  simUrl: string,
  pipelines: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<{ gw: Gateway; url: string }> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-pipeline-"));
  const config = parseConfig({
    logging: { level: "silent", accessLog: false },
    store: { path: join(dir, "db.sqlite") },
    models: pipelineModels(simUrl),
    pipelines,
    ...extra,
  });
  const gw = await createGateway(config, { logger: pino({ level: "silent" }) });
  const port = await gw.listen(0, "127.0.0.1");
  return { gw, url: `http://127.0.0.1:${port}` };
}

/** What the sim saw for one request id: attempts, and whether the gateway gave up on it. */
export async function simSaw(
  sim: Running,
  id: string,
): Promise<{ attempts: number; aborted: boolean } | undefined> {
  const { status, json } = await call(sim.url, `/sim/requests/${id}`);
  if (status !== 200) return undefined;
  return { attempts: Number(json.attempts), aborted: json.aborted === true };
}
