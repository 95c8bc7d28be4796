#!/usr/bin/env node
// The second step of `npm run build`: bundles the compiled CLI (dist/cli/main.js) with the
// JavaScript libraries it loads at start into dist/bin/, the program `switchyard` runs.
//
// Why: V8 keeps the source text of every module it loads, and a module with a single character
// beyond Latin-1 is held at two bytes per character. Loading the gateway's libraries from
// node_modules kept ~9 MB of source text on the heap; the bundle, without comments and
// indentation, keeps ~5.5 MB, starts faster, and lowers the gateway's peak resident memory by
// 5-8 MB (docs/operations.md). Names are not shortened, so stack traces stay readable; a source
// map beside each file maps them back to dist/ (`node --enable-source-maps`).
//
// Each command's modules stay in chunks of their own, loaded when the command runs. Libraries
// that read files next to their own code (the gRPC ones, pino's transports), native modules, and
// the queue, Redis, PostgreSQL and JWT clients (loaded only when a config names them) stay in
// node_modules.
import { chmodSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// Chunks are written beside switchyard.js, two levels below the package root like every module in
// dist/: src/grpc/protos.ts and src/backends/switchyard-grpc-channel.ts find proto/ from there.
const outdir = join(root, "dist", "bin");

const EXTERNAL = [
  "better-sqlite3",
  "@grpc/*",
  "grpc-health-check",
  "protobufjs",
  "pino",
  "@nats-io/*",
  "@platformatic/kafka",
  "ioredis",
  "pg",
  "nsqjs",
  "jose",
  "gpt-tokenizer",
];

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { switchyard: join(root, "dist", "cli", "main.js") },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  // Bundled CommonJS libraries call require() for Node's own modules.
  banner: {
    js: 'import { createRequire as __sy_require } from "node:module"; const require = __sy_require(import.meta.url);',
  },
  logLevel: "warning",
});
chmodSync(join(outdir, "switchyard.js"), 0o755);
