/**
 * Server reflection from the descriptors `protoc` compiled (`proto/switchyard/descriptors.binpb`,
 * written by `npm run gen:proto`): the switchyard.v1 services, the health service and the
 * well-known types they import. Descriptors that protobufjs derives from .proto files at run time
 * name map entries and imported types in ways grpcurl and other reflection clients reject, so
 * reflection serves protoc's bytes as they are.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { PROTO_ROOT } from "./protos.js";

export const DESCRIPTOR_SET = join(PROTO_ROOT, "switchyard", "descriptors.binpb");

function varint(buf: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 1;
  let i = at;
  for (;;) {
    if (i >= buf.length) throw new Error("truncated descriptor set");
    const b = buf[i++]!;
    value += (b & 0x7f) * shift;
    if (b < 0x80) return [value, i];
    shift *= 0x80;
  }
}

/** The encoded FileDescriptorProtos of a FileDescriptorSet (field 1, repeated), byte for byte. */
export function splitDescriptorSet(set: Buffer): Buffer[] {
  const files: Buffer[] = [];
  let at = 0;
  while (at < set.length) {
    const [key, afterKey] = varint(set, at);
    const [len, start] = varint(set, afterKey);
    if (key !== ((1 << 3) | 2)) throw new Error(`unexpected field ${key >> 3} in a descriptor set`);
    files.push(set.subarray(start, start + len));
    at = start + len;
  }
  return files;
}

let files: Buffer[] | undefined;

export function reflectionService(): ReflectionService {
  files ??= splitDescriptorSet(readFileSync(DESCRIPTOR_SET));
  // The reflection service only reads `fileDescriptorProtos` of the definition's entries.
  const pkg = { "switchyard.descriptors": { fileDescriptorProtos: files } } as unknown as PackageDefinition;
  return new ReflectionService(pkg);
}
