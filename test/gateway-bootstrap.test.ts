// First start of an empty store (issue 5): with two gateways starting at once, exactly one creates the
// admin user and key and prints the key, once; the key works on both gateways; a restart prints nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createClient } from '@flowmesh/client';
import { startService, tempDir, waitFor, type RunningService } from '@flowmesh/testing';

const TOKEN = 'gateway-bootstrap-test-token';
const KEY_LINE = /admin API key \(shown once\): (\S+)/g;

describe('gateway admin bootstrap (two gateways, one empty store)', function () {
  this.timeout(120_000);
  const services: RunningService[] = [];
  let mesh: string[];
  let storeAddress: string;

  before(async () => {
    const dir = await tempDir('gateway-bootstrap');
    mesh = ['--discovery', 'file', '--registry-dir', join(dir, 'registry')];
    const store = await startService('config-store', {
      args: [...mesh, '--data-dir', join(dir, 'store')],
      env: { FLOWMESH_CLUSTER_TOKEN: TOKEN },
      timeoutMs: 60_000,
    });
    services.push(store);
    storeAddress = store.address;
  });

  after(async () => {
    for (const s of services.reverse()) await s.stop('SIGTERM', { timeoutMs: 5000 });
  });

  const startGateway = () =>
    startService('gateway', {
      args: [...mesh, '--config-store', storeAddress],
      env: { FLOWMESH_CLUSTER_TOKEN: TOKEN, FLOWMESH_ADMIN_KEY: '' },
      timeoutMs: 60_000,
    }).then((g) => {
      services.push(g);
      return g;
    });

  it('creates and prints exactly one admin key, which works on every gateway', async () => {
    const [a, b] = await Promise.all([startGateway(), startGateway()]);
    const printed = await waitFor(
      () => {
        const keys = [a, b].flatMap((g) => [...g.logs().matchAll(KEY_LINE)].map((m) => m[1]!));
        const done = [a, b].every((g) => /admin API key|"msg":"listening"/.test(g.logs()));
        return done && keys.length > 0 ? keys : undefined;
      },
      { timeoutMs: 30_000, what: 'the admin key to be printed' },
    );
    assert.equal(printed.length, 1, `printed ${printed.length} keys`);
    for (const g of [a, b]) {
      const c = createClient(g.address, { apiKey: printed[0] });
      try {
        const me = await waitFor(() => c.whoAmI().catch(() => undefined), { what: `whoAmI on ${g.address}` });
        assert.equal(me.user, 'admin');
      } finally {
        c.close();
      }
    }
    // The loser of the compare-and-set must not print a second key later either.
    await a.stop('SIGTERM');
    const again = await startGateway();
    const c = createClient(again.address, { apiKey: printed[0] });
    try {
      await waitFor(() => c.whoAmI().catch(() => undefined), { what: 'the restarted gateway to serve' });
    } finally {
      c.close();
    }
    assert.equal([...again.logs().matchAll(KEY_LINE)].length, 0, 'a restart prints no new key');
    assert.equal([...b.logs().matchAll(KEY_LINE)].length + [...a.logs().matchAll(KEY_LINE)].length, 1);
  });
});
