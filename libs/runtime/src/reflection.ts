// Server reflection fed from the descriptor sets `npm run gen` builds with buf. Re-parsing .proto files at
// run time would invent file names, and even proto-loader's loadFileDescriptorSetFromBuffer regenerates the
// descriptors from a merged protobufjs root (every service lands in one file), which breaks `buf curl`.
// So the FileDescriptorProtos are handed to the reflection service exactly as buf wrote them.
import { readFileSync } from 'node:fs';
import type { Server } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { ReflectionService } from '@grpc/reflection';
import { descriptorSetPaths } from '@flowmesh/contracts';

export const HEALTH_SERVICE = 'grpc.health.v1.Health';
export const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

let cached: PackageDefinition | undefined;

/** The serialized FileDescriptorProtos of a FileDescriptorSet (`repeated FileDescriptorProto file = 1`). */
export function fileDescriptorProtos(set: Uint8Array): Buffer[] {
  const reader = new BinaryReader(set);
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) files.push(Buffer.from(reader.bytes()));
    else reader.skip(wireType);
  }
  return files;
}

/**
 * flowmesh + health + reflection descriptors in the shape ReflectionService reads: it only looks at the
 * `fileDescriptorProtos` of each entry (and skips duplicate file names).
 */
function allDescriptors(): PackageDefinition {
  const paths = [descriptorSetPaths.flowmesh, descriptorSetPaths.health, descriptorSetPaths.reflection];
  const files = paths.flatMap((path) => fileDescriptorProtos(readFileSync(path)));
  cached ??= { descriptors: { fileDescriptorProtos: files } } as unknown as PackageDefinition;
  return cached;
}

/**
 * Adds reflection to `server`, listing only what this server serves: its own services, health and
 * reflection v1 (v1alpha is served too, for older clients, but has no descriptor of its own here).
 */
export function addReflection(server: Server, serviceNames: string[]): void {
  const listed = [...serviceNames, HEALTH_SERVICE, 'grpc.reflection.v1.ServerReflection'];
  new ReflectionService(allDescriptors(), { services: listed }).addToServer(server);
}
