/** Runs `switchyard sim` directly: `node --import tsx src/sim/main.ts --port 0`. */
import { simCommand } from "./cli.js";

process.exitCode = await simCommand(process.argv.slice(2));
