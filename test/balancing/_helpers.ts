export { call, type Json } from "../helpers/http.js";

import { call, type Json } from "../helpers/http.js";

import type { Running } from "../helpers/proc.js";

export const chat = (content = "hi", extra: Json = {}) => ({
  model: "m",
  messages: [{ role: "user", content }],
  max_tokens: 2,
  ...extra,
});

export async function received(sim: Running): Promise<number> {
  const { json } = await call(sim.url, "/sim/stats");
  return Number(json.requests ?? 0);
}

export const resetStats = (sim: Running) => call(sim.url, "/sim/stats/reset", { method: "POST" });
export const setFaults = (sim: Running, faults: Json) =>
  call(sim.url, "/sim/faults", { method: "PUT", body: faults });
export const endpoint = (sim: Running, extra: Json = {}) => ({
  kind: "openai",
  url: `${sim.url}/v1`,
  ...extra,
});

export { load } from "../helpers/load.js";
