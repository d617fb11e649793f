// The client-side commands (issue 5): each loaded only when named, like the service commands.
import type { CommandEntry } from './commands.js';

const client = () => import('./client/index.js');

export const clientCommands: CommandEntry[] = [
  { name: 'up', description: 'start a whole local mesh until Ctrl-C', load: async () => (await client()).upCommand() },
  {
    name: 'run',
    description: 'run a flow with a progress bar and a summary',
    load: async () => (await client()).runCommand(),
  },
  { name: 'flows', description: 'put, get, list and delete flows', load: async () => (await client()).flowsCommand() },
  { name: 'jobs', description: 'list, get, watch and cancel jobs', load: async () => (await client()).jobsCommand() },
  {
    name: 'tables',
    description: 'store and list reference tables',
    load: async () => (await client()).tablesCommand(),
  },
  {
    name: 'cluster',
    description: 'nodes of the mesh with slots and load',
    load: async () => (await client()).clusterCommand(),
  },
];
