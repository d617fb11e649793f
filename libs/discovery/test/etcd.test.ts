import { randomBytes } from 'node:crypto';
import { startEtcd, type EtcdCluster } from '@flowmesh/testing';
import { discoveryContract } from './contract.js';

describe('discovery on a 3-member etcd', function () {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcd({ members: 3 });
  });
  after(async () => {
    await cluster?.stop();
  });

  discoveryContract('etcd', { outage: true }, () => ({
    // A namespace per test: cases never see each other's keys, and nothing wipes etcd.
    options: () => ({
      provider: 'etcd',
      endpoints: cluster.endpoints,
      namespace: `t${randomBytes(4).toString('hex')}`,
      ttlSeconds: 2,
      callTimeoutMs: 1000,
    }),
    // SIGSTOP all members: calls hang rather than fail fast, as in a partition, so deadlines are exercised.
    outage: {
      begin: async () => {
        for (const m of cluster.members) await m.kill('SIGSTOP');
      },
      end: async () => {
        for (const m of cluster.members) await m.kill('SIGCONT');
      },
    },
  }));
});
