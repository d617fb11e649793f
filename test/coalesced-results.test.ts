// Coalesced results (issue 7, target 4) in a real mesh: config-store, two coordinators, two executors and
// a gateway as processes. A caller that opts in (@flowmesh/client's default) gets several small batches per
// message and exactly the output of a caller that did not (the old style: one message per batch) and of the
// single-process reference — in input order with rejects, and in arrival order; when the job's coordinator
// is killed mid-job, the re-attached stream still holds every record once, in order.
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { JobServiceClient, JobState, type RunJobRequest, type RunJobResponse } from '@flowmesh/contracts';
import { createClient as createGrpcClient } from '@flowmesh/runtime';
import { Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import {
  createClient,
  type FlowmeshClient,
  type JobSpecInput,
  type RunJobEvent,
  type RunJobOptions,
} from '@flowmesh/client';
import { generateOrders } from '@flowmesh/flow';
import { startService, tempDir, waitFor, type RunningService } from '@flowmesh/testing';
import {
  dataRoot,
  executorArgs,
  loadOrdersExample,
  referenceRun,
  startAllTracked,
  startFileMesh,
  taxRatesTable,
} from './mesh-setup.js';
import type { LocalRunResult } from '@flowmesh/flow';

const TOKEN = 'coalesced-results-test-token';
const ADMIN_KEY = 'coalesced-results-test-admin-key-0123456789abcdef';

describe('coalesced results through the gateway (issue 7, target 4)', function () {
  this.timeout(180_000);
  const services: RunningService[] = [];
  const coordinators = new Map<string, RunningService>();
  let client: FlowmeshClient;
  let gatewayAddress = '';
  let reference: LocalRunResult;
  let reference40k: LocalRunResult;

  const spec = (jobId: string, order: 'input' | 'arrival', input = 'orders-3k.csv'): JobSpecInput => ({
    flow: 'orders',
    jobId,
    vars: { input },
    includeRejects: true,
    distribute: { batchRecords: 10, maxInstances: 2, batchBytes: 0, order, mode: '' },
  });

  async function collect(s: JobSpecInput, opts: RunJobOptions = {}, onEvent?: (ev: RunJobEvent) => void) {
    const out: Buffer[] = [];
    const rejectLines: number[] = [];
    let recordsEvents = 0;
    let summary: JobState | undefined;
    for await (const ev of client.runJob(s, opts)) {
      onEvent?.(ev);
      if (ev.$case === 'records') {
        recordsEvents++;
        out.push(Buffer.from(ev.records.data));
      }
      if (ev.$case === 'rejects') rejectLines.push(...ev.rejects.rejects.map((r) => Number(r.line)));
      if (ev.$case === 'summary') summary = ev.summary.job?.state;
    }
    return { output: Buffer.concat(out), rejectLines, recordsEvents, summary };
  }

  before(async () => {
    const dir = await tempDir('coalesced-results');
    const data = join(dir, 'data');
    await mkdir(data);
    await writeFile(join(data, 'orders-3k.csv'), Buffer.concat([...generateOrders({ records: 3_000, seed: 21 })]));
    await writeFile(join(data, 'orders-40k.csv'), Buffer.concat([...generateOrders({ records: 40_000, seed: 22 })]));
    const env = { FLOWMESH_CLUSTER_TOKEN: TOKEN };
    const { mesh, store } = await startFileMesh(dir, env, services);
    const withStore = [...mesh, '--config-store', store.address];
    const { flow, table } = await loadOrdersExample();
    reference = await referenceRun(flow, table, data, 'orders-3k.csv');
    reference40k = await referenceRun(flow, table, data, 'orders-40k.csv');
    const started = await startAllTracked(services, [
      ...['coal-a', 'coal-b'].map((id) =>
        startService('coordinator', {
          args: [...withStore, '--node-id', id, '--heartbeat-timeout-ms', '1500'],
          env,
          timeoutMs: 60_000,
        }),
      ),
      ...[1, 2].map((n) =>
        startService('executor', { args: [...withStore, ...executorArgs(`exec-${n}`, data)], env, timeoutMs: 60_000 }),
      ),
    ]);
    coordinators.set('coal-a', started[0]!);
    coordinators.set('coal-b', started[1]!);
    const [gateway] = await startAllTracked(services, [
      startService('gateway', { args: withStore, env: { ...env, FLOWMESH_ADMIN_KEY: ADMIN_KEY }, timeoutMs: 60_000 }),
    ]);
    gatewayAddress = gateway!.address;
    client = createClient(gatewayAddress, { apiKey: ADMIN_KEY });
    await waitFor(() => client.whoAmI().then((w) => w.user === 'admin'), { timeoutMs: 30_000, what: 'the admin key' });
    await client.putResource(dataRoot(data));
    await client.putResource(taxRatesTable(table));
    await client.putFlow('orders', flow);
    await waitFor(
      () =>
        client
          .listNodes()
          .then((n) => n.filter((x) => x.kind === 2).length === 2 && n.filter((x) => x.kind === 3).length === 2),
      { timeoutMs: 30_000, what: 'both coordinators and both executors in discovery' },
    );
  });

  after(async () => {
    client?.close();
    for (const s of services.reverse()) await s.stop('SIGTERM', { timeoutMs: 5000 });
  });

  it('input order with rejects: the same output and rejects as an old-style caller and the reference, in far fewer messages', async () => {
    const coalesced = await collect(spec('coal-input-1', 'input'));
    const old = await collect(spec('coal-input-2', 'input'), { coalesceBatches: false });
    assert.equal(coalesced.summary, JobState.JOB_STATE_SUCCEEDED);
    assert.equal(old.summary, JobState.JOB_STATE_SUCCEEDED);
    assert.ok(old.output.equals(reference.output), 'the old-style caller gets the reference output');
    assert.ok(coalesced.output.equals(old.output), 'byte for byte the same output');
    assert.deepEqual(coalesced.rejectLines, old.rejectLines, 'the same rejects, in the same order');
    assert.ok(coalesced.rejectLines.length > 0, 'the data has rejects');
    // 300 batches: an old-style caller gets one records message per batch with output.
    assert.ok(old.recordsEvents >= 250, `old style: ${old.recordsEvents} records messages`);
    assert.ok(
      coalesced.recordsEvents < old.recordsEvents,
      `coalesced: ${coalesced.recordsEvents} records messages (old style ${old.recordsEvents})`,
    );
  });

  it('on the wire: a RunJob without coalesce_batches (any client older than it) never gets a coalesced message; with it, it does', async () => {
    // The generated grpc-js client and codec, as a client written before the field existed would use.
    const raw = createGrpcClient(JobServiceClient, gatewayAddress, { apiKey: ADMIN_KEY });
    const kinds = async (jobId: string, coalesceBatches: boolean) => {
      const call: ClientDuplexStream<RunJobRequest, RunJobResponse> = raw.runJob(new Metadata());
      const s = spec(jobId, 'input');
      call.write({
        msg: {
          $case: 'start',
          start: {
            flow: s.flow,
            flowRevision: 0,
            vars: s.vars ?? {},
            jobId,
            encoding: 0,
            includeRejects: false,
            progressIntervalMs: 0,
            distribute: s.distribute,
            submittedBy: '',
            coalesceBatches,
            planSlots: 0,
          },
        },
      });
      call.end();
      const seen = new Map<string, number>();
      for await (const res of call as AsyncIterable<RunJobResponse>) {
        const k = res.msg?.$case ?? 'none';
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
      return seen;
    };
    try {
      const old = await kinds('coal-raw-1', false);
      assert.equal(old.get('coalesced'), undefined, 'no coalesced message for a caller that did not ask');
      assert.ok((old.get('records') ?? 0) >= 250, `one records message per batch (${old.get('records')})`);
      assert.equal(old.get('summary'), 1);
      const opted = await kinds('coal-raw-2', true);
      assert.ok((opted.get('coalesced') ?? 0) > 0, 'coalesced messages for a caller that asked');
      assert.equal(opted.get('summary'), 1);
    } finally {
      raw.close();
    }
  });

  it('arrival order: every record once, as for an old-style caller', async () => {
    const sorted = (b: Buffer) => b.toString().split('\n').filter(Boolean).sort().join('\n');
    const coalesced = await collect(spec('coal-arrival-1', 'arrival'));
    assert.equal(coalesced.summary, JobState.JOB_STATE_SUCCEEDED);
    assert.equal(sorted(coalesced.output), sorted(reference.output));
    assert.deepEqual(
      [...coalesced.rejectLines].sort((a, b) => a - b),
      [...(await collect(spec('coal-arrival-2', 'arrival'), { coalesceBatches: false })).rejectLines].sort(
        (a, b) => a - b,
      ),
    );
  });

  it('the coordinator killed mid-job: the re-attached stream holds every record once, in input order', async () => {
    let owner = '';
    let records = 0;
    const result = await collect(
      { ...spec('coal-kill-1', 'input', 'orders-40k.csv'), includeRejects: false },
      {},
      (ev) => {
        if (ev.$case === 'accepted') owner = ev.accepted.coordinatorId;
        // Well into the job (several coalesced messages received), kill the coordinator that runs it.
        if (ev.$case === 'records' && ++records === 10) coordinators.get(owner)!.kill('SIGKILL');
      },
    );
    assert.ok(records > 10, 'records arrived after the kill');
    // 4,000 batches: the re-attached stream (WatchJob with coalesce_batches) is coalesced too.
    assert.ok(records < 2000, `${records} records messages for 4,000 batches`);
    assert.equal(result.summary, JobState.JOB_STATE_SUCCEEDED);
    assert.equal(result.output.length, reference40k.output.length, 'every record once');
    assert.ok(result.output.equals(reference40k.output), 'the reference output, in input order');
  });
});
