import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoveryFromFlags, newNodeInfo, validateNodeInfo } from '../src/index.js';

describe('discovery from service flags', function () {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flowmesh-from-flags-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens nothing for --discovery none', () => {
    assert.equal(discoveryFromFlags({ discovery: 'none', registryDir: dir }), undefined);
  });

  it('opens the provider a whole service config names', async () => {
    const flags = { discovery: 'file' as const, registryDir: dir, nodeId: 'x', graceMs: 5 };
    const discovery = discoveryFromFlags(flags);
    try {
      const registration = await discovery.register(
        newNodeInfo({ id: 'gw-1', kind: 'gateway', address: '127.0.0.1:1', version: '0.1.0' }),
      );
      assert.equal(registration.state, 'registered');
      await registration.deregister();
    } finally {
      await discovery.close();
    }
  });

  it('starts a node record idle, with the given slots, roots and labels', () => {
    const before = Date.now();
    const n = newNodeInfo({
      id: 'e1',
      kind: 'executor',
      address: '127.0.0.1:2',
      version: 'v',
      slots: 4,
      fileRoots: ['data'],
    });
    assert.deepEqual(
      { ...n, startedAt: '' },
      {
        id: 'e1',
        kind: 'executor',
        address: '127.0.0.1:2',
        slots: 4,
        slotsBusy: 0,
        load: 0,
        version: 'v',
        fileRoots: ['data'],
        labels: {},
        startedAt: '',
      },
    );
    assert.ok(Date.parse(n.startedAt) >= before - 1000);
    assert.deepEqual(validateNodeInfo(n), n);
  });
});
