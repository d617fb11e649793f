// The gateway in a real mesh (issue 5): config-store, two coordinators, two executors and a gateway as
// child processes. `buf curl` lists the public services and runs a job from a JSON body; a client that
// hangs up stops the job on every executor; a client reading slowly keeps memory bounded; a coordinator
// killed mid-job gives UNAVAILABLE naming the job; new jobs then go to the other coordinator.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JobState, RecordEncoding } from '@flowmesh/contracts';
import { createClient, type FlowmeshClient, type RunJobEvent } from '@flowmesh/client';
import { generateOrders } from '@flowmesh/flow';
import { listServices, REPO_ROOT, startService, tempDir, waitFor, type RunningService } from '@flowmesh/testing';
import { status, type ServiceError } from '@grpc/grpc-js';
import { getExecutorStatus } from './engine-harness.js';
import { dataRoot, taxRatesTable, loadOrdersExample, startFileMesh } from './mesh-setup.js';

const TOKEN = 'gateway-mesh-test-token';
const ADMIN_KEY = 'gateway-mesh-test-admin-key-0123456789abcdef';

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Pacing for the deliberately slow reader (not synchronisation: nothing waits for a guessed state). */
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gateway in a real mesh (two coordinators, two executors)', function () {
  this.timeout(180_000);
  const services: RunningService[] = [];
  const coordinators = new Map<string, RunningService>();
  const executors: RunningService[] = [];
  let gateway: RunningService;
  let client: FlowmeshClient;

  before(async () => {
    const dir = await tempDir('gateway-mesh');
    const data = join(dir, 'data');
    await writeFile(join(dir, '.keep'), '');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(data);
    await writeFile(join(data, 'orders-2k.csv'), Buffer.concat([...generateOrders({ records: 2_000, seed: 3 })]));
    await writeFile(join(data, 'orders-200k.csv'), Buffer.concat([...generateOrders({ records: 200_000, seed: 5 })]));
    const env = { FLOWMESH_CLUSTER_TOKEN: TOKEN };
    const { mesh, store } = await startFileMesh(dir, env, services);
    const withStore = [...mesh, '--config-store', store.address];
    const started = await Promise.allSettled([
      ...['coord-a', 'coord-b'].map(async (id) => {
        const c = await startService('coordinator', { args: [...withStore, '--node-id', id], env, timeoutMs: 60_000 });
        services.push(c);
        coordinators.set(id, c);
      }),
      ...[1, 2].map(async (n) => {
        const e = await startService('executor', {
          args: [...withStore, '--node-id', `exec-${n}`, '--slots', '1', '--file-root', `data=${data}`],
          env,
          timeoutMs: 60_000,
        });
        services.push(e);
        executors.push(e);
      }),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    gateway = await startService('gateway', {
      args: [...withStore, '--max-jobs-per-key', '8'],
      env: { ...env, FLOWMESH_ADMIN_KEY: ADMIN_KEY },
      timeoutMs: 60_000,
    });
    services.push(gateway);
    client = createClient(gateway.address, { apiKey: ADMIN_KEY });
    await waitFor(() => client.whoAmI().then((w) => w.user === 'admin'), { timeoutMs: 30_000, what: 'the admin key' });
    await client.putResource(dataRoot(data));
    const { flow, table } = await loadOrdersExample();
    await client.putResource(taxRatesTable(table));
    await client.putFlow('orders', flow);
    await waitFor(
      () =>
        client
          .listNodes()
          .then((n) => n.filter((x) => x.kind === 2).length === 2 && n.filter((x) => x.kind === 3).length === 2),
      {
        timeoutMs: 30_000,
        what: 'both coordinators and both executors in discovery',
      },
    );
  });

  after(async () => {
    client?.close();
    for (const s of services.reverse()) await s.stop('SIGTERM', { timeoutMs: 5000 });
  });

  it('buf curl --list-services lists the three public services, health and reflection', async () => {
    const names = await listServices(gateway.address);
    for (const s of [
      'flowmesh.v1.JobService',
      'flowmesh.v1.FlowService',
      'flowmesh.v1.ClusterService',
      'grpc.health.v1.Health',
    ]) {
      assert.ok(names.includes(s), `${s} in ${names.join(', ')}`);
    }
    assert.ok(
      names.some((n) => n.startsWith('grpc.reflection.')),
      'reflection is listed',
    );
  });

  it('a RunJob made with buf curl and a JSON body returns records and a summary', async () => {
    const body = JSON.stringify({
      start: { flow: 'orders', vars: { input: 'orders-2k.csv' }, encoding: 'RECORD_ENCODING_JSON_TEXT' },
    });
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        join(REPO_ROOT, 'node_modules/.bin/buf'),
        [
          'curl',
          '--protocol',
          'grpc',
          '--http2-prior-knowledge',
          '-H',
          `authorization: Bearer ${ADMIN_KEY}`,
          '-d',
          body,
          `http://${gateway.address}/flowmesh.v1.JobService/RunJob`,
        ],
        { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
      ),
    );
    assert.match(stdout, /"accepted"/);
    assert.match(stdout, /"records":\s*\{[\s\S]*"records":\s*\[\s*"\{/);
    assert.match(stdout, /"summary"/);
    assert.match(stdout, /JOB_STATE_SUCCEEDED/);
  });

  it('a client that cancels stops the job on every executor', async () => {
    const controller = new AbortController();
    let jobId = '';
    await assert.rejects(
      (async () => {
        for await (const ev of client.runJob(
          {
            flow: 'orders',
            vars: { input: 'orders-200k.csv' },
            distribute: { batchRecords: 2000, maxInstances: 2, batchBytes: 0, order: 'input', mode: '' },
          },
          { signal: controller.signal },
        )) {
          if (ev.$case === 'accepted') jobId = ev.accepted.jobId;
          // Cancel once both executors have batches running.
          if (ev.$case === 'records') controller.abort();
        }
      })(),
      (err: ServiceError) => err.code === status.CANCELLED,
    );
    assert.ok(jobId, 'the job was accepted');
    const job = await waitFor(
      () =>
        client.getJob(jobId).then(
          (j) => (j.state === JobState.JOB_STATE_CANCELLED ? j : undefined),
          () => undefined,
        ),
      { timeoutMs: 20_000, what: `job ${jobId} cancelled` },
    );
    assert.ok(
      (job.progress?.batchesDone ?? 0) < (job.progress?.batchesPlanned ?? 0) || !job.progress?.planningDone,
      'stopped before the end',
    );
    await waitFor(
      async () =>
        (await Promise.all(executors.map((e) => getExecutorStatus(e.address, TOKEN)))).every((s) => s.slotsBusy === 0),
      { timeoutMs: 20_000, what: 'every executor idle' },
    );
  });

  it('a slow client (reading ~1% as fast) keeps the gateway and coordinator memory bounded', async () => {
    const controller = new AbortController();
    let coordinator: RunningService | undefined;
    const base = { gateway: rssMiB(gateway.pid), coordinator: 0 };
    const peak = { gateway: 0, coordinator: 0 };
    let received = 0;
    let bytes = 0;
    let last: RunJobEvent | undefined;
    const deadline = Date.now() + 12_000;
    try {
      for await (const ev of client.runJob(
        {
          flow: 'orders',
          vars: { input: 'orders-200k.csv' },
          encoding: RecordEncoding.RECORD_ENCODING_JSONL,
          distribute: { batchRecords: 2000, maxInstances: 4, batchBytes: 0, order: 'input', mode: '' },
        },
        { signal: controller.signal },
      )) {
        last = ev;
        if (ev.$case === 'accepted') {
          coordinator = coordinators.get(ev.accepted.coordinatorId);
          base.coordinator = coordinator ? rssMiB(coordinator.pid) : 0;
        }
        if (ev.$case === 'records') {
          received += ev.records.recordCount;
          bytes += ev.records.data.length;
          peak.gateway = Math.max(peak.gateway, rssMiB(gateway.pid));
          if (coordinator) peak.coordinator = Math.max(peak.coordinator, rssMiB(coordinator.pid));
          await pause(100);
        }
        if (Date.now() > deadline) break;
      }
    } finally {
      controller.abort();
    }
    assert.ok(coordinator, 'the job was accepted by a known coordinator');
    assert.notEqual(
      last?.$case,
      'summary',
      'the slow reader held the job back (it did not finish while we read slowly)',
    );
    assert.ok(received > 0, 'records arrived');
    // The whole output is ~60 MB; what the mesh may hold for a slow reader is a few windows and chunks.
    assert.ok(
      peak.gateway - base.gateway < 96,
      `gateway RSS grew ${Math.round(peak.gateway - base.gateway)} MiB (read ${bytes} bytes)`,
    );
    assert.ok(
      peak.coordinator - base.coordinator < 128,
      `coordinator RSS grew ${Math.round(peak.coordinator - base.coordinator)} MiB`,
    );
  });

  it('SubmitJob runs a job detached and WatchJob follows it to its summary', async () => {
    const accepted = await client.submitJob({ flow: 'orders', vars: { input: 'orders-2k.csv' } });
    assert.ok(accepted.jobId);
    assert.ok(coordinators.has(accepted.coordinatorId), `accepted by ${accepted.coordinatorId}`);
    // Watched at once: whether or not config-store has the record yet, the gateway finds the job.
    let summary: JobState | undefined;
    for await (const ev of client.watchJob(accepted.jobId)) if (ev.$case === 'summary') summary = ev.summary.job?.state;
    assert.equal(summary, JobState.JOB_STATE_SUCCEEDED);
    const job = await client.getJob(accepted.jobId);
    assert.equal(job.submittedBy, 'admin', 'the gateway sets submitted_by from the key');
  });

  it('a coordinator killed mid-job gives the caller UNAVAILABLE naming the job, and new jobs go to the other', async () => {
    let jobId = '';
    let owner = '';
    await assert.rejects(
      (async () => {
        // The gateway's own contract, so the client's re-attach (issue 6; test/chaos.test.ts) is turned off.
        for await (const ev of client.runJob(
          {
            flow: 'orders',
            vars: { input: 'orders-200k.csv' },
            distribute: { batchRecords: 2000, maxInstances: 2, batchBytes: 0, order: 'input', mode: '' },
          },
          { reattachTimeoutMs: 0 },
        )) {
          if (ev.$case === 'accepted') {
            jobId = ev.accepted.jobId;
            owner = ev.accepted.coordinatorId;
          }
          if (ev.$case === 'records' && coordinators.get(owner)?.pid) {
            coordinators.get(owner)!.kill('SIGKILL');
            await pause(50); // keep reading slowly so the stream is still open when the kill lands
          }
        }
      })(),
      (err: ServiceError) => {
        assert.equal(err.code, status.UNAVAILABLE, `${status[err.code]}: ${err.details}`);
        assert.ok(err.details.includes(jobId), `"${err.details}" names job ${jobId}`);
        return true;
      },
    );
    const dead = coordinators.get(owner)!;
    await dead.exited;
    const survivor = [...coordinators.keys()].find((id) => id !== owner)!;
    // The dead coordinator may still be listed until its registry entry expires: the gateway fails over.
    for (let i = 0; i < 3; i++) {
      let accepted = '';
      let summary: JobState | undefined;
      for await (const ev of client.runJob({ flow: 'orders', vars: { input: 'orders-2k.csv' } })) {
        if (ev.$case === 'accepted') accepted = ev.accepted.coordinatorId;
        if (ev.$case === 'summary') summary = ev.summary.job?.state;
      }
      assert.equal(accepted, survivor);
      assert.equal(summary, JobState.JOB_STATE_SUCCEEDED);
    }
  });
});
