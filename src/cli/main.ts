#!/usr/bin/env node
import { setFlagsFromString } from "node:v8";
import {
  capOldGenerationGrowth,
  capYoungGeneration,
  heapGrowthPercentFrom,
  semiSpaceCapFrom,
} from "./heap.js";
import { UsageError } from "./options.js";

// Each command loads its own modules when it runs, so a short command (a usage error, `help`,
// `config check`) starts in a fraction of the time the whole gateway takes to load.

const HELP = `switchyard — model-serving gateway

usage:
  switchyard serve [--config FILE] [--port N] [--grpc-port N] [--host H] [--auth keys|jwt|keys,jwt]
                                                           start the gateway (embedded default without --config)
  switchyard worker [--config FILE] [--concurrency N]      run job workers alone (same store as the gateways)
  switchyard sim [--port N] [--model NAME[:preset]]...     start the simulated LLM server
  switchyard keys create|list|revoke ...                   manage virtual API keys (see: switchyard keys help)
  switchyard config check FILE                             validate a config and print it resolved
  switchyard help                                          this text
`;

/**
 * undici parses upstream HTTP/1.1 responses with llhttp compiled to WebAssembly, on the first
 * connection. V8's optimizing WebAssembly compiler raises the process's resident memory by about
 * 30 MB for that one module, which stays as the process's peak, while the baseline compiler's code
 * parses the gateway's upstream responses no measurably slower. So the long-running commands use the
 * baseline compiler only; `SWITCHYARD_WASM_OPTIMIZE=1` keeps V8's default. Set before any module
 * is compiled (the flag is read at compile time).
 */
function baselineWasm(env: NodeJS.ProcessEnv): void {
  if (env.SWITCHYARD_WASM_OPTIMIZE !== "1") setFlagsFromString("--liftoff-only");
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === "serve" || cmd === "worker") {
    baselineWasm(process.env);
    capYoungGeneration(semiSpaceCapFrom(process.env, process.execArgv));
    capOldGenerationGrowth(heapGrowthPercentFrom(process.env, process.execArgv));
  }
  switch (cmd) {
    case "serve": {
      const { serveCommand } = await import("./serve.js");
      return serveCommand(rest, process.env);
    }
    case "sim": {
      const { simCommand } = await import("../sim/cli.js");
      return simCommand(rest);
    }
    case "worker": {
      const { workerCommand } = await import("./worker.js");
      return workerCommand(rest, process.env);
    }
    case "keys": {
      const { keysCommand } = await import("./keys.js");
      return keysCommand(rest, process.env);
    }
    case "config":
      if (rest[0] === "check") {
        const { configCheckCommand } = await import("./config-check.js");
        return configCheckCommand(rest.slice(1), process.env);
      }
      throw new UsageError(`unknown config command '${rest[0] ?? ""}' (try: switchyard config check FILE)`);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(HELP);
      return 0;
    default:
      throw new UsageError(`unknown command '${cmd}'\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined && code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`switchyard: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`switchyard: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
