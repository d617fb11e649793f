// The direct result path (issue 7) in a real mesh: config-store, a coordinator, two executors writing into
// one spool, a gateway that shares it and a gateway with a spool of its own (as on another machine). Through
// the sharing gateway the records of a streamed job come from part files (the coordinator logs the parts it
// named), byte-identical to the reference and to the streamed path of the other gateway; a corrupted part is
// refused before any of its batch reaches the caller (DATA_LOSS, the job cancelled naming why); and no part
// file is left behind after a success, a failure or a cancel.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JobState } from '@flowmesh/contracts';
import { createClient, type FlowmeshClient, type JobSpecInput } from '@flowmesh/client';
import { generateOrders, type LocalRunResult } from '@flowmesh/flow';
import { startService, tempDir, waitFor, type RunningService } from '@flowmesh/testing';
import { status, type ServiceError } from '@grpc/grpc-js';
import {
  dataRoot,
  taxRatesTable,
  executorArgs,
  loadOrdersExample,
  referenceRun,
  startAllTracked,
  startFileMesh,
} from './mesh-setup.js';
import { spoolEmptied } from './spool-files.js';

const TOKEN = 'result-spool-test-token';
const ADMIN_KEY = 'result-spool-test-admin-key-0123456789abcdef';
// Per job id, so every other job of the mesh runs clean: c1 through the sharing gateway, c2 through the other.
const FAULTS = 'corrupt-part:job=spool-corrupt-1,corrupt-part:job=spool-corrupt-2,fail:job=spool-fail-1;batch=3';

describe('direct result path through a shared spool (issue 7)', function () {
  this.timeout(180_000);
  const services: RunningService[] = [];
  let coordinator: RunningService;
  let shared: FlowmeshClient;
  let separate: FlowmeshClient;
  let spool: string;
  let otherSpool: string;
  let reference: LocalRunResult;

  const spec = (jobId: string, extra: Partial<JobSpecInput> = {}): JobSpecInput => ({
    flow: 'orders',
    jobId,
    vars: { input: 'orders-20k.csv' },
    distribute: { batchRecords: 2000, maxInstances: 2, batchBytes: 0, order: 'input', mode: '' },
    ...extra,
  });

  async function collect(client: FlowmeshClient, s: JobSpecInput, signal?: AbortSignal) {
    const parts: Buffer[] = [];
    let summary: { state: JobState; recordsOut: number } | undefined;
    for await (const ev of client.runJob(s, signal ? { signal } : {})) {
      if (ev.$case === 'records') parts.push(Buffer.from(ev.records.data));
      if (ev.$case === 'summary')
        summary = { state: ev.summary.job!.state, recordsOut: ev.summary.job!.progress?.counts?.recordsOut ?? 0 };
    }
    return { output: Buffer.concat(parts), summary };
  }

  /** The coordinator's "job ended" line of a job: `partsSent` is how many batches went through the spool. */
  const endedLine = (jobId: string) =>
    waitFor(() => coordinator.logLines().find((l) => l['jobId'] === jobId && l['msg'] === 'job ended'), {
      timeoutMs: 20_000,
      what: `job ${jobId} ended in the coordinator's log`,
    });

  const noPartsLeft = () => spoolEmptied(spool);

  before(async () => {
    const dir = await tempDir('result-spool');
    const data = join(dir, 'data');
    spool = join(dir, 'spool');
    otherSpool = join(dir, 'other-spool');
    await mkdir(data);
    await writeFile(join(data, 'orders-20k.csv'), Buffer.concat([...generateOrders({ records: 20_000, seed: 11 })]));
    const env = { FLOWMESH_CLUSTER_TOKEN: TOKEN };
    const { mesh, store } = await startFileMesh(dir, env, services);
    const withStore = [...mesh, '--config-store', store.address];
    const { flow, table } = await loadOrdersExample();
    reference = await referenceRun(flow, table, data, 'orders-20k.csv');
    [coordinator] = (await startAllTracked(services, [
      startService('coordinator', { args: [...withStore, '--node-id', 'coord-1'], env, timeoutMs: 60_000 }),
      ...[1, 2].map((n) =>
        startService('executor', {
          args: [...withStore, ...executorArgs(`exec-${n}`, data), '--spool-dir', spool],
          env: { ...env, FLOWMESH_FAULTS: FAULTS },
          timeoutMs: 60_000,
        }),
      ),
    ])) as [RunningService];
    const [a, b] = await startAllTracked(services, [
      startService('gateway', {
        args: [...withStore, '--spool-dir', spool],
        env: { ...env, FLOWMESH_ADMIN_KEY: ADMIN_KEY },
        timeoutMs: 60_000,
      }),
      startService('gateway', {
        args: [...withStore, '--spool-dir', otherSpool],
        env: { ...env, FLOWMESH_ADMIN_KEY: ADMIN_KEY },
        timeoutMs: 60_000,
      }),
    ]);
    shared = createClient(a!.address, { apiKey: ADMIN_KEY });
    separate = createClient(b!.address, { apiKey: ADMIN_KEY });
    await waitFor(() => shared.whoAmI().then((w) => w.user === 'admin'), { timeoutMs: 30_000, what: 'the admin key' });
    await shared.putResource(dataRoot(data));
    await shared.putResource(taxRatesTable(table));
    await shared.putFlow('orders', flow);
    await waitFor(() => shared.listNodes().then((n) => n.filter((x) => x.kind === 3).length === 2), {
      timeoutMs: 30_000,
      what: 'both executors in discovery',
    });
  });

  after(async () => {
    shared?.close();
    separate?.close();
    for (const s of services.reverse()) await s.stop('SIGTERM', { timeoutMs: 5000 });
  });

  it('a streamed job through the gateway sharing the spool takes the direct path: output identical to the reference and to the streamed path', async () => {
    const direct = await collect(shared, spec('spool-direct-1'));
    assert.equal(direct.summary?.state, JobState.JOB_STATE_SUCCEEDED);
    assert.equal(direct.output.length, reference.output.length);
    assert.ok(direct.output.equals(reference.output), 'direct output equals the reference run byte for byte');
    const ended = await endedLine('spool-direct-1');
    assert.equal(ended['partsSent'], 10, 'every batch (10 of 2000 records) went through the spool');

    const streamed = await collect(separate, spec('spool-streamed-1'));
    assert.equal(streamed.summary?.state, JobState.JOB_STATE_SUCCEEDED);
    assert.ok(streamed.output.equals(direct.output), 'the streamed path gives the same bytes');
    assert.equal((await endedLine('spool-streamed-1'))['partsSent'], 0, 'no part for a gateway with another spool');
    await noPartsLeft();
  });

  it('tiny batches stream their records instead of going through the spool (a part costs more than it saves)', async () => {
    // 100-record batches of orders are ~12 KB of input, under the coordinator's spool threshold (32 KiB).
    const tiny = await collect(
      shared,
      spec('spool-tiny-1', {
        distribute: { batchRecords: 100, maxInstances: 2, batchBytes: 0, order: 'input', mode: '' },
      }),
    );
    assert.equal(tiny.summary?.state, JobState.JOB_STATE_SUCCEEDED);
    assert.ok(tiny.output.equals(reference.output), 'the same bytes as the reference run');
    assert.equal((await endedLine('spool-tiny-1'))['partsSent'], 0, 'no batch went through the spool');
    await noPartsLeft();
  });

  it('arrival order through the spool holds every record once', async () => {
    const r = await collect(
      shared,
      spec('spool-arrival-1', {
        distribute: { batchRecords: 1500, maxInstances: 2, batchBytes: 0, order: 'arrival', mode: '' },
      }),
    );
    assert.equal(r.summary?.state, JobState.JOB_STATE_SUCCEEDED);
    const sorted = (b: Buffer) => b.toString().split('\n').filter(Boolean).sort().join('\n');
    assert.equal(sorted(r.output), sorted(reference.output));
    assert.ok(Number((await endedLine('spool-arrival-1'))['partsSent']) > 0);
    await noPartsLeft();
  });

  it('a corrupted part is refused: DATA_LOSS naming the batch, nothing of it delivered, the job cancelled, no part left', async () => {
    let received = 0;
    await assert.rejects(
      (async () => {
        for await (const ev of shared.runJob(spec('spool-corrupt-1'))) if (ev.$case === 'records') received++;
      })(),
      (err: ServiceError) => {
        assert.equal(err.code, status.DATA_LOSS, err.message);
        assert.match(err.details, /spool-corrupt-1: batch 0's records part .* fails its checksum/);
        return true;
      },
    );
    assert.equal(received, 0, 'no chunk of a refused batch reached the caller');
    const job = await waitFor(
      () =>
        shared.getJob('spool-corrupt-1').then(
          (j) => (j.state === JobState.JOB_STATE_CANCELLED ? j : undefined),
          () => undefined,
        ),
      { timeoutMs: 20_000, what: 'the corrupt job recorded as cancelled' },
    );
    assert.match(job.error, /refused batch 0's records/);
    await noPartsLeft();
  });

  it('without a shared spool the part fault never applies: the same job succeeds over the streamed path', async () => {
    const r = await collect(separate, spec('spool-corrupt-2'));
    assert.equal(r.summary?.state, JobState.JOB_STATE_SUCCEEDED);
    assert.ok(r.output.equals(reference.output));
    assert.equal((await endedLine('spool-corrupt-2'))['partsSent'], 0);
  });

  it('a failing job (poison batch) leaves no part behind', async () => {
    await assert.rejects(
      collect(shared, spec('spool-fail-1')),
      (err: ServiceError) => err.code === status.ABORTED && /batch 3/.test(err.details),
    );
    await noPartsLeft();
  });

  it('a cancelled job leaves no part behind', async () => {
    const controller = new AbortController();
    await assert.rejects(
      (async () => {
        for await (const ev of shared.runJob(spec('spool-cancel-1'), { signal: controller.signal }))
          if (ev.$case === 'records') controller.abort();
      })(),
      (err: ServiceError) => err.code === status.CANCELLED,
    );
    await waitFor(
      () =>
        shared.getJob('spool-cancel-1').then(
          (j) => j.state === JobState.JOB_STATE_CANCELLED,
          () => false,
        ),
      { timeoutMs: 20_000, what: 'the job recorded as cancelled' },
    );
    await noPartsLeft();
  });
});
