import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import {
  parseSimSettings,
  SIM_PRESET_VALUES,
  SIM_PRESETS,
  type SimPreset,
  type SimSettings,
} from "./settings.js";

const USAGE =
  "usage: switchyard sim [--port 9000] [--grpc-port N] [--host 127.0.0.1] [--preset P] [--model NAME[:preset]]... [--settings FILE.json|yaml]";

const DEFAULT_MODELS: Array<[string, SimPreset]> = [
  ["sim-small", "small"],
  ["sim-large", "large"],
  ["sim-embed", "embedding"],
];

/** A user mistake: reported as one line on stderr with exit code 2. */
class UsageError extends Error {}

interface ModelSpec {
  name: string;
  preset: SimPreset | undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function asPreset(value: string, where: string): SimPreset {
  if (!(SIM_PRESETS as readonly string[]).includes(value)) {
    throw new UsageError(`${where}: unknown preset '${value}' (expected ${SIM_PRESETS.join(", ")})`);
  }
  return value as SimPreset;
}

function parseModelFlag(value: string): ModelSpec {
  const colon = value.lastIndexOf(":");
  const name = colon < 0 ? value : value.slice(0, colon);
  if (name === "") throw new UsageError(`--model: empty model name in '${value}'`);
  return { name, preset: colon < 0 ? undefined : asPreset(value.slice(colon + 1), "--model") };
}

function parsePort(value: string, flag = "--port"): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`${flag}: '${value}' is not a port number`);
  return port;
}

async function readSettingsFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`--settings: cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new UsageError(
      `--settings: ${path} is not valid ${/\.ya?ml$/i.test(path) ? "YAML" : "JSON"}: ${(err as Error).message}`,
    );
  }
  if (!isRecord(parsed)) throw new UsageError(`--settings: ${path} must hold an object`);
  return parsed;
}

/** The type a model keeps when `--preset` changes its preset (an embedding model stays one). */
function typeOf(preset: SimPreset | undefined): unknown {
  return preset === undefined ? undefined : SIM_PRESET_VALUES[preset].type;
}

function settingsFor(name: string, input: Record<string, unknown>): SimSettings {
  try {
    return parseSimSettings(input);
  } catch (err) {
    const detail = err instanceof z.ZodError ? z.prettifyError(err).replace(/\s*\n\s*/g, "; ") : String(err);
    throw new UsageError(`settings of model '${name}' are invalid: ${detail}`);
  }
}

/**
 * Builds the served models. A settings file is either settings applied to every model, or
 * `{ "models": { NAME: settings } }` naming the models (and their settings) to serve.
 */
function buildModels(flags: ModelSpec[], globalPreset: SimPreset | undefined, file: Record<string, unknown>) {
  const perModel = isRecord(file.models) ? file.models : undefined;
  if (file.models !== undefined && !perModel) throw new UsageError("--settings: 'models' must be an object");
  const base = perModel ? {} : file;
  let specs: Array<{ name: string; preset: SimPreset | undefined; defaultPreset?: SimPreset }> = flags;
  if (specs.length === 0) {
    specs = perModel
      ? Object.keys(perModel).map((name) => ({ name, preset: undefined }))
      : DEFAULT_MODELS.map(([name, preset]) => ({ name, preset: undefined, defaultPreset: preset }));
  }
  return specs.map((spec) => {
    const own = perModel?.[spec.name];
    if (own !== undefined && !isRecord(own))
      throw new UsageError(`--settings: models.${spec.name} must be an object`);
    const input: Record<string, unknown> = { ...base, ...own };
    const inherent = spec.defaultPreset ?? (input.preset as SimPreset | undefined);
    if (spec.preset) input.preset = spec.preset;
    else if (globalPreset) {
      input.type ??= typeOf(inherent);
      input.preset = globalPreset;
    } else if (spec.defaultPreset && input.preset === undefined) input.preset = spec.defaultPreset;
    return { name: spec.name, settings: settingsFor(spec.name, input) };
  });
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      resolve(sig);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

async function run(argv: string[]): Promise<number> {
  let values: { [k: string]: string | boolean | string[] | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string", default: "9000" },
        "grpc-port": { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        preset: { type: "string" },
        model: { type: "string", multiple: true },
        settings: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0] ?? "bad arguments");
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = parsePort(values.port as string);
  const grpcPort =
    values["grpc-port"] === undefined ? undefined : parsePort(values["grpc-port"] as string, "--grpc-port");
  const preset = values.preset === undefined ? undefined : asPreset(values.preset as string, "--preset");
  const flags = ((values.model as string[] | undefined) ?? []).map(parseModelFlag);
  const file = values.settings ? await readSettingsFile(values.settings as string) : {};
  const models = buildModels(flags, preset, file);
  // Loaded once the arguments are known to be good: a usage error answers at once.
  const { startSimServer } = await import("./server.js");
  const server = await startSimServer({ host: values.host as string, port, grpcPort, models }).catch(
    (err: Error) => {
      throw new UsageError(`cannot listen on ${values.host}:${port}: ${err.message}`);
    },
  );
  const ready =
    grpcPort === undefined ? { port: server.port } : { port: server.port, grpcPort: server.grpcPort };
  process.stdout.write(`${JSON.stringify({ msg: "sim listening", ...ready })}\n`);
  const signal = await waitForSignal();
  await server.close();
  process.stdout.write(`${JSON.stringify({ msg: "sim stopped", signal })}\n`);
  return 0;
}

/** `switchyard sim`: serves simulated models until SIGTERM or SIGINT. Returns the exit code. */
export async function simCommand(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`switchyard sim: ${err.message} (see --help)\n`);
      return 2;
    }
    throw err;
  }
}
