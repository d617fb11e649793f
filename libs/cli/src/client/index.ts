// The client commands of `flowmesh` (issue 5), registered in ../commands.ts.
export { upCommand, bringUp, registerFileRoots } from './up-command.js';
export { runCommand, parseVars } from './run-command.js';
export { flowsCommand } from './flows-command.js';
export { jobsCommand } from './jobs-command.js';
export { clusterCommand } from './cluster-command.js';
export { tablesCommand } from './tables-command.js';
export { startMesh, generateAdminKey, type Mesh, type MeshOptions } from './mesh-launcher.js';
export { resolveConnection, readState, statePath, type MeshState } from './connection.js';
