import { z } from "zod";

/**
 * Settings of one simulated model. A preset fills every field; fields given explicitly override it.
 * Default costs follow `sim-calibration.md` (an 8B decoder and a BERT-base encoder on one H200).
 */

export const SIM_PRESETS = ["small", "large", "embedding", "instant", "classifier"] as const;
export type SimPreset = (typeof SIM_PRESETS)[number];

const NO_FAULTS = { errorRate: 0, errorStatus: 500, delayMs: 0, resetRate: 0, hangRate: 0 };
const ENCODER = { dimensions: 768, perCallMs: 5, perItemMs: 0.035, maxConcurrentCalls: 1 };
const PREFIX_CACHE = { enabled: true, blockTokens: 16, maxBlocks: 32_768 };
/** A small tensor classifier (KServe v2): input [batch, dim], output scores [batch, classes]. */
const TENSOR = {
  inputName: "input",
  dim: 16,
  classes: 4,
  perCallMs: 2,
  perItemMs: 0.02,
  maxConcurrentCalls: 1,
};

const LARGE = {
  type: "chat",
  seed: 0,
  ttftBaseMs: 15,
  ttftPerPromptTokenMs: 0.03,
  itlBaseMs: 4,
  itlPerRunningSeqMs: 0.025,
  maxRunningSeqs: 256,
  maxWaitingSeqs: 4096,
  defaultMaxTokens: 256,
  maxModelLenTokens: 32_768,
  prefixCache: PREFIX_CACHE,
  embedding: ENCODER,
  tensor: TENSOR,
  faults: NO_FAULTS,
} as const;

/** The values each preset fills in (before explicit fields are applied). */
export const SIM_PRESET_VALUES: Readonly<Record<SimPreset, Readonly<Record<string, unknown>>>> = {
  large: LARGE,
  small: {
    ...LARGE,
    ttftBaseMs: 2,
    ttftPerPromptTokenMs: 0.03 / 8,
    itlBaseMs: 0.5,
    itlPerRunningSeqMs: 0.025 / 8,
  },
  embedding: { ...LARGE, type: "embedding" },
  instant: {
    ...LARGE,
    ttftBaseMs: 0,
    ttftPerPromptTokenMs: 0,
    itlBaseMs: 0,
    itlPerRunningSeqMs: 0,
    maxRunningSeqs: 1024,
    defaultMaxTokens: 16,
    embedding: { ...ENCODER, perCallMs: 0, perItemMs: 0, maxConcurrentCalls: 64 },
    tensor: { ...TENSOR, perCallMs: 0, perItemMs: 0, maxConcurrentCalls: 64 },
  },
  classifier: { ...LARGE, type: "tensor" },
};

const ms = () => z.number().finite().nonnegative();
const probability = () => z.number().min(0).max(1);

const prefixCacheSchema = z.strictObject({
  enabled: z.boolean().default(PREFIX_CACHE.enabled),
  blockTokens: z.number().int().min(1).max(4096).default(PREFIX_CACHE.blockTokens),
  maxBlocks: z.number().int().min(0).default(PREFIX_CACHE.maxBlocks),
});

const embeddingSchema = z.strictObject({
  dimensions: z.number().int().min(1).max(16_384).default(ENCODER.dimensions),
  perCallMs: ms().default(ENCODER.perCallMs),
  perItemMs: ms().default(ENCODER.perItemMs),
  maxConcurrentCalls: z.number().int().min(1).default(ENCODER.maxConcurrentCalls),
});

const tensorSchema = z.strictObject({
  inputName: z.string().min(1).max(256).default(TENSOR.inputName),
  dim: z.number().int().min(1).max(65_536).default(TENSOR.dim),
  classes: z.number().int().min(1).max(65_536).default(TENSOR.classes),
  perCallMs: ms().default(TENSOR.perCallMs),
  perItemMs: ms().default(TENSOR.perItemMs),
  maxConcurrentCalls: z.number().int().min(1).default(TENSOR.maxConcurrentCalls),
});

const faultsSchema = z
  .strictObject({
    errorRate: probability().default(0),
    errorStatus: z.number().int().min(400).max(599).default(500),
    delayMs: ms().default(0),
    resetRate: probability().default(0),
    hangRate: probability().default(0),
  })
  .refine((f) => f.errorRate + f.resetRate + f.hangRate <= 1, {
    message: "errorRate + resetRate + hangRate must not exceed 1",
  });

const settingsObject = z.strictObject({
  preset: z.enum(SIM_PRESETS).default("large"),
  type: z.enum(["chat", "embedding", "tensor"]).default(LARGE.type),
  seed: z.number().int().default(LARGE.seed),
  ttftBaseMs: ms().default(LARGE.ttftBaseMs),
  ttftPerPromptTokenMs: ms().default(LARGE.ttftPerPromptTokenMs),
  itlBaseMs: ms().default(LARGE.itlBaseMs),
  itlPerRunningSeqMs: ms().default(LARGE.itlPerRunningSeqMs),
  maxRunningSeqs: z.number().int().min(1).default(LARGE.maxRunningSeqs),
  maxWaitingSeqs: z.number().int().min(0).default(LARGE.maxWaitingSeqs),
  defaultMaxTokens: z.number().int().min(1).default(LARGE.defaultMaxTokens),
  maxModelLenTokens: z.number().int().min(1).default(LARGE.maxModelLenTokens),
  prefixCache: prefixCacheSchema.prefault({}),
  embedding: embeddingSchema.prefault({}),
  tensor: tensorSchema.prefault({}),
  faults: faultsSchema.prefault({}),
});

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Lays the explicit fields over the preset's values (nested objects merged one level deep). */
function applyPreset(input: unknown): unknown {
  if (!isPlainObject(input)) return input;
  const preset =
    input.preset ??
    (input.type === "embedding" ? "embedding" : input.type === "tensor" ? "classifier" : "large");
  if (typeof preset !== "string" || !Object.hasOwn(SIM_PRESET_VALUES, preset)) return input;
  const out: Record<string, unknown> = { ...SIM_PRESET_VALUES[preset as SimPreset], preset };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const base = out[key];
    out[key] = isPlainObject(base) && isPlainObject(value) ? { ...base, ...value } : value;
  }
  return out;
}

export const simSettingsSchema = z.preprocess(applyPreset, settingsObject);

export type SimSettings = z.infer<typeof simSettingsSchema>;

function deepFreeze<T>(value: T): T {
  if (isPlainObject(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Validates settings (throws a ZodError on bad input) and returns them complete and frozen. */
export function parseSimSettings(input: unknown): SimSettings {
  return deepFreeze(simSettingsSchema.parse(input === undefined ? {} : input));
}
