import { z } from "zod";

const positiveInt = z.number().int().positive();
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

/**
 * Where a pool's endpoints come from besides its static list. `template` is the schema of the
 * options every discovered `openai` endpoint gets (everything of an openai endpoint but its URL),
 * passed in by the config schema so this module needs nothing from it.
 */
export function discoverySchema<T extends z.ZodType>(template: T) {
  const dns = z
    .object({
      kind: z.literal("dns"),
      /** The name to resolve: `vllm.default.svc.cluster.local`, `_http._tcp.vllm.service.consul`. */
      name: z.string().min(1).max(253),
      /** `A`/`AAAA`: addresses, with `port`; `SRV`: targets and ports (targets resolved to addresses). */
      record: z.enum(["A", "AAAA", "SRV"]).default("A"),
      port: z.number().int().min(1).max(65535).optional(),
      scheme: z.enum(["http", "https"]).default("http"),
      /** Path of the OpenAI-compatible API on each endpoint. */
      basePath: z.string().startsWith("/").default("/v1"),
      /** DNS server `host:port` (default: the system's resolvers). */
      server: z.string().regex(HOST_PORT, "host:port").optional(),
      intervalMs: positiveInt.default(10_000),
      timeoutMs: positiveInt.default(2_000),
      endpoint: template,
    })
    .strict()
    .refine((d) => d.record === "SRV" || d.port !== undefined, {
      message: "A and AAAA discovery needs a port",
      path: ["port"],
    });
  const file = z
    .object({
      kind: z.literal("file"),
      /** A JSON or YAML file holding a list of endpoints (as in `endpoints:`), or `{ endpoints: [...] }`. */
      path: z.string().min(1),
      /** Polling interval, a fallback for when file system events are not delivered. */
      intervalMs: positiveInt.default(2_000),
    })
    .strict();
  return z.discriminatedUnion("kind", [dns, file]);
}
