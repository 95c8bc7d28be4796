#!/usr/bin/env node
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

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
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
