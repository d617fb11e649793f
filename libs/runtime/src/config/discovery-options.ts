// The discovery flags every service accepts, in one place so their names, variables and help agree.
// They stay raw strings here: @flowmesh/discovery resolves and validates them (resolveDiscoveryOptions),
// so the runtime does not depend on the discovery package.
import * as option from './option.js';

const PROVIDERS = ['etcd', 'consul', 'file'] as const;
const PROVIDERS_OR_NONE = [...PROVIDERS, 'none'] as const;
const DEFAULT_NOTE = 'default: etcd when --etcd is given, else file';

function flags<const V extends string>(providers: readonly V[], description: string) {
  return {
    discovery: option.oneOf(providers, { flag: '--discovery <provider>', env: 'FLOWMESH_DISCOVERY', description }),
    etcd: option.string({
      flag: '--etcd <urls>',
      env: 'FLOWMESH_ETCD',
      description: 'etcd endpoints, comma-separated',
    }),
    consul: option.string({ flag: '--consul <addr>', env: 'CONSUL_HTTP_ADDR', description: 'Consul agent address' }),
    registryDir: option.string({
      flag: '--registry-dir <dir>',
      env: 'FLOWMESH_REGISTRY_DIR',
      description: 'directory of the file registry (default .flowmesh/registry)',
    }),
  };
}

/** --discovery etcd|consul|file, --etcd, --consul, --registry-dir: for a service that needs the registry. */
export function discoveryOptions() {
  return flags(PROVIDERS, `registry of the mesh (${DEFAULT_NOTE})`);
}

/** The same, plus `--discovery none`: for a service that can run without registering. */
export function optionalDiscoveryOptions() {
  return flags(PROVIDERS_OR_NONE, `registry to register in; none: do not register (${DEFAULT_NOTE})`);
}
