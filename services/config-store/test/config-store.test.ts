// Issue 3 "done when", through real config-store processes over a real 3-member etcd: a write through one
// instance reaches a watcher on another well under a second; CAS conflicts are FAILED_PRECONDITION; API
// keys are never returned by any read; invalid resources are refused naming the field; the cache resumes
// after its instance restarts without ever going back.
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { freePort, startEtcd, startService, waitFor, type EtcdCluster, type RunningService } from '@flowmesh/testing';
import { FIELD_METADATA_KEY } from '@flowmesh/runtime';
import {
  Job,
  JobCheckpoint,
  JobState,
  ResourceKind,
  Role,
  WatchEventType,
  type Resource,
  type WatchResponse,
} from '@flowmesh/contracts';
import { createDiscovery } from '@flowmesh/discovery';
import { createConfigCache, createConfigClient, type ConfigClient } from '@flowmesh/config';

const TOKEN = 'test-cluster-token';

function res(kind: ResourceKind, name: string, spec: Resource['spec']): Resource {
  return { kind, name, revision: 0, createRevision: 0, version: 0, updatedAt: undefined, updatedBy: '', spec };
}
const flow = (name: string, source: string) =>
  res(ResourceKind.RESOURCE_KIND_FLOW, name, { $case: 'flow', flow: { source, description: '', flowRevision: 0 } });
const root = (name: string, path: string) =>
  res(ResourceKind.RESOURCE_KIND_FILE_ROOT, name, {
    $case: 'fileRoot',
    fileRoot: { path, writable: true, description: '' },
  });
const FLOW_SOURCE = (n: number, rootName = 'data') =>
  `name: f\nsource:\n  type: file\n  root: ${rootName}\n  path: in.csv\n  format: csv\nsteps: []\nsink:\n  type: stream\n# ${n}\n`;

async function rejectsWith(p: Promise<unknown>, code: status, field?: string): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    const e = err as ServiceError;
    assert.equal(e.code, code, `expected ${status[code]}, got ${status[e.code]}: ${e.details}`);
    if (field) assert.equal(e.metadata.get(FIELD_METADATA_KEY)[0], field, e.details);
    return e;
  }
  assert.fail(`expected ${status[code]}`);
}

describe('config-store service: two instances over a 3-member etcd', () => {
  let etcd: EtcdCluster;
  let one: RunningService;
  let two: RunningService;
  let a: ConfigClient;
  let b: ConfigClient;
  let port2 = 0;
  let args: string[] = [];
  before(async () => {
    etcd = await startEtcd({ members: 3 });
    args = ['--etcd', etcd.endpoints.join(','), '--cluster-token', TOKEN];
    port2 = await freePort();
    [one, two] = await Promise.all([
      startService('config-store', { args: [...args, '--discovery', 'etcd'] }),
      startService('config-store', { bind: `127.0.0.1:${port2}`, args: [...args, '--discovery', 'none'] }),
    ]);
    a = createConfigClient({ address: one.address, clusterToken: TOKEN });
    b = createConfigClient({ address: two.address, clusterToken: TOKEN });
  });
  after(async () => {
    a?.close();
    b?.close();
    await one?.stop();
    await two?.stop();
    await etcd?.stop();
  });

  it('a write through one instance reaches a watcher on the other well under a second', async () => {
    await a.put(root('data', '/srv/data'));
    const controller = new AbortController();
    const stream = b.watch({ kinds: [ResourceKind.RESOURCE_KIND_FLOW] }, { signal: controller.signal });
    const seen = new Map<number, number>(); // revision → time seen
    stream.on('error', () => undefined); // cancelled at the end
    const created = new Promise<void>((resolve) =>
      stream.on('data', (r: WatchResponse) => {
        if (r.created) resolve();
        for (const ev of r.events)
          if (ev.type === WatchEventType.WATCH_EVENT_TYPE_PUT) seen.set(ev.resource!.revision, Date.now());
      }),
    );
    await created;
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = Date.now();
      const put = await a.put(flow('orders', FLOW_SOURCE(i)));
      await waitFor(() => seen.has(put.revision), {
        what: `revision ${put.revision} on the other instance`,
        intervalMs: 2,
        timeoutMs: 5000,
      });
      latencies.push(seen.get(put.revision)! - t0);
    }
    controller.abort();
    latencies.sort((x, y) => x - y);
    assert.ok(latencies[latencies.length - 1]! < 1000, `slowest write→watch ${latencies.at(-1)} ms`);
    assert.ok(latencies[10]! < 250, `median write→watch ${latencies[10]} ms`);
  });

  it('answers a compare-and-set conflict with FAILED_PRECONDITION, on either instance', async () => {
    const first = await a.put(root('cas', '/srv/one'), { expectedRevision: 0 });
    await rejectsWith(b.put(root('cas', '/srv/two'), { expectedRevision: 0 }), status.FAILED_PRECONDITION);
    const second = await b.put(root('cas', '/srv/two'), { expectedRevision: first.revision });
    await rejectsWith(
      a.put(root('cas', '/srv/three'), { expectedRevision: first.revision }),
      status.FAILED_PRECONDITION,
    );
    await rejectsWith(
      a.delete(ResourceKind.RESOURCE_KIND_FILE_ROOT, 'cas', { expectedRevision: first.revision }),
      status.FAILED_PRECONDITION,
    );
    assert.equal(
      (await a.delete(ResourceKind.RESOURCE_KIND_FILE_ROOT, 'cas', { expectedRevision: second.revision })).deleted,
      true,
    );
  });

  it('refuses invalid resources naming the field: unparsable flow, relative root, root with ".."', async () => {
    const bad = await rejectsWith(
      a.put(flow('broken', 'name: x\nsteps: [\n')),
      status.INVALID_ARGUMENT,
      'resource.flow.source',
    );
    assert.match(bad.details, /line \d+/);
    const unknownRoot = await rejectsWith(
      a.put(flow('lost', FLOW_SOURCE(0, 'nowhere'))),
      status.INVALID_ARGUMENT,
      'resource.flow.source',
    );
    assert.match(unknownRoot.details, /line 4, column \d+, source\.root: unknown file root "nowhere"/);
    await rejectsWith(a.put(root('rel', 'data/in')), status.INVALID_ARGUMENT, 'resource.file_root.path');
    await rejectsWith(b.put(root('up', '/srv/../etc')), status.INVALID_ARGUMENT, 'resource.file_root.path');
    await rejectsWith(a.put(root('bad name', '/srv')), status.INVALID_ARGUMENT, 'resource.name');
  });

  it('never returns an API key secret or its hash from any read', async () => {
    const controller = new AbortController();
    const watched: WatchResponse[] = [];
    const stream = b.watch({ kinds: [ResourceKind.RESOURCE_KIND_API_KEY] }, { signal: controller.signal });
    stream.on('error', () => undefined);
    await new Promise<void>((resolve) =>
      stream.on('data', (r: WatchResponse) => (watched.push(r), r.created && resolve())),
    );
    await a.put(
      res(ResourceKind.RESOURCE_KIND_USER, 'alice', {
        $case: 'user',
        user: { role: Role.ROLE_OPERATOR, disabled: false, description: '' },
      }),
    );
    const created = await a.createApiKey({ user: 'alice', role: Role.ROLE_OPERATOR, description: 'ci' });
    const secretPart = created.secret.slice(`fmk_${created.keyId}_`.length);
    assert.ok(secretPart.length >= 40);
    assert.equal((await b.verifyApiKey(created.secret)).user, 'alice');
    await rejectsWith(b.verifyApiKey(created.secret + 'x'), status.UNAUTHENTICATED);
    await waitFor(() => watched.some((r) => r.events.length > 0), { what: 'the key on the watch' });
    controller.abort();
    const reads = JSON.stringify([
      await b.get(ResourceKind.RESOURCE_KIND_API_KEY, created.keyId),
      await b.list(ResourceKind.RESOURCE_KIND_API_KEY),
      watched,
      created.resource,
    ]);
    assert.ok(reads.includes(created.keyId));
    assert.ok(!reads.includes(secretPart), 'a read returned the secret');
    assert.ok(!/digest|sha256|hash/i.test(reads), 'a read returned the hash');
  });

  it('registers in discovery as config-store with its address', async () => {
    const discovery = createDiscovery({ provider: 'etcd', endpoints: etcd.endpoints });
    const view = discovery.watch('config-store');
    try {
      await view.ready;
      await waitFor(() => view.nodes('config-store').find((n) => n.address === one.address), {
        what: 'config-store in discovery',
      });
    } finally {
      view.close();
      await discovery.close();
    }
  });

  it('keeps job records and checkpoints, with compare-and-set on checkpoints', async () => {
    const job: Job = Job.fromPartial({
      id: 'job-1',
      flow: 'orders',
      flowRevision: 3,
      state: JobState.JOB_STATE_RUNNING,
      vars: { input: 'a.csv' },
    });
    const put = await a.putJob(job);
    const got = await b.getJob('job-1');
    assert.equal(got?.job.flowRevision, 3);
    assert.equal(got?.revision, put.revision);
    assert.equal(await b.getJob('job-none'), undefined);
    await a.putJob({ ...job, state: JobState.JOB_STATE_SUCCEEDED }, { expectedRevision: put.revision });
    await rejectsWith(
      a.putJob({ ...job, state: JobState.JOB_STATE_FAILED }, { expectedRevision: put.revision }),
      status.FAILED_PRECONDITION,
    );
    assert.deepEqual(
      (await b.listJobs()).jobs.map((j) => [j.id, j.state]),
      [['job-1', JobState.JOB_STATE_SUCCEEDED]],
    );
    const checkpoint = (epoch: number): Resource =>
      res(ResourceKind.RESOURCE_KIND_CHECKPOINT, 'job-1', {
        $case: 'checkpoint',
        checkpoint: JobCheckpoint.fromPartial({ jobId: 'job-1', coordinatorId: 'c1', epoch }),
      });
    const c1 = await a.put(checkpoint(1), { expectedRevision: 0 });
    await rejectsWith(b.put(checkpoint(2), { expectedRevision: 0 }), status.FAILED_PRECONDITION); // a second owner loses
    await b.put(checkpoint(2), { expectedRevision: c1.revision });
  });

  it('keeps serving through the etcd leader being killed, losing no acknowledged write', async function () {
    this.timeout(60_000);
    const acked: Array<{ name: string; revision: number }> = [];
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const put = await a.put(root(`lk-${i}`, `/srv/lk/${i}`), { timeoutMs: 15_000 });
          acked.push({ name: `lk-${i}`, revision: put.revision });
        } catch {
          // not acknowledged: not checked
        }
      }
    })();
    try {
      await waitFor(() => acked.length >= 10, { what: 'writes before the kill' });
      const leader = await etcd.leader();
      const n = acked.length;
      await leader.kill('SIGKILL');
      await waitFor(() => acked.length >= n + 10, { what: 'writes after the leader was killed', timeoutMs: 20_000 });
      await leader.restart();
    } finally {
      stop = true;
      await writer;
    }
    for (const w of acked) {
      const got = await b.get(ResourceKind.RESOURCE_KIND_FILE_ROOT, w.name);
      assert.equal(got.resource?.revision, w.revision, `acknowledged ${w.name} lost`);
    }
  });

  it('keeps a cache in sync across its instance restarting, never going back a revision', async function () {
    this.timeout(60_000);
    const kinds = [ResourceKind.RESOURCE_KIND_FLOW, ResourceKind.RESOURCE_KIND_FILE_ROOT];
    const cache = createConfigCache(b, kinds);
    // A second cache whose client asks for an address before every call: it moves to instance one.
    let twoUp = true;
    const moving = createConfigClient({ address: () => (twoUp ? two.address : one.address), clusterToken: TOKEN });
    const failover = createConfigCache(moving, kinds, { maxBackoffMs: 200 });
    const revisions: number[] = [];
    cache.on('change', () => revisions.push(cache.revision));
    try {
      await Promise.all([cache.ready, failover.ready]);
      const w1 = await a.put(root('cached', '/srv/c1'));
      await cache.waitForRevision(w1.revision);
      await failover.waitForRevision(w1.revision);
      assert.equal(cache.get(ResourceKind.RESOURCE_KIND_FILE_ROOT, 'cached')?.spec?.$case, 'fileRoot');
      await two.stop('SIGKILL');
      twoUp = false;
      // Written while the cache's instance is down: it must catch up from its revision afterwards.
      const w2 = await a.put(root('cached', '/srv/c2'));
      const w3 = await a.put(flow('while-down', FLOW_SOURCE(99)));
      const w4 = await a.delete(ResourceKind.RESOURCE_KIND_FILE_ROOT, 'cached');
      await failover.waitForRevision(w4.revision, 10_000);
      assert.equal(failover.get(ResourceKind.RESOURCE_KIND_FLOW, 'while-down')?.revision, w3.revision);
      assert.ok(cache.revision < w2.revision);
      two = await startService('config-store', { bind: `127.0.0.1:${port2}`, args: [...args, '--discovery', 'none'] });
      await cache.waitForRevision(w4.revision, 20_000);
      assert.equal(cache.get(ResourceKind.RESOURCE_KIND_FILE_ROOT, 'cached'), undefined);
      assert.equal(cache.get(ResourceKind.RESOURCE_KIND_FLOW, 'while-down')?.revision, w3.revision);
      assert.deepEqual(
        revisions,
        [...revisions].sort((x, y) => x - y),
        'the cache went back a revision',
      );
    } finally {
      cache.close();
      failover.close();
      moving.close();
    }
  });
});
