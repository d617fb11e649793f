// Discovery through a registry directory: the single-machine default, no etcd needed.
import { DiscoveryConfigError } from '../errors.js';
import { createProviderDiscovery } from '../provider-discovery.js';
import type { Discovery, FileDiscoveryOptions } from '../types.js';
import { FileRegistration } from './registration.js';
import { watchFiles } from './watch.js';

export function createFileDiscovery(opts: FileDiscoveryOptions): Discovery {
  if (typeof opts.dir !== 'string' || opts.dir === '')
    throw new DiscoveryConfigError('dir: a registry directory is required');
  const ttlSeconds = opts.ttlSeconds ?? 5;
  if (!(ttlSeconds > 0)) throw new DiscoveryConfigError('ttlSeconds: must be > 0');
  const pollMs = opts.pollMs ?? 2000;
  return createProviderDiscovery({
    provider: 'file',
    newRegistration: (node, onClosed) => new FileRegistration(node, opts.dir, ttlSeconds, onClosed),
    newView: (kind, onClosed) => watchFiles(opts.dir, kind, pollMs, onClosed),
  });
}
