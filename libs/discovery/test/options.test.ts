import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import {
  DiscoveryConfigError,
  InvalidNodeInfoError,
  createDiscovery,
  resolveDiscoveryOptions,
  validateNodeInfo,
} from '../src/index.js';
import { executor } from './contract.js';

describe('discovery options and node info', function () {
  it('defaults to the file registry, and to etcd when an etcd URL is given', () => {
    assert.deepEqual(resolveDiscoveryOptions({}, {}), {
      provider: 'file',
      dir: resolve('.flowmesh/registry'),
      ttlSeconds: undefined,
    });
    const etcd = resolveDiscoveryOptions({}, { FLOWMESH_ETCD: 'http://127.0.0.1:1,http://127.0.0.1:2' });
    assert.equal(etcd.provider, 'etcd');
    assert.deepEqual(etcd.provider === 'etcd' && etcd.endpoints, ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    // A flag wins over its variable.
    const file = resolveDiscoveryOptions({ discovery: 'file', registryDir: '/r' }, { FLOWMESH_ETCD: 'http://x:1' });
    assert.deepEqual(file, { provider: 'file', dir: '/r', ttlSeconds: undefined });
  });

  it('names the flag and its variable in configuration errors', () => {
    assert.throws(() => resolveDiscoveryOptions({ discovery: 'zookeeper' }, {}), /--discovery \(FLOWMESH_DISCOVERY\)/);
    assert.throws(() => resolveDiscoveryOptions({ discovery: 'consul' }, {}), /--consul \(CONSUL_HTTP_ADDR\)/);
    assert.throws(() => resolveDiscoveryOptions({ etcd: '127.0.0.1:2379' }, {}), /--etcd \(FLOWMESH_ETCD\)/);
    assert.throws(() => createDiscovery({ provider: 'etcd', endpoints: [] }), DiscoveryConfigError);
    assert.throws(() => createDiscovery({ provider: 'consul', address: 'no port' }), DiscoveryConfigError);
  });

  it('refuses node info that cannot be published, naming the field', () => {
    for (const [field, patch] of [
      ['id', { id: '../x' }],
      ['kind', { kind: 'worker' }],
      ['address', { address: 'nohost' }],
      ['slots', { slots: -1 }],
      ['load', { load: Number.NaN }],
      ['startedAt', { startedAt: 'yesterday' }],
    ] as const) {
      assert.throws(
        () => validateNodeInfo({ ...executor(), ...(patch as object) }),
        (err: unknown) => err instanceof InvalidNodeInfoError && err.field === field,
        field,
      );
    }
  });
});
