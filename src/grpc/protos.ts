/**
 * The .proto files of `switchyard.v1`, loaded at run time. They live in `proto/` at the package
 * root and are found from `src/grpc/` and `dist/grpc/` alike.
 */
import { fileURLToPath } from "node:url";
import { loadSync, type Options, type PackageDefinition } from "@grpc/proto-loader";

/** `proto/` at the package root (two levels above this file in `src/grpc/` or `dist/grpc/`). */
export const PROTO_ROOT = fileURLToPath(new URL("../../proto", import.meta.url));

/** One file per service; a new service adds its file here. */
export const PROTO_FILES = [
  "switchyard/v1/inference.proto",
  "switchyard/v1/jobs.proto",
  "switchyard/v1/pipelines.proto",
] as const;

/** The options the generated types in `generated/` were made with (`npm run gen:proto`). */
export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let cached: PackageDefinition | undefined;

/** The package definition of every Switchyard service (parsed once per process). */
export function switchyardPackage(): PackageDefinition {
  cached ??= loadSync([...PROTO_FILES], LOADER_OPTIONS);
  return cached;
}
