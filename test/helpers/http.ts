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

/**
 * Submits a `chat.completion` job to `model` (default `sim-small`) with one short user message and
 * the submission fields in `extra` (priority, max_attempts, …); asserts the 202 and gives the job id.
 */
export async function submitChatJob(
  url: string,
  opts: { model?: string; content?: string; extra?: Json } = {},
): Promise<string> {
  const res = await call(url, "/v1/jobs", {
    body: {
      type: "chat.completion",
      request: {
        model: opts.model ?? "sim-small",
        messages: [{ role: "user", content: opts.content ?? "hi" }],
        max_tokens: 2,
      },
      ...opts.extra,
    },
  });
  if (res.status !== 202) throw new Error(`POST /v1/jobs answered ${res.status}: ${res.text}`);
  return res.json.id as string;
}
