// Discovery over a Consul agent: services with TTL checks, blocking-query watches.
import { DiscoveryClosedError, DiscoveryConfigError } from '../errors.js';
import { checkNamespace } from '../etcd/keys.js';
import type { ConsulDiscoveryOptions, Discovery, NodeInfo, NodeKindName, Registration } from '../types.js';
import type { LocalView } from '../view.js';
import { createConsulClient } from './client.js';
import { ConsulRegistration } from './registration.js';
import { watchConsul } from './watch.js';

export function createConsulDiscovery(opts: ConsulDiscoveryOptions): Discovery {
  const consul = createConsulClient(opts.address);
  const namespace = checkNamespace(opts.namespace ?? 'flowmesh');
  const ttlSeconds = opts.ttlSeconds ?? 5;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new DiscoveryConfigError('ttlSeconds: whole seconds >= 1');
  const callTimeoutMs = opts.callTimeoutMs ?? 2000;
  const registrations = new Set<ConsulRegistration>();
  const views = new Set<LocalView>();
  let closing: Promise<void> | undefined;

  return {
    provider: 'consul',
    async register(node: NodeInfo): Promise<Registration> {
      if (closing) throw new DiscoveryClosedError('discovery is closed');
      const r = new ConsulRegistration(node, {
        consul,
        namespace,
        ttlSeconds,
        callTimeoutMs,
        onClosed: (x) => registrations.delete(x),
      });
      await r.start();
      registrations.add(r);
      return r;
    },
    watch(kind?: NodeKindName) {
      if (closing) throw new DiscoveryClosedError('discovery is closed');
      const view = watchConsul(consul, namespace, kind, callTimeoutMs, (v) => views.delete(v));
      views.add(view);
      return view;
    },
    close() {
      closing ??= (async () => {
        await Promise.all([...registrations].map((r) => r.deregister()));
        for (const v of [...views]) v.close();
      })();
      return closing;
    },
  };
}
