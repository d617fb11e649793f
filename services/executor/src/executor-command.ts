// The `executor` subcommand: flags and environment → validated config → startExecutor under runMain
// (SIGTERM/SIGINT → graceful stop → exit 0).
import { serviceCommand } from '@flowmesh/runtime';
import { executorOptions } from './options.js';
import { startExecutor } from './start-executor.js';

export function executorCommand() {
  return serviceCommand({
    name: 'executor',
    description: 'run microflows over offset-addressed batches on worker threads',
    options: executorOptions(),
    start: startExecutor,
  });
}
