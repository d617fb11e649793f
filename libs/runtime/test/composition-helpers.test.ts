import assert from 'node:assert/strict';
import { Command } from 'commander';
import {
  addOptions,
  discoveryOptions,
  hostOptionsOf,
  optionalDiscoveryOptions,
  resolveConfig,
  stopOnce,
} from '@flowmesh/runtime';

describe('composition-root helpers', function () {
  it('stopOnce runs the stop once, with the first reason, and returns the same promise', async () => {
    const reasons: string[] = [];
    const stop = stopOnce(async (reason) => {
      reasons.push(reason);
    });
    const first = stop();
    assert.equal(stop('again'), first);
    await first;
    assert.deepEqual(reasons, ['stop requested']);
  });

  it('hostOptionsOf passes the common flags to the service host', () => {
    assert.deepEqual(hostOptionsOf({ bind: '127.0.0.1:0', graceMs: 5, clusterToken: 't', maxMessageBytes: 2048 }), {
      bind: '127.0.0.1:0',
      graceMs: 5,
      clusterToken: 't',
      maxReceiveMessageBytes: 2048,
      maxSendMessageBytes: 2048,
    });
  });

  it('discovery flags read their variables; only the optional set accepts none', () => {
    const parse = <S extends ReturnType<typeof optionalDiscoveryOptions>>(schema: S, argv: string[], env = {}) => {
      const cmd = addOptions(new Command('t').exitOverride(), schema);
      cmd.parse(argv, { from: 'user' });
      return resolveConfig(schema, cmd, env);
    };
    const c = parse(optionalDiscoveryOptions(), ['--discovery', 'none'], { FLOWMESH_ETCD: 'http://127.0.0.1:1' });
    assert.equal(c.discovery, 'none');
    assert.equal(c.etcd, 'http://127.0.0.1:1');
    assert.equal(parse(optionalDiscoveryOptions(), [], { FLOWMESH_REGISTRY_DIR: '/r' }).registryDir, '/r');
    assert.throws(() => parse(discoveryOptions() as never, ['--discovery', 'none']));
  });
});
