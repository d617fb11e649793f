// The executor's flags and environment: the common service options plus its own, resolved once by
// @flowmesh/runtime into a complete typed object (defaults documented on each option).
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { commonOptions, DEFAULT_SPOOL_DIR, option, optionalDiscoveryOptions } from '@flowmesh/runtime';
import type { ConfigOf, OptionSpec } from '@flowmesh/runtime';
import { parseFileRootFlags } from './file-roots.js';

/** `--file-root name=/abs/path`, repeatable (commander joins repeats with commas). */
const fileRoots: OptionSpec<Record<string, string>> = {
  flag: '--file-root <name=path...>',
  env: 'FLOWMESH_FILE_ROOTS',
  description: 'a file root this executor reads directly, as name=/abs/path (repeatable; the env is comma-separated)',
  default: {},
  expected: 'name=/absolute/path[,name=/absolute/path…]',
  parse(raw) {
    try {
      return parseFileRootFlags(raw.split(',').map((s) => s.trim()).filter(Boolean));
    } catch {
      return undefined;
    }
  },
};

export function executorOptions() {
  return {
    ...commonOptions('executor'),
    slots: option.integer({
      flag: '--slots <n>',
      env: 'FLOWMESH_SLOTS',
      description: 'batches run at once, one worker thread each',
      default: availableParallelism(),
      min: 1,
    }),
    heartbeatMs: option.integer({
      flag: '--heartbeat-ms <ms>',
      env: 'FLOWMESH_HEARTBEAT_MS',
      description: 'interval of heartbeat messages on a running batch',
      default: 1000,
      min: 10,
    }),
    fileRoot: fileRoots,
    pluginDir: option.string({
      flag: '--plugin-dir <dir>',
      env: 'FLOWMESH_PLUGIN_DIR',
      description: 'directory of plugin modules that `plugin` steps load',
    }),
    spoolDir: option.string({
      flag: '--spool-dir <dir>',
      env: 'FLOWMESH_SPOOL_DIR',
      description:
        'result spool shared with gateways on this machine: streamed jobs\' output parts are written there (issue 7; "off": never)',
      default: DEFAULT_SPOOL_DIR,
    }),
    configStore: option.address({
      flag: '--config-store <host:port>',
      env: 'FLOWMESH_CONFIG_STORE',
      description: 'config-store for file roots and reference tables (default: found through discovery)',
    }),
    ...optionalDiscoveryOptions(),
    faults: option.string({
      flag: '--faults <spec>',
      env: 'FLOWMESH_FAULTS',
      description: 'TEST ONLY: injected faults, e.g. corrupt-trailer:batch=3,crash:batch=5 (docs/testing.md)',
    }),
  };
}

export type ExecutorConfig = ConfigOf<ReturnType<typeof executorOptions>>;

export function resolvePluginDir(dir: string | undefined): string | undefined {
  return dir ? path.resolve(dir) : undefined;
}
