// Discovery over etcd leases (the default when the mesh has an etcd cluster).
import { DiscoveryClosedError, DiscoveryConfigError } from '../errors.js';
import type { Discovery, EtcdDiscoveryOptions, NodeInfo, NodeKindName, Registration } from '../types.js';
import type { LocalView } from '../view.js';
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
  const registrations = new Set<EtcdRegistration>();
  const views = new Set<LocalView>();
  let closing: Promise<void> | undefined;

  return {
    provider: 'etcd',
    async register(node: NodeInfo): Promise<Registration> {
      if (closing) throw new DiscoveryClosedError('discovery is closed');
      const r = new EtcdRegistration(node, { client, namespace, ttlSeconds, onClosed: (x) => registrations.delete(x) });
      await r.start();
      registrations.add(r);
      return r;
    },
    watch(kind?: NodeKindName) {
      if (closing) throw new DiscoveryClosedError('discovery is closed');
      const view = watchEtcd(client, namespace, kind, (v) => views.delete(v));
      views.add(view);
      return view;
    },
    close() {
      closing ??= (async () => {
        await Promise.all([...registrations].map((r) => r.deregister()));
        for (const v of [...views]) v.close();
        client.close();
      })();
      return closing;
    },
  };
}
