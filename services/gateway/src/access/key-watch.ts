// Revocation without waiting for the key cache to expire (issue 7): the gateway watches API keys and users
// in config-store and drops cached identities of any key or user that changes (revoked, role changed,
// deleted, user disabled), wherever the change was made — another gateway, the CLI, config-store itself.
// Then a revocation takes effect within the watch's delay (milliseconds); while the watch is broken it
// may have missed changes, so the whole cache is dropped, and the cache TTL bounds staleness until the
// watch is back (it resumes from its last revision and replays what it missed).
import { createConfigCache, createConfigClient, type ConfigCacheChange } from '@flowmesh/config';
import { ResourceKind } from '@flowmesh/contracts';
import type { Authenticator } from './authenticator.js';

export interface KeyWatch {
  /** True while the watch follows config-store. */
  readonly live: boolean;
  close(): void;
}

export function watchKeyChanges(
  auth: Pick<Authenticator, 'forget' | 'invalidate'>,
  opts: { address: () => string | undefined; clusterToken?: string },
): KeyWatch {
  const client = createConfigClient({
    address: opts.address,
    ...(opts.clusterToken ? { clusterToken: opts.clusterToken } : {}),
  });
  const cache = createConfigCache(client, [ResourceKind.RESOURCE_KIND_API_KEY, ResourceKind.RESOURCE_KIND_USER]);
  cache.on('change', ({ resource }: ConfigCacheChange) => {
    if (resource.kind === ResourceKind.RESOURCE_KIND_API_KEY) auth.forget((i) => i.keyId === resource.name);
    else auth.forget((i) => i.user === resource.name);
  });
  cache.on('disconnected', () => auth.invalidate());
  return {
    get live() {
      return cache.live;
    },
    close() {
      cache.close();
      client.close();
    },
  };
}
