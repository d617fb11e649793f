// Discovery through a registry directory: the single-machine default, no etcd needed.
import { DiscoveryClosedError, DiscoveryConfigError } from '../errors.js';
import type { Discovery, FileDiscoveryOptions, NodeInfo, NodeKindName, Registration } from '../types.js';
import type { LocalView } from '../view.js';
import { FileRegistration } from './registration.js';
import { watchFiles } from './watch.js';

export function createFileDiscovery(opts: FileDiscoveryOptions): Discovery {
  if (typeof opts.dir !== 'string' || opts.dir === '')
    throw new DiscoveryConfigError('dir: a registry directory is required');
  const ttlSeconds = opts.ttlSeconds ?? 5;
  if (!(ttlSeconds > 0)) throw new DiscoveryConfigError('ttlSeconds: must be > 0');
  const pollMs = opts.pollMs ?? 200;
  const registrations = new Set<FileRegistration>();
  const views = new Set<LocalView>();
  let closing: Promise<void> | undefined;

  return {
    provider: 'file',
    async register(node: NodeInfo): Promise<Registration> {
      if (closing) throw new DiscoveryClosedError('discovery is closed');
      const r = new FileRegistration(node, opts.dir, ttlSeconds, (x) => registrations.delete(x));
      await r.start();
      registrations.add(r);
      return r;
    },
    watch(kind?: NodeKindName) {
      if (closing) throw new DiscoveryClosedError('discovery is closed');
      const view = watchFiles(opts.dir, kind, pollMs, (v) => views.delete(v));
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
