import { request } from "undici";
import type { Running } from "../helpers/proc.js";

export type Json = Record<string, unknown>;

export async function call(url: string, path: string, init: { method?: string; body?: unknown } = {}) {
  const res = await request(`${url}${path}`, {
    method: (init.method ?? (init.body === undefined ? "GET" : "POST")) as "GET",
    headers: init.body === undefined ? {} : { "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.body.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    json = { text };
  }
  return { status: res.statusCode, json, text };
}

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
