// Every `flowmesh` subcommand, loaded lazily: `flowmesh executor` imports only the executor's code, so a
// service starts fast and one package's unfinished code cannot break another's command.
// To add a command: write it in its own file or package (a factory returning a commander Command) and add
// one entry here.
import type { Command } from 'commander';
import { clientCommands } from './client-commands.js';

export interface CommandEntry {
  name: string;
  description: string;
  load(): Promise<Command>;
}

export const commands: CommandEntry[] = [
  {
    name: 'gateway',
    description: 'run the gateway (public JobService, FlowService, ClusterService)',
    load: async () => (await import('@flowmesh/gateway')).gatewayCommand(),
  },
  {
    name: 'coordinator',
    description: 'run a coordinator (plans, dispatches and merges jobs)',
    load: async () => (await import('@flowmesh/coordinator')).coordinatorCommand(),
  },
  {
    name: 'executor',
    description: 'run an executor (runs microflows over batches)',
    load: async () => (await import('@flowmesh/executor')).executorCommand(),
  },
  {
    name: 'config-store',
    description: 'run a config-store (flows, roots, tables, users, keys, jobs, audit)',
    load: async () => (await import('@flowmesh/config-store')).configStoreCommand(),
  },
  {
    name: 'health',
    description: 'check a service through grpc.health.v1 (exit 0 when SERVING)',
    load: async () => (await import('./health-command.js')).healthCommand(),
  },
  ...clientCommands,
];
