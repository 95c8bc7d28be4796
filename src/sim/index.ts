/** The public surface of the simulator. */
export { simCommand } from "./cli.js";
export { type SimCall, SimEngine, type SimEngineStats, type SimSink } from "./engine.js";
export { type FaultDirectives, type FaultPlan, parseFaultHeader } from "./faults.js";
export type { RequestRecord } from "./records.js";
export { type SimLogger, type SimServer, type SimServerOptions, startSimServer } from "./server.js";
export {
  parseSimSettings,
  SIM_PRESET_VALUES,
  SIM_PRESETS,
  type SimPreset,
  type SimSettings,
  simSettingsSchema,
} from "./settings.js";
export { countTokens, tokenize } from "./tokenizer.js";
