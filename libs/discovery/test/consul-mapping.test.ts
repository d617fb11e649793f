// Runs without an agent: how NodeInfo maps onto a Consul service (the part of the Consul provider that does
// not need one). The provider's behaviour against an agent is in consul.test.ts.
import assert from 'node:assert/strict';
import { fromMeta, serviceId, serviceName, splitAddress, toMeta } from '../src/consul/client.js';
import { InvalidNodeInfoError } from '../src/index.js';
import { executor } from './contract.js';

describe('consul service mapping', function () {
  it('round-trips NodeInfo through service meta', () => {
    const node = executor({ load: 1.25, labels: { zone: 'b', gpu: 'no' }, fileRoots: ['in', 'out'] });
    assert.deepEqual(fromMeta(toMeta(node)), node);
    assert.equal(serviceName('fm', 'executor'), 'fm-executor');
    assert.equal(serviceId('fm', node), `fm-executor-${node.id}`);
    assert.deepEqual(splitAddress('127.0.0.1:7001'), { host: '127.0.0.1', port: 7001 });
  });

  it('refuses fields longer than Consul meta allows, and ignores foreign services', () => {
    assert.throws(
      () => toMeta(executor({ labels: { big: 'x'.repeat(600) } })),
      (e: unknown) => e instanceof InvalidNodeInfoError && e.field === 'labels',
    );
    assert.equal(fromMeta({ version: '1' }), undefined);
    assert.equal(fromMeta(undefined), undefined);
  });
});
