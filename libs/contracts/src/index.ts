// Public surface of the generated contracts. The generated files live in ./gen and are never edited by hand.
import { fileURLToPath } from 'node:url';

export * from './gen/flowmesh/v1/common.js';
export * from './gen/flowmesh/v1/resources.js';
export * from './gen/flowmesh/v1/config_store.js';
export * from './gen/flowmesh/v1/job_service.js';
export * from './gen/flowmesh/v1/flow_service.js';
export * from './gen/flowmesh/v1/cluster_service.js';
export * from './gen/flowmesh/v1/coordinator_service.js';
export * from './gen/flowmesh/v1/executor_service.js';
export { ENDED_JOB_STATES } from './job-states.js';

/** Serialized FileDescriptorSets built by `npm run gen`, for server reflection. */
export const descriptorSetPaths = {
  flowmesh: fileURLToPath(new URL('../descriptors/flowmesh.binpb', import.meta.url)),
  health: fileURLToPath(new URL('../descriptors/health.binpb', import.meta.url)),
  reflection: fileURLToPath(new URL('../descriptors/reflection.binpb', import.meta.url)),
} as const;
