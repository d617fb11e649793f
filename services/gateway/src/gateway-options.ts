// The gateway's flags and environment variables (the common ones plus discovery, config-store and limits).
import { commonOptions, DEFAULT_SPOOL_DIR, discoveryOptions, option, type ConfigOf } from '@flowmesh/runtime';

export const gatewayOptions = {
  ...commonOptions('gateway'),
  configStore: option.address({
    flag: '--config-store <host:port>',
    env: 'FLOWMESH_CONFIG_STORE',
    description: 'config-store address (default: the first config-store in discovery)',
  }),
  ...discoveryOptions(),
  adminKey: option.string({
    flag: '--admin-key <key>',
    env: 'FLOWMESH_ADMIN_KEY',
    description: 'bootstrap admin API key (at least 32 characters); generated and printed once when unset',
  }),
  maxJobsPerKey: option.integer({
    flag: '--max-jobs-per-key <n>',
    env: 'FLOWMESH_MAX_JOBS_PER_KEY',
    description: 'concurrent jobs one API key may run; more answer RESOURCE_EXHAUSTED',
    default: 4,
    min: 1,
  }),
  maxJobs: option.integer({
    flag: '--max-jobs <n>',
    env: 'FLOWMESH_MAX_JOBS',
    description: 'concurrent jobs through this gateway; more answer RESOURCE_EXHAUSTED',
    default: 64,
    min: 1,
  }),
  spoolDir: option.string({
    flag: '--spool-dir <dir>',
    env: 'FLOWMESH_SPOOL_DIR',
    description:
      'result spool shared with executors on this machine: streamed results are read from part files there instead of crossing the coordinator (issue 7; "off": never)',
    default: DEFAULT_SPOOL_DIR,
  }),
  keyCacheMs: option.integer({
    flag: '--key-cache-ms <ms>',
    env: 'FLOWMESH_KEY_CACHE_MS',
    description: 'how long a verified API key is trusted before config-store is asked again',
    default: 10_000,
  }),
};

export type GatewayConfig = ConfigOf<typeof gatewayOptions>;
