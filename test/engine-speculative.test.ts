// Speculative execution end to end (issue 6, item 4) with real processes: etcd, config-store, a coordinator
// and two one-slot executors. The first attempt of one batch hangs on whichever executor takes it
// (FLOWMESH_FAULTS, scoped to this job, that batch and attempt 1). The coordinator's heartbeat timeout is
// long, so only a speculative backup on the other executor can finish the batch in time: the job must
// match the reference byte for byte, count the backup, and leave the hung call cancelled.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoordinatorServiceClient } from '@flowmesh/contracts';
import { generateOrders } from '@flowmesh/flow';
import type { LocalRunResult } from '@flowmesh/flow';
import { createClient } from '@flowmesh/runtime';
import {
  startEtcd,
  startService,
  tempDir,
  waitFor,
  type EtcdCluster,
  type RunningService,
} from '@flowmesh/testing';
import {
  closeStatusClients,
  getExecutorStatus,
  putFileRoot,
  putFlow,
  putTable,
  runJob,
  withConfigStore,
} from './engine-harness.js';
import { executorArgs, loadOrdersExample, PLUGINS, referenceRun, startAllTracked, stopTracked } from './mesh-setup.js';

const TOKEN = 'engine-speculative-token';
const JOB = 'speculative-job-1';
const SLOW_BATCH = 3;
const FAULTS = `hang:job=${JOB};batch=${SLOW_BATCH};attempt=1`;

describe('engine: speculative execution of a slow batch (real processes)', function () {
  this.timeout(120_000);
  let etcd: EtcdCluster;
  let dataDir: string;
  const services: RunningService[] = [];
  const executors: RunningService[] = [];
  let client: CoordinatorServiceClient;
  let reference: LocalRunResult;

  before(async function () {
    this.timeout(300_000);
    dataDir = await tempDir('engine-spec-data');
    await writeFile(join(dataDir, 'orders-20k.csv'), Buffer.concat([...generateOrders({ records: 20_000, seed: 13 })]));
    const { flow, table } = await loadOrdersExample();
    reference = await referenceRun(flow, table, dataDir, 'orders-20k.csv');

    etcd = await startEtcd({ members: 1 });
    const env = { FLOWMESH_CLUSTER_TOKEN: TOKEN };
    const mesh = ['--discovery', 'etcd', '--etcd', etcd.endpoints.join(',')];
    const configStore = await startService('config-store', {
      args: [...mesh, '--plugin-dir', PLUGINS],
      env,
      timeoutMs: 60_000,
    });
    services.push(configStore);
    await withConfigStore(configStore.address, TOKEN, async (cs) => {
      await putFileRoot(cs, 'data', dataDir, false);
      await putTable(cs, 'tax-rates', table);
      await putFlow(cs, 'orders', flow);
    });
    executors.push(
      ...(await startAllTracked(
        services,
        [1, 2].map((n) =>
          startService('executor', {
            args: [...mesh, ...executorArgs(`spec-exec-${n}`, dataDir)],
            env: { ...env, FLOWMESH_FAULTS: FAULTS },
            timeoutMs: 60_000,
          }),
        ),
      )),
    );
    const coordinator = await startService('coordinator', {
      args: [
        ...mesh,
        '--node-id',
        'spec-coord-1',
        // Far longer than the test: a hung attempt is never failed by the heartbeat watchdog here.
        '--heartbeat-timeout-ms',
        '600000',
        '--speculation-multiple',
        '3',
        '--speculation-min-age-ms',
        '500',
        '--no-executor-timeout-ms',
        '10000',
      ],
      env,
      timeoutMs: 60_000,
    });
    services.push(coordinator);
    client = createClient(CoordinatorServiceClient, coordinator.address, { clusterToken: TOKEN });
  });

  after(async () => {
    client?.close();
    closeStatusClients();
    await stopTracked(services, etcd);
  });

  it('backs up the hung batch on the other executor; the output is the reference, once, and the loser is cancelled', async () => {
    const r = await runJob(
      client,
      {
        jobId: JOB,
        flow: 'orders',
        vars: { input: 'orders-20k.csv' },
        distribute: { batchRecords: 2000, maxInstances: 2 },
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(r.error, undefined, r.error?.message);
    assert.ok(r.output.equals(reference.output), 'byte-identical to the reference run');
    const lines = r.output.toString('utf8').split('\n').filter(Boolean);
    assert.equal(new Set(lines).size, lines.length, 'no duplicated record');
    const p = r.summary?.progress;
    assert.equal(p?.batchesDone, 10);
    assert.ok((p?.batchesSpeculative ?? 0) >= 1, `batchesSpeculative ${p?.batchesSpeculative}`);
    assert.equal(p?.batchesRetried, 0, 'the cancelled slow attempt is not a failure');
    assert.equal(p?.counts?.recordsIn, 20_000);
    // The hung attempt's call was cancelled: both executors end up idle.
    await waitFor(
      async () => {
        const statuses = await Promise.all(executors.map((e) => getExecutorStatus(e.address, TOKEN)));
        return statuses.every((s) => s.slotsBusy === 0);
      },
      { what: 'both executors idle after the race', timeoutMs: 5000 },
    );
  });
});
