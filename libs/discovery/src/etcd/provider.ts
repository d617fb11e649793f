// Discovery over etcd leases (the default when the mesh has an etcd cluster).
import { DiscoveryConfigError } from '../errors.js';
import { createProviderDiscovery } from '../provider-discovery.js';
import type { Discovery, EtcdDiscoveryOptions } from '../types.js';
import { createEtcdClient } from './client.js';
import { checkNamespace } from './keys.js';
import { EtcdRegistration } from './registration.js';
import { watchEtcd } from './watch.js';

export function createEtcdDiscovery(opts: EtcdDiscoveryOptions): Discovery {
  if (!Array.isArray(opts.endpoints) || opts.endpoints.length === 0) {
    throw new DiscoveryConfigError('endpoints: at least one etcd URL is required');
  }
  const namespace = checkNamespace(opts.namespace ?? 'flowmesh');
  const ttlSeconds = opts.ttlSeconds ?? 5;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new DiscoveryConfigError('ttlSeconds: an etcd lease TTL is a whole number of seconds >= 1');
  }
  const client = createEtcdClient({ endpoints: opts.endpoints, callTimeoutMs: opts.callTimeoutMs ?? 2000 });
  return createProviderDiscovery({
    provider: 'etcd',
    newRegistration: (node, onClosed) => new EtcdRegistration(node, { client, namespace, ttlSeconds, onClosed }),
    newView: (kind, onClosed) => watchEtcd(client, namespace, kind, onClosed),
    closeClient: () => client.close(),
  });
}
