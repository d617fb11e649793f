// @flowmesh/cli: the `flowmesh` command (bin/flowmesh.js loads runCli).
export { runCli } from './run-cli.js';
export { commands, type CommandEntry } from './commands.js';
export { startMesh, generateAdminKey, type Mesh, type MeshOptions } from './client/index.js';
