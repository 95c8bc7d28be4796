import { type SimServer, startSimServer } from "../../src/sim/server.js";
import { parseSimSettings } from "../../src/sim/settings.js";

export interface TestSim {
  server: SimServer;
  base: string;
  post(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response>;
  get(path: string): Promise<Response>;
}

/** Starts a sim server on port 0 serving the given models (settings are raw input, validated here). */
export async function startTestSim(
  models: Record<string, unknown>,
  opts: { bodyLimitBytes?: number } = {},
): Promise<TestSim> {
  const server = await startSimServer({
    port: 0,
    models: Object.entries(models).map(([name, s]) => ({ name, settings: parseSimSettings(s) })),
    ...opts,
  });
  const base = `http://127.0.0.1:${server.port}`;
  return {
    server,
    base,
    post: (path, body, headers = {}, signal) =>
      fetch(base + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
        signal,
      }),
    get: (path) => fetch(base + path),
  };
}

export function chat(
  model: string,
  content: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { model, messages: [{ role: "user", content }], ...extra };
}

/** Parses an SSE body into its data payloads (including `[DONE]`). */
export function sseData(text: string): string[] {
  return text
    .split("\n\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => e.slice(6));
}

/** Reads SSE data events from a streaming response as they arrive. */
export async function* readSse(res: Response): AsyncGenerator<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let i = buf.indexOf("\n\n");
    while (i >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (ev.startsWith("data: ")) yield ev.slice(6);
      i = buf.indexOf("\n\n");
    }
  }
}

/** Random one-token words no other test uses, so prefix caches start cold. */
export function uniqueText(words: number): string {
  const tag = Math.random().toString(36).slice(2, 6).replace(/[0-9]/g, "q");
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(`${tag}${i.toString(36)}`);
  return out.join(" ");
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Strips the per-response `id` and `created` so two answers can be compared. */
export function stable(json: string): string {
  return json.replace(/"id":"[^"]*"/, '"id":"X"').replace(/"created":\d+/, '"created":0');
}
