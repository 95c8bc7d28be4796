import { request } from "undici";

export type Json = Record<string, unknown>;

/** One HTTP call with a JSON body (when given); the answer's status, headers, parsed JSON and text. */
export async function call(
  url: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await request(`${url}${path}`, {
    method: (init.method ?? (init.body === undefined ? "GET" : "POST")) as "GET",
    headers: { ...(init.body === undefined ? {} : { "content-type": "application/json" }), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.body.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    json = { text };
  }
  return { status: res.statusCode, headers: res.headers, json, text };
}
