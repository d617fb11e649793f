// The one contract suite, against the embedded store and against a real 3-member etcd cluster.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestEtcdClient, startEtcd, type EtcdCluster } from '@flowmesh/testing';
import { createEmbeddedBackend, createEtcdBackend, type KvBackend } from '@flowmesh/store';
import { kvContract } from './contract.js';

/** Commits the embedded store keeps for replay in this suite (small, so compaction is quick to reach). */
const HISTORY = 200;

describe('KvBackend contract: embedded (classic-level)', () => {
  let dir = '';
  let kv: KvBackend;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flowmesh-store-'));
    kv = await createEmbeddedBackend({ dir, historyLimit: HISTORY });
  });
  after(async () => {
    await kv?.close();
    await rm(dir, { recursive: true, force: true });
  });
  kvContract(() => kv, {
    // The embedded store keeps the last HISTORY commits: write past them.
    async compact(backend, revision) {
      while ((await backend.revision()) < revision + HISTORY) await backend.put('compaction-filler', Buffer.from('x'));
    },
  });
});

describe('KvBackend contract: etcd (3 members)', () => {
  let etcd: EtcdCluster;
  let kv: KvBackend;
  before(async () => {
    etcd = await startEtcd({ members: 3 });
    kv = createEtcdBackend({ endpoints: etcd.endpoints, namespace: '/flowmesh-test/contract/' });
  });
  after(async () => {
    await kv?.close();
    await etcd?.stop();
  });
  kvContract(() => kv, {
    async compact(_backend, revision) {
      const client = createTestEtcdClient(etcd.endpoints, 5000);
      try {
        await client.kv.compact({ revision, physical: true });
      } finally {
        client.close();
      }
    },
  });
});
