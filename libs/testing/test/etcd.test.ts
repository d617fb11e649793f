import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestEtcdClient, deferred, startEtcd, waitFor, type EtcdCluster } from '../src/index.js';

const OWNER = fileURLToPath(new URL('./fixtures/etcd-owner.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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
    // The cluster is healthy (a linearizable read went through) when startEtcd returns; the deadline only
    // bounds the test. 2 s was too short for a new client's first connection at load ~15 (CI's machines are
    // shared too): it failed once with "Waiting for LB pick" while the cluster was up.
    const client = createTestEtcdClient(cluster.endpoints, 10_000);
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

  for (const [how, mode] of [
    ['exits without stopping it', 'exit'],
    ['is SIGKILLed', 'idle'],
  ] as const) {
    it(`kills the etcd it started when the test process ${how}`, async () => {
      const owner = spawn(process.execPath, ['--import', 'tsx', OWNER, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
      const started = deferred<{ pid: number; dataDir: string }>();
      let out = '';
      owner.stdout?.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        if (out.includes('\n')) started.resolve(JSON.parse(out) as { pid: number; dataDir: string });
      });
      owner.once('exit', (code) => started.reject(new Error(`owner exited before starting etcd (${code})`)));
      const { pid, dataDir } = await started.promise;
      try {
        assert.ok(alive(pid), 'etcd runs while its owner does');
        if (mode === 'idle') owner.kill('SIGKILL');
        await waitFor(() => !alive(pid), { timeoutMs: 5000, what: `etcd ${pid} to be gone` });
      } finally {
        if (owner.exitCode === null && owner.signalCode === null) owner.kill('SIGKILL');
        if (alive(pid)) process.kill(pid, 'SIGKILL');
        // The owner never got to clean up: its temp dir is ours to remove.
        await rm(dirname(dataDir), { recursive: true, force: true });
      }
    });
  }
});
