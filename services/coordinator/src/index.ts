// @flowmesh/coordinator: the composition root and the command the CLI registers.
export { coordinatorCommand, coordinatorOptions, startCoordinator, type CoordinatorConfig } from './main.js';
