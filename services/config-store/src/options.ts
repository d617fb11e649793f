// Flags and environment of a config-store process.
import { commonOptions, option, optionalDiscoveryOptions, type ConfigOf } from '@flowmesh/runtime';

export const configStoreOptions = {
  ...commonOptions('config-store'),
  // Discovery flags stay raw; @flowmesh/discovery resolves and validates them. --etcd (below) serves both.
  ...optionalDiscoveryOptions(),
  etcd: option.string({
    flag: '--etcd <urls>',
    env: 'FLOWMESH_ETCD',
    description: 'etcd endpoints, comma-separated: keep the config database in etcd (several instances may share it)',
  }),
  etcdNamespace: option.string({
    flag: '--etcd-namespace <prefix>',
    env: 'FLOWMESH_ETCD_NAMESPACE',
    description: 'key prefix of the config database in etcd',
    default: '/flowmesh/config/',
  }),
  etcdKeepRevisions: option.integer({
    flag: '--etcd-keep-revisions <n>',
    env: 'FLOWMESH_ETCD_KEEP_REVISIONS',
    description: 'compact etcd history every 5 minutes down to this many revisions (watch resume window); 0 = never',
    default: 10_000,
    min: 0,
  }),
  dataDir: option.string({
    flag: '--data-dir <dir>',
    env: 'FLOWMESH_DATA_DIR',
    description: 'without --etcd: directory of the embedded store (one config-store process opens it)',
    default: '.flowmesh/config',
  }),
  pluginDir: option.string({
    flag: '--plugin-dir <dir>',
    env: 'FLOWMESH_PLUGIN_DIR',
    description: 'plugin directory to check `plugin` steps against when flows are stored',
  }),
};

export type ConfigStoreConfig = ConfigOf<typeof configStoreOptions>;
