// Discovery over a Consul agent: services with TTL checks, blocking-query watches.
import { DiscoveryConfigError } from '../errors.js';
import { checkNamespace } from '../etcd/keys.js';
import { createProviderDiscovery } from '../provider-discovery.js';
import type { ConsulDiscoveryOptions, Discovery } from '../types.js';
import { createConsulClient } from './client.js';
import { ConsulRegistration } from './registration.js';
import { watchConsul } from './watch.js';

export function createConsulDiscovery(opts: ConsulDiscoveryOptions): Discovery {
  const consul = createConsulClient(opts.address);
  const namespace = checkNamespace(opts.namespace ?? 'flowmesh');
  const ttlSeconds = opts.ttlSeconds ?? 5;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new DiscoveryConfigError('ttlSeconds: whole seconds >= 1');
  const callTimeoutMs = opts.callTimeoutMs ?? 2000;
  return createProviderDiscovery({
    provider: 'consul',
    newRegistration: (node, onClosed) =>
      new ConsulRegistration(node, { consul, namespace, ttlSeconds, callTimeoutMs, onClosed }),
    newView: (kind, onClosed) => watchConsul(consul, namespace, kind, callTimeoutMs, onClosed),
  });
}
