// Server reflection fed from the descriptor sets `npm run gen` builds with buf. Re-parsing .proto files at
// run time would invent file names and break reflection clients (docs: /work/shared/TOOLCHAIN.md).
import { readFileSync } from 'node:fs';
import type { Server } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { descriptorSetPaths } from '@flowmesh/contracts';

export const HEALTH_SERVICE = 'grpc.health.v1.Health';
export const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

let cached: PackageDefinition | undefined;

/** flowmesh + health + reflection descriptors as one package definition (keys are fully-qualified names). */
function allDescriptors(): PackageDefinition {
  cached ??= Object.assign(
    {},
    ...[descriptorSetPaths.flowmesh, descriptorSetPaths.health, descriptorSetPaths.reflection].map((path) =>
      loadFileDescriptorSetFromBuffer(readFileSync(path)),
    ),
  ) as PackageDefinition;
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
