import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { type EndpointConfig, endpointSchema, type ModelConfig } from "../../config/schema.js";
import { dedupeChanges } from "./dedupe.js";
import { watchFileText } from "./watch.js";

export type FileDiscoveryConfig = Extract<NonNullable<ModelConfig["discovery"]>, { kind: "file" }>;

const fileSchema = z.union([
  z.array(endpointSchema),
  z.object({ endpoints: z.array(endpointSchema) }).transform((f) => f.endpoints),
]);

/** Parses the text of an endpoints file (JSON or YAML); throws with the reason when it is not one. */
export function parseEndpointsFile(text: string): EndpointConfig[] {
  const doc: unknown = parseYaml(text);
  const r = fileSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`not a list of endpoints: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  return r.data;
}

/** Endpoints from a watched JSON or YAML file; an unreadable or invalid file keeps the last good list. */
export class FileDiscovery {
  private stopWatch: (() => void) | undefined;

  constructor(private readonly cfg: FileDiscoveryConfig) {}

  async start(onChange: (eps: EndpointConfig[]) => void, onError: (err: Error) => void): Promise<void> {
    const report = dedupeChanges(onChange);
    const w = watchFileText(
      this.cfg.path,
      this.cfg.intervalMs,
      (text) => {
        try {
          report(parseEndpointsFile(text));
        } catch (err) {
          onError(new Error(`${this.cfg.path}: ${(err as Error).message}`));
        }
      },
      onError,
    );
    this.stopWatch = w.stop;
    await w.first;
  }

  stop(): void {
    this.stopWatch?.();
  }
}
