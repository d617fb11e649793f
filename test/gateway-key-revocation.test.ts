// A verified API key is cached by each gateway (no store round trip per job, issue 7), yet a revocation
// made anywhere takes effect within the watch's delay, not the cache's TTL: two gateways with a 10-minute
// key cache; a key revoked, or its user disabled, through one gateway or directly in config-store is
// refused by the other within seconds, and the refusal is audited.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ResourceKind, Role } from '@flowmesh/contracts';
import { createClient, type FlowmeshClient } from '@flowmesh/client';
import { createConfigClient, newResource, type ConfigClient } from '@flowmesh/config';
import { startService, tempDir, waitFor, type RunningService } from '@flowmesh/testing';
import { status, type ServiceError } from '@grpc/grpc-js';

const TOKEN = 'gateway-key-revocation-token';
const ADMIN_KEY = 'gateway-key-revocation-admin-key-0123456789abcdef';
/** Far longer than any wait below: a refusal within the wait cannot come from the cache expiring. */
const KEY_CACHE_MS = 600_000;
const PROMPT_MS = 5_000;

describe('API key revocation reaches every gateway through its watch (key cache 10 min)', function () {
  this.timeout(180_000);
  const services: RunningService[] = [];
  let one: FlowmeshClient;
  let store: ConfigClient;
  let otherAddress: string;

  before(async () => {
    const dir = await tempDir('gateway-key-revocation');
    const mesh = ['--discovery', 'file', '--registry-dir', join(dir, 'registry')];
    const env = { FLOWMESH_CLUSTER_TOKEN: TOKEN, FLOWMESH_ADMIN_KEY: ADMIN_KEY };
    const cs = await startService('config-store', {
      args: [...mesh, '--data-dir', join(dir, 'store')],
      env,
      timeoutMs: 60_000,
    });
    services.push(cs);
    const gwArgs = [...mesh, '--config-store', cs.address, '--key-cache-ms', String(KEY_CACHE_MS)];
    const [a, b] = await Promise.all([
      startService('gateway', { args: [...gwArgs, '--node-id', 'gw-one'], env, timeoutMs: 60_000 }),
      startService('gateway', { args: [...gwArgs, '--node-id', 'gw-two'], env, timeoutMs: 60_000 }),
    ]);
    services.push(a, b);
    otherAddress = b.address;
    one = createClient(a.address, { apiKey: ADMIN_KEY });
    await waitFor(() => one.whoAmI().then((w) => w.user === 'admin'), { timeoutMs: 30_000, what: 'the admin key' });
    store = createConfigClient({ address: cs.address, clusterToken: TOKEN });
  });

  after(async () => {
    one?.close();
    store?.close();
    for (const s of services.reverse()) await s.stop('SIGTERM', { timeoutMs: 5000 });
  });

  async function userKey(user: string): Promise<FlowmeshClient> {
    await one.putResource(
      newResource({
        kind: ResourceKind.RESOURCE_KIND_USER,
        name: user,
        spec: { $case: 'user', user: { role: Role.ROLE_VIEWER, disabled: false, description: '' } },
      }),
    );
    const created = await one.createApiKey(user, Role.ROLE_VIEWER);
    // Used through the other gateway, so its cache holds the key before the change.
    const viaOther = createClient(otherAddress, { apiKey: created.secret });
    assert.equal((await viaOther.whoAmI()).user, user);
    assert.equal((await viaOther.whoAmI()).user, user);
    return Object.assign(viaOther, { keyId: created.keyId });
  }

  const refused = (c: FlowmeshClient) =>
    c.whoAmI().then(
      () => false,
      (err: ServiceError) => err.code === status.UNAUTHENTICATED,
    );

  it('a key revoked through one gateway is refused by the other within seconds', async () => {
    const viewer = (await userKey('rev-a')) as FlowmeshClient & { keyId: string };
    try {
      const res = await one.getResource(ResourceKind.RESOURCE_KIND_API_KEY, viewer.keyId);
      assert.equal(res.spec?.$case, 'apiKey');
      if (res.spec?.$case === 'apiKey') res.spec.apiKey.revoked = true;
      await one.putResource(res);
      await waitFor(() => refused(viewer), {
        timeoutMs: PROMPT_MS,
        what: 'the revoked key refused by the other gateway',
      });
      await assert.rejects(viewer.whoAmI(), (err: ServiceError) => err.code === status.UNAUTHENTICATED);
    } finally {
      viewer.close();
    }
  });

  it('a user disabled directly in config-store has its key refused within seconds, and the refusal is audited', async () => {
    const viewer = await userKey('rev-b');
    try {
      const user = (await store.get(ResourceKind.RESOURCE_KIND_USER, 'rev-b')).resource!;
      assert.equal(user.spec?.$case, 'user');
      if (user.spec?.$case === 'user') user.spec.user.disabled = true;
      await store.put(user);
      await waitFor(() => refused(viewer), { timeoutMs: PROMPT_MS, what: 'the disabled user refused' });
      await waitFor(
        async () =>
          (await store.list(ResourceKind.RESOURCE_KIND_AUDIT, { pageSize: 1000 })).resources.some(
            (r) =>
              r.spec?.$case === 'audit' &&
              !r.spec.audit.allowed &&
              r.spec.audit.action === 'ClusterService/WhoAmI' &&
              /UNAUTHENTICATED/.test(r.spec.audit.detail),
          ),
        { timeoutMs: PROMPT_MS, what: 'the refusal in the audit log' },
      );
    } finally {
      viewer.close();
    }
  });
});
