import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deferred, startEtcd, waitFor, type EtcdCluster } from '@flowmesh/testing';
import { createDiscovery, type Discovery, type EtcdDiscoveryOptions, type NodeInfo } from '../src/index.js';
import { discoveryContract, executor } from './contract.js';

describe('discovery on a 3-member etcd', function () {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcd({ members: 3 });
  });
  after(async () => {
    await cluster?.stop();
  });

  // A namespace per test: cases never see each other's keys, and nothing wipes etcd.
  const options = (): EtcdDiscoveryOptions => ({
    provider: 'etcd',
    endpoints: cluster.endpoints,
    namespace: `t${randomBytes(4).toString('hex')}`,
    ttlSeconds: 2,
    callTimeoutMs: 1000,
  });

  discoveryContract('etcd', { outages: ['all members SIGSTOPped', 'all members stopped and restarted'] }, () => ({
    options,
    outages: {
      // Calls hang rather than fail fast, as in a partition, so the deadlines are what gets us through.
      'all members SIGSTOPped': {
        begin: async () => {
          for (const m of cluster.members) await m.kill('SIGSTOP');
        },
        end: async () => {
          for (const m of cluster.members) await m.kill('SIGCONT');
        },
      },
      // Connections refused; on restart etcd still holds the old lease, which must not take the key away.
      'all members stopped and restarted': {
        begin: async () => {
          for (const m of cluster.members) await m.kill('SIGTERM');
        },
        end: async () => {
          // Together: a lone member cannot reach quorum, so sequential restarts would wait on each other.
          await Promise.all(cluster.members.map((m) => m.restart()));
        },
      },
    },
  }));

  describe('etcd member failures', function () {
    const open: Discovery[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((d) => d.close()));
      await Promise.all(cluster.members.filter((m) => !m.running).map((m) => m.restart()));
    });

    it('keeps a registration through a SIGKILL of the etcd leader (no loss, no removal, updates resume)', async () => {
      const opts = options();
      const writer = createDiscovery(opts);
      const reader = createDiscovery(opts);
      open.push(writer, reader);
      const view = reader.watch('executor');
      await view.ready;
      const reg = await writer.register(executor());
      await waitFor(() => view.get(reg.node.id), { what: 'registered' });
      let removals = 0;
      const states: string[] = [];
      view.on('remove', () => removals++);
      reg.on('state', (s: string) => states.push(s));

      const leader = await cluster.leader();
      await leader.kill('SIGKILL');
      const updated = deferred<NodeInfo>();
      view.on('update', (n: NodeInfo) => n.load === 0.5 && updated.resolve(n));
      await waitFor(() => reg.update({ load: 0.5 }).then(() => true), { what: 'an update after the leader died' });
      await updated.promise;
      // Longer than the TTL: the lease must have been kept alive through the election.
      const since = Date.now();
      await waitFor(() => Date.now() - since > 3000, { what: 'one TTL and a half to pass' });
      assert.equal(removals, 0);
      assert.deepEqual(states, []);
      assert.equal(view.get(reg.node.id)?.load, 0.5);
    });
  });
});
