// One entry point for every provider, plus the flag/env resolution every service shares
// (docs/interfaces.md: --discovery, --etcd, --consul, --registry-dir and their FLOWMESH_* variables).
import { resolve } from 'node:path';
import { createConsulDiscovery } from './consul/provider.js';
import { DiscoveryConfigError } from './errors.js';
import { createEtcdDiscovery } from './etcd/provider.js';
import { createFileDiscovery } from './file/provider.js';
import type { Discovery, DiscoveryOptions } from './types.js';

export function createDiscovery(opts: DiscoveryOptions): Discovery {
  switch (opts.provider) {
    case 'etcd':
      return createEtcdDiscovery(opts);
    case 'consul':
      return createConsulDiscovery(opts);
    case 'file':
      return createFileDiscovery(opts);
    default:
      throw new DiscoveryConfigError(
        `discovery: unknown provider "${(opts as { provider: string }).provider}" (etcd|consul|file)`,
      );
  }
}

/** Flag values as a CLI parsed them; each falls back to its environment variable. */
export interface DiscoveryFlags {
  discovery?: string;
  etcd?: string;
  consul?: string;
  registryDir?: string;
  ttlSeconds?: number;
  namespace?: string;
}

type ProviderFlag = 'etcd' | 'consul' | 'file';

/**
 * A service's discovery from its raw flags (runtime's discoveryOptions), or undefined for `--discovery none`
 * (a service that may run without registering). Only the discovery flags are read from `flags`.
 */
export function discoveryFromFlags(flags: DiscoveryFlags & { discovery?: ProviderFlag | undefined }): Discovery;
export function discoveryFromFlags(flags: DiscoveryFlags): Discovery | undefined;
export function discoveryFromFlags(flags: DiscoveryFlags): Discovery | undefined {
  if (flags.discovery === 'none') return undefined;
  const { discovery, etcd, consul, registryDir } = flags;
  return createDiscovery(resolveDiscoveryOptions({ discovery, etcd, consul, registryDir }));
}

/** The default registry directory of the file provider, relative to the working directory. */
export const DEFAULT_REGISTRY_DIR = '.flowmesh/registry';

/**
 * Resolves flags + environment into provider options. Default: etcd when an etcd URL is given, else the file
 * registry under `.flowmesh/registry`. Errors name the flag and its variable.
 */
export function resolveDiscoveryOptions(flags: DiscoveryFlags, env: NodeJS.ProcessEnv = process.env): DiscoveryOptions {
  const etcd = flags.etcd ?? env.FLOWMESH_ETCD;
  const consul = flags.consul ?? env.CONSUL_HTTP_ADDR;
  const provider = flags.discovery ?? env.FLOWMESH_DISCOVERY ?? (etcd ? 'etcd' : 'file');
  const common = { ttlSeconds: flags.ttlSeconds, namespace: flags.namespace };
  switch (provider) {
    case 'etcd': {
      const endpoints = (etcd ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (endpoints.length === 0)
        throw new DiscoveryConfigError('--etcd (FLOWMESH_ETCD): etcd URLs are required with --discovery etcd');
      for (const e of endpoints) {
        if (!/^https?:\/\/[^\s/]+:\d{1,5}\/?$/.test(e)) {
          throw new DiscoveryConfigError(`--etcd (FLOWMESH_ETCD): "${e}" is not http(s)://host:port`);
        }
      }
      return { provider: 'etcd', endpoints, ...common };
    }
    case 'consul':
      if (!consul)
        throw new DiscoveryConfigError(
          '--consul (CONSUL_HTTP_ADDR): a Consul agent address is required with --discovery consul',
        );
      return { provider: 'consul', address: consul, ...common };
    case 'file':
      return {
        provider: 'file',
        dir: resolve(flags.registryDir ?? env.FLOWMESH_REGISTRY_DIR ?? DEFAULT_REGISTRY_DIR),
        ttlSeconds: common.ttlSeconds,
      };
    default:
      throw new DiscoveryConfigError(
        `--discovery (FLOWMESH_DISCOVERY): "${provider}" is not one of etcd, consul, file`,
      );
  }
}
