import { ConfigError, defaultConfigInput, loadConfigFile, parseConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";

type Env = Readonly<Record<string, string | undefined>>;

/** The config file when one is named (or `SWITCHYARD_CONFIG` is set), else the embedded default. */
export function loadConfig(file: string | undefined, env: Env): Config {
  const path = file ?? env.SWITCHYARD_CONFIG;
  return path ? loadConfigFile(path, env) : parseConfig(defaultConfigInput(), env);
}

export { ConfigError };
