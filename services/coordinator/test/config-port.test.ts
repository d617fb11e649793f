// The coordinator's config-store port against a real config-store process: flows and file roots come
// from the watch-driven copy once it is live, a change is seen by the next read (at once when its
// revision is required, as the gateway does for changes it made; otherwise when the watch delivers it),
// deletes and pinned revisions still answer as the store does.
import assert from 'node:assert/strict';
import path from 'node:path';
import { ResourceKind, type Resource } from '@flowmesh/contracts';
import { createConfigClient, type ConfigClient } from '@flowmesh/config';
import { NotFoundError } from '@flowmesh/runtime';
import { startService, tempDir, waitFor, type RunningService } from '@flowmesh/testing';
import { createConfigPort, type CachedKinds, type ConfigPort } from '../src/config-port.js';

const flowText = (note: string): string => `
name: cached
vars: { note: "${note}" }
source: { type: file, root: data, path: in.csv, format: csv }
sink: { type: stream }
`;

function flow(name: string, source: string): Resource {
  return {
    kind: ResourceKind.RESOURCE_KIND_FLOW,
    name,
    revision: 0,
    createRevision: 0,
    version: 0,
    updatedAt: undefined,
    updatedBy: '',
    spec: { $case: 'flow', flow: { source, flowRevision: 0, description: '' } },
  };
}

function root(name: string, dir: string): Resource {
  return {
    kind: ResourceKind.RESOURCE_KIND_FILE_ROOT,
    name,
    revision: 0,
    createRevision: 0,
    version: 0,
    updatedAt: undefined,
    updatedBy: '',
    spec: { $case: 'fileRoot', fileRoot: { path: dir, writable: false, description: '' } },
  };
}

describe('coordinator config port (watch-driven copy of flows and roots)', function () {
  this.timeout(60_000);
  let store: RunningService | undefined;
  let client: ConfigClient;
  let port: ConfigPort;

  before(async () => {
    const dir = await tempDir('coordinator-config-port');
    store = await startService('config-store', {
      args: ['--data-dir', path.join(dir, 'db'), '--discovery', 'file', '--registry-dir', path.join(dir, 'registry')],
    });
    client = createConfigClient({ address: store.address });
    await client.put(root('data', '/srv/one'));
    await client.put(flow('cached', flowText('v1')));
    port = createConfigPort({ address: store.address });
    // The first read connects and starts the watch; later reads use the copy once it is live.
    assert.match((await port.getFlow('cached', 0)).source, /v1/);
    await waitFor(() => port.cacheState().live, { timeoutMs: 10_000, what: 'the config watch' });
  });

  after(async () => {
    port?.close();
    client?.close();
    await store?.stop();
  });

  it('sees a flow change on the next read when its revision is required (no wait for the watch)', async () => {
    for (let i = 2; i <= 6; i++) {
      const put = await client.put(flow('cached', flowText(`v${i}`)));
      port.requireRevision(put.revision);
      const got = await port.getFlow('cached', 0);
      assert.match(got.source, new RegExp(`v${i}`), `read right after the change to v${i}`);
      assert.equal(got.flowRevision, i);
    }
  });

  it('sees a change made elsewhere once the watch delivers it, and a root change likewise', async () => {
    await client.put(flow('cached', flowText('elsewhere')));
    await waitFor(async () => /elsewhere/.test((await port.getFlow('cached', 0)).source), {
      timeoutMs: 5_000,
      what: 'the flow change through the watch',
    });
    const put = await client.put(root('data', '/srv/two'));
    port.requireRevision(put.revision);
    assert.equal((await port.getFileRoot('data')).path, '/srv/two');
  });

  it('serves reads from the copy while live: they keep answering with the store paused', async () => {
    const latest = await port.getFlow('cached', 0);
    assert.ok(port.cacheState().revision > 0);
    store!.kill('SIGSTOP');
    try {
      const got = await port.getFlow('cached', 0);
      assert.equal(got.flowRevision, latest.flowRevision);
      assert.equal((await port.getFileRoot('data')).path, '/srv/two');
    } finally {
      store!.kill('SIGCONT');
    }
  });

  it('answers a pinned older revision and a deleted flow as the store does', async () => {
    const pinned = await port.getFlow('cached', 1);
    assert.equal(pinned.flowRevision, 1);
    assert.match(pinned.source, /v1/);
    const del = await client.delete(ResourceKind.RESOURCE_KIND_FLOW, 'cached');
    port.requireRevision(del.revision);
    await assert.rejects(port.getFlow('cached', 0), NotFoundError);
    await assert.rejects(port.getFileRoot('missing-root'), NotFoundError);
  });

  describe('with a copy that lags behind the store (deterministic)', () => {
    let stale: Resource;
    let lagging: ConfigPort | undefined;
    let reached: (() => void) | undefined;
    const copy = (): CachedKinds => ({
      live: true,
      revision: 1,
      get: (kind) => (kind === ResourceKind.RESOURCE_KIND_FLOW ? stale : undefined),
      // Resolves only when the test lets the copy catch up.
      waitForRevision: (_revision, timeoutMs = 0) =>
        new Promise<void>((resolve, reject) => {
          reached = resolve;
          setTimeout(() => reject(new Error('not reached')), timeoutMs);
        }),
    });

    before(async () => {
      await client.put(flow('lagging', flowText('old')));
      stale = (await client.getFlow('lagging'))!;
      lagging = createConfigPort({
        address: store!.address,
        cache: () => ({ cache: copy(), close() {} }),
        revisionWaitMs: 300,
      });
    });
    after(() => lagging?.close());

    it('serves the copy when no newer revision is required', async () => {
      assert.match((await lagging!.getFlow('lagging', 0)).source, /old/);
    });

    it('asks the store when the copy does not reach a required revision in time', async () => {
      const put = await client.put(flow('lagging', flowText('new')));
      lagging!.requireRevision(put.revision);
      const got = await lagging!.getFlow('lagging', 0);
      assert.match(got.source, /new/);
      assert.equal(got.flowRevision, stale.spec?.$case === 'flow' ? stale.spec.flow.flowRevision + 1 : -1);
    });

    it('waits for the copy when it catches up in time, then serves it', async () => {
      reached = undefined;
      const reading = lagging!.getFlow('lagging', 0);
      await waitFor(() => reached !== undefined, { timeoutMs: 1_000, what: 'the port waiting for the copy' });
      // What only the copy holds: an answer with it proves the read came from the copy after the wait.
      const fresh = (await client.getFlow('lagging'))!;
      stale = {
        ...fresh,
        spec: { $case: 'flow', flow: { source: flowText('copy'), flowRevision: 0, description: '' } },
      };
      reached!();
      assert.match((await reading).source, /copy/);
    });
  });
});
