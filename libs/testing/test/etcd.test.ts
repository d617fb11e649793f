import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createTestEtcdClient, startEtcd, waitFor, type EtcdCluster } from '../src/index.js';

describe('etcd test helper', function () {
  let cluster: EtcdCluster | undefined;

  after(async () => {
    await cluster?.stop();
  });

  it('starts a 3-member cluster on distinct loopback ports that accepts writes', async () => {
    cluster = await startEtcd({ members: 3 });
    assert.equal(cluster.members.length, 3);
    const ports = cluster.members.flatMap((m) => [m.clientUrl, m.peerUrl]);
    assert.equal(new Set(ports).size, 6);
    assert.ok(cluster.members.every((m) => m.running && m.pid > 0 && existsSync(m.dataDir)));
    const client = createTestEtcdClient(cluster.endpoints, 2000);
    try {
      await client.put('/t/a').value('1');
      assert.equal(await client.get('/t/a').string(), '1');
    } finally {
      client.close();
    }
  });

  it('keeps accepting writes after the leader is SIGKILLed, and the restarted member rejoins', async () => {
    assert.ok(cluster);
    const leader = await cluster.leader();
    await leader.kill('SIGKILL');
    assert.equal(leader.running, false);
    const survivors = cluster.members.filter((m) => m !== leader).map((m) => m.clientUrl);
    const client = createTestEtcdClient(survivors, 1000);
    try {
      // A new leader is elected; the write goes through once it is.
      await waitFor(
        () =>
          client
            .put('/t/b')
            .value('2')
            .then(() => true),
        { what: 'write after leader kill' },
      );
      const next = await cluster.leader();
      assert.notEqual(next, leader);
    } finally {
      client.close();
    }
    await leader.restart();
    assert.equal(leader.running, true);
    // Rejoined: a linearizable read through the restarted member alone sees the write made while it was down.
    const own = createTestEtcdClient([leader.clientUrl], 1000);
    try {
      assert.equal(await own.get('/t/b').string(), '2');
    } finally {
      own.close();
    }
  });

  it('stop() removes every member and the temp dir', async () => {
    assert.ok(cluster);
    const dirs = cluster.members.map((m) => m.dataDir);
    const started = Date.now();
    await cluster.stop();
    assert.ok(Date.now() - started < 5000, `stop took ${Date.now() - started} ms`);
    assert.ok(cluster.members.every((m) => !m.running));
    assert.ok(dirs.every((d) => !existsSync(d)));
  });
});
