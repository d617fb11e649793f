// @flowmesh/coordinator: the composition root and the command the CLI registers.
export { coordinatorCommand, coordinatorOptions, startCoordinator, type CoordinatorConfig } from './main.js';
export { AHEAD_PER_SLOT, AHEAD_PER_SLOT_LARGE, AHEAD_MAX_BYTES, AHEAD_PER_SLOT_TINY, TINY_MAX_BYTES } from './send-ahead.js';
