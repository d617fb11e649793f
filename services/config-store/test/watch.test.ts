// Watch behaviour that needs control over the server: a slow watcher is cut off with RESOURCE_EXHAUSTED
// instead of buffering without bound, and a cache whose history was compacted while it was away lists
// again and still never goes back a revision. In-process server over the embedded store.
import assert from 'node:assert/strict';
import { ConfigStoreService, ResourceKind, type Resource } from '@flowmesh/contracts';
import { createConfigCache, createConfigClient, createResourceStore } from '@flowmesh/config';
import { createLogger, createServiceHost, ResourceExhaustedError, type ServiceHost } from '@flowmesh/runtime';
import { createEmbeddedBackend, type KvBackend } from '@flowmesh/store';
import { deferred, freePort, tempDir } from '@flowmesh/testing';
import { rm } from 'node:fs/promises';
import { configStoreImplementation, createConfigStoreHandlers, WATCH_BUFFER } from '@flowmesh/config-store';

const root = (name: string, path: string): Resource => ({
  kind: ResourceKind.RESOURCE_KIND_FILE_ROOT,
  name,
  revision: 0,
  createRevision: 0,
  version: 0,
  updatedAt: undefined,
  updatedBy: '',
  spec: { $case: 'fileRoot', fileRoot: { path, writable: false, description: '' } },
});

describe('config-store watch: slow watchers and compacted history', () => {
  let dir = '';
  let backend: KvBackend;
  const HISTORY = 30;
  before(async () => {
    dir = await tempDir('flowmesh-watch');
    backend = await createEmbeddedBackend({ dir, historyLimit: HISTORY });
  });
  after(async () => {
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('ends a watch whose reader falls a full buffer behind with RESOURCE_EXHAUSTED', async function () {
    this.timeout(60_000);
    const store = createResourceStore({ backend });
    const handlers = createConfigStoreHandlers(store);
    const controller = new AbortController();
    const first = deferred();
    const stuck = deferred(); // never resolved: the reader stops reading after `created`
    let sent = 0;
    const watching = handlers.watch(
      { kinds: [ResourceKind.RESOURCE_KIND_FILE_ROOT], prefix: '', startRevision: 0 },
      controller,
      async () => {
        sent++;
        first.resolve();
        if (sent > 1) await stuck.promise;
      },
    );
    await first.promise;
    for (let i = 0; i <= WATCH_BUFFER + 1; i++) await store.put(root(`slow-${i % 10}`, `/srv/${i}`));
    await assert.rejects(watching, ResourceExhaustedError);
    controller.abort();
  });

  it('a cache away longer than the history lists again, and its revision never goes back', async function () {
    this.timeout(60_000);
    const store = createResourceStore({ backend });
    const port = await freePort();
    const startHost = async (): Promise<ServiceHost> => {
      const host = createServiceHost({
        name: 'config-store',
        bind: `127.0.0.1:${port}`,
        graceMs: 100,
        logger: createLogger('config-store', { level: 'silent' }),
        services: [
          {
            definition: ConfigStoreService,
            implementation: configStoreImplementation(createConfigStoreHandlers(store)),
            internal: true,
          },
        ],
      });
      await host.start();
      return host;
    };
    let host = await startHost();
    const client = createConfigClient({ address: `127.0.0.1:${port}` });
    const cache = createConfigCache(client, [ResourceKind.RESOURCE_KIND_FILE_ROOT], { maxBackoffMs: 200 });
    const seen: number[] = [];
    cache.on('change', () => seen.push(cache.revision));
    try {
      await cache.ready;
      const before = await store.put(root('away', '/srv/before'));
      await cache.waitForRevision(before.revision);
      await host.stop('test: cache goes away');
      // More commits than the store keeps for replay, while the cache cannot watch.
      let last = before;
      for (let i = 0; i < HISTORY * 2; i++) last = await store.put(root('away', `/srv/while-away-${i}`));
      await store.delete(ResourceKind.RESOURCE_KIND_FILE_ROOT, 'slow-0');
      const revisionWhileAway = cache.revision;
      host = await startHost();
      await cache.waitForRevision(last.revision, 20_000);
      const away = cache.get(ResourceKind.RESOURCE_KIND_FILE_ROOT, 'away');
      assert.equal(away?.spec?.$case === 'fileRoot' && away.spec.fileRoot.path, `/srv/while-away-${HISTORY * 2 - 1}`);
      assert.equal(cache.get(ResourceKind.RESOURCE_KIND_FILE_ROOT, 'slow-0'), undefined);
      assert.ok(cache.revision >= revisionWhileAway);
      assert.deepEqual(
        seen,
        [...seen].sort((x, y) => x - y),
      );
      // Live again after the re-list.
      const after = await store.put(root('after', '/srv/after'));
      await cache.waitForRevision(after.revision);
      assert.ok(cache.get(ResourceKind.RESOURCE_KIND_FILE_ROOT, 'after'));
    } finally {
      cache.close();
      client.close();
      await host.stop('test done');
    }
  });
});
