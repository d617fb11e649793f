// The engine end to end with real processes (issue 4, "Done when"): etcd, config-store on it, a
// coordinator and three executors found through etcd discovery. Results are compared with
// runFlowLocal, the single-process reference run. Executor faults are injected per job id
// (FLOWMESH_FAULTS), so each fault hits only the job made for it.
import assert from 'node:assert/strict';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CoordinatorServiceClient,
  JobState,
  ResourceKind,
  WatchEventType,
  type WatchResponse,
} from '@flowmesh/contracts';
import { AHEAD_PER_SLOT } from '@flowmesh/coordinator';
import { generateOrders, readPartsDirectory, runFlowLocal } from '@flowmesh/flow';
import type { LocalRunResult, ReferenceTableData } from '@flowmesh/flow';
import { callOptions, createClient } from '@flowmesh/runtime';
import { startEtcd, startService, tempDir, waitFor, type EtcdCluster, type RunningService } from '@flowmesh/testing';
import { status } from '@grpc/grpc-js';
import {
  coordinatorCall,
  getExecutorStatus,
  putFileRoot,
  putFlow,
  putTable,
  runJob,
  submitJob,
  watchJob,
  withConfigStore,
  closeStatusClients,
} from './engine-harness.js';
import { executorArgs, loadOrdersExample, PLUGINS, referenceRun, startAllTracked, stopTracked } from './mesh-setup.js';

const TOKEN = 'engine-test-token';
const FAULTS = [
  'corrupt-trailer:batch=3;attempt=1;job=fault-job-1',
  'hang:job=cancel-job-1',
  'hang:job=hangup-job-1',
  'hang:job=heartbeat-job-1;batch=1;attempt=1',
  'fail:job=poison-job-1;batch=2',
  'crash:job=crash-job-1;batch=1;attempt=1',
].join(',');

describe('engine: coordinator and executors (real processes)', function () {
  this.timeout(120_000);
  let etcd: EtcdCluster;
  let dataDir: string;
  let outDir: string;
  const services: RunningService[] = [];
  let coordinator: RunningService;
  const executors: RunningService[] = [];
  let client: CoordinatorServiceClient;
  let ordersFlow: string;
  let table: ReferenceTableData;
  let big: LocalRunResult;
  let small: LocalRunResult;

  const oracle = (flow: string, input: string) => referenceRun(flow, table, dataDir, input);

  before(async function () {
    // Generating 220k orders and the reference runs take a while on a busy 2-core machine.
    this.timeout(300_000);
    dataDir = await tempDir('engine-data');
    outDir = await tempDir('engine-out');
    await writeFile(
      join(dataDir, 'orders-200k.csv'),
      Buffer.concat([...generateOrders({ records: 200_000, seed: 7 })]),
    );
    await writeFile(
      join(dataDir, 'orders-header-only.csv'),
      'order_id,customer,email,country,sku,quantity,unit_price,order_date,note\n',
    );
    await writeFile(join(dataDir, 'orders-20k.csv'), Buffer.concat([...generateOrders({ records: 20_000, seed: 11 })]));
    ({ flow: ordersFlow, table } = await loadOrdersExample());
    [big, small] = await Promise.all([oracle(ordersFlow, 'orders-200k.csv'), oracle(ordersFlow, 'orders-20k.csv')]);

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
      await putFileRoot(cs, 'out', outDir, true);
      await putTable(cs, 'tax-rates', table);
      await putFlow(cs, 'orders', ordersFlow);
      await putFlow(cs, 'orders-stream', streamFlow(ordersFlow));
      await putFlow(
        cs,
        'orders-to-file',
        ordersFlow.replace(
          /sink:\n  type: stream/,
          'sink:\n  type: file\n  root: out\n  path: enriched/%input%.jsonl\n  format: jsonl',
        ),
      );
      await putFlow(
        cs,
        'orders-to-parts',
        ordersFlow.replace(
          /sink:\n  type: stream/,
          'sink:\n  type: file\n  root: out\n  path: parts/%input%\n  format: jsonl\n  layout: parts',
        ),
      );
    });
    executors.push(
      ...(await startAllTracked(
        services,
        [1, 2, 3].map((n) =>
          startService('executor', {
            args: [...mesh, ...executorArgs(`exec-${n}`, dataDir)],
            env: { ...env, FLOWMESH_FAULTS: FAULTS },
            timeoutMs: 60_000,
          }),
        ),
      )),
    );
    coordinator = await startService('coordinator', {
      // A one-batch job is checkpointed once it has run a minute (not 100 ms), so the test of that rule
      // does not depend on how loaded the machine is.
      args: [
        ...mesh,
        '--node-id',
        'coord-1',
        '--heartbeat-timeout-ms',
        '3000',
        '--no-executor-timeout-ms',
        '10000',
        '--checkpoint-after-ms',
        '60000',
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
    // Coordinator first (it holds calls to executors), then executors, config-store, etcd.
    await stopTracked(services, etcd);
  });

  it('returns exactly the reference output of a 200k-record orders job, in input order, with rejects and aggregates', async () => {
    const r = await runJob(client, {
      flow: 'orders',
      vars: { input: 'orders-200k.csv' },
      includeRejects: true,
      distribute: { batchBytes: 1024 * 1024, maxInstances: 6, order: 'input' },
    });
    assert.equal(r.error, undefined, r.error?.message);
    assert.ok(r.output.equals(big.output), 'the JSONL output is byte-identical to the reference run, in input order');
    const job = r.summary!;
    assert.equal(job.state, JobState.JOB_STATE_SUCCEEDED);
    assert.equal(job.progress?.counts?.recordsOut, big.counts.out);
    assert.equal(job.progress?.counts?.recordsRejected, big.counts.rejected);
    assert.ok(big.counts.rejected > 0, 'the generated data has invalid rows');
    assert.deepEqual(
      r.rejects.map((x) => [x.line, x.step, x.reason]).sort(byLine),
      big.rejects.map((x) => [x.line, x.step, x.reason]).sort(byLine),
      "rejects carry the reference run's line numbers and reasons",
    );
    assert.deepEqual((job.aggregates as { rows: unknown[] }).rows, big.aggregates);
    assert.ok(job.progress!.batchesDone > 10, `${job.progress!.batchesDone} batches`);
    assert.ok(job.executors.length >= 2, 'batches were spread over executors');
    assert.equal(
      job.executors.reduce((n, e) => n + e.batches, 0),
      job.progress!.batchesDone,
    );
    assert.ok(r.progress.length > 0, 'progress events were streamed');
  });

  it('returns the same records in arrival order when asked (sorted comparison)', async () => {
    const r = await runJob(client, {
      flow: 'orders',
      vars: { input: 'orders-20k.csv' },
      distribute: { batchRecords: 1000, maxInstances: 3, order: 'arrival' },
    });
    assert.equal(r.error, undefined, r.error?.message);
    assert.deepEqual(sortedLines(r.output), sortedLines(small.output));
    assert.equal(r.summary?.progress?.counts?.recordsOut, small.counts.out);
  });

  it('honours maxInstances and executor slots, queueing more batches than slots', async () => {
    for (const maxInstances of [2, 8]) {
      let peakCoordinator = 0;
      let peakQueued = 0;
      const peakExecutor = new Map<string, number>();
      let done = false;
      const observe = (async () => {
        while (!done) {
          const [load, ...statuses] = await Promise.all([
            coordinatorCall<{ batchesInFlight: number; batchesQueued: number }>(client, 'getLoad', {}),
            ...executors.map((e) => getExecutorStatus(e.address, TOKEN)),
          ]);
          peakCoordinator = Math.max(peakCoordinator, load.batchesInFlight);
          peakQueued = Math.max(peakQueued, load.batchesQueued);
          for (const s of statuses)
            peakExecutor.set(s.executorId, Math.max(peakExecutor.get(s.executorId) ?? 0, s.slotsBusy));
        }
      })();
      const r = await runJob(client, {
        flow: 'orders',
        vars: { input: 'orders-20k.csv' },
        distribute: { batchRecords: 500, maxInstances, order: 'input' },
      });
      done = true;
      await observe;
      assert.equal(r.error, undefined, r.error?.message);
      assert.ok(r.output.equals(small.output));
      // In flight: at most maxInstances, and per slot the batch it runs plus the small batches sent ahead to
      // wait there (send-ahead.ts: these 500-record batches, ~60 KB, are below AHEAD_MAX_BYTES) — yet one
      // running per slot, below.
      const limit = Math.min(maxInstances, 3 * (1 + AHEAD_PER_SLOT));
      assert.ok(peakCoordinator <= limit, `maxInstances ${maxInstances}: peak in flight ${peakCoordinator} > ${limit}`);
      assert.equal(peakCoordinator, limit, `maxInstances ${maxInstances}: the limit is reached`);
      for (const [id, peak] of peakExecutor) assert.ok(peak <= 1, `${id} ran ${peak} batches on 1 slot`);
      assert.ok(peakQueued > 0, 'batches waited in the queue for a slot');
    }
  });

  it('retries a batch whose trailer does not match, and does not accept it', async () => {
    const r = await runJob(client, {
      jobId: 'fault-job-1',
      flow: 'orders',
      vars: { input: 'orders-20k.csv' },
      distribute: { batchRecords: 2000, maxInstances: 3, order: 'input' },
    });
    assert.equal(r.error, undefined, r.error?.message);
    assert.ok(r.output.equals(small.output), 'no record of the corrupted attempt, none lost');
    assert.equal(r.summary?.progress?.batchesRetried, 1);
    assert.equal(r.summary?.progress?.counts?.recordsOut, small.counts.out);
  });

  it('CancelJob stops the batches of the job on every executor', async () => {
    const running = runJob(client, {
      jobId: 'cancel-job-1',
      flow: 'orders',
      vars: { input: 'orders-20k.csv' },
      distribute: { batchRecords: 1000, maxInstances: 8 },
    });
    await waitFor(
      async () => {
        const statuses = await Promise.all(executors.map((e) => getExecutorStatus(e.address, TOKEN)));
        return statuses.every((s) => s.slotsBusy === 1);
      },
      { what: 'every executor busy with the hanging job' },
    );
    const cancelled = await coordinatorCall<{ job: { state: number; error: string } }>(client, 'cancelJob', {
      jobId: 'cancel-job-1',
      reason: 'test cancels',
      actor: 'tester',
    });
    assert.equal(cancelled.job.state, JobState.JOB_STATE_CANCELLED);
    const r = await running;
    assert.equal(r.error?.code, status.CANCELLED);
    assert.match(r.error!.message, /cancel-job-1/);
    await waitFor(
      async () => {
        const statuses = await Promise.all(executors.map((e) => getExecutorStatus(e.address, TOKEN)));
        return statuses.every((s) => s.slotsBusy === 0);
      },
      { what: 'every executor idle after the cancel', timeoutMs: 5000 },
    );
  });

  it('plans a file for the cluster\'s slots (balanced tail) or, when run again, for the slots its first run named', async () => {
    const size = (await stat(join(dataDir, 'orders-20k.csv'))).size;
    // 1 MiB batches: 2 full-size ones; the tail's floor (512 KiB) is below them.
    const batchBytes = 1024 * 1024;
    assert.ok(size > batchBytes && size < 2 * batchBytes, `orders-20k.csv is ${size} bytes`);
    // A first run: planned for the slots of the cluster (more than one), so its last batches shrink.
    const fresh = await runJob(client, { flow: 'orders', vars: { input: 'orders-20k.csv' }, distribute: { batchBytes } });
    assert.equal(fresh.error, undefined, fresh.error?.message);
    assert.ok(fresh.output.equals(small.output));
    assert.ok(fresh.accepted!.planSlots > 1, `planned for ${fresh.accepted!.planSlots} slots`);
    assert.ok(fresh.summary!.progress!.batchesPlanned > 2, `${fresh.summary!.progress!.batchesPlanned} batches for ${fresh.accepted!.planSlots} slots, ${size} bytes`);
    // A run again for one slot (what the gateway sends after a lost coordinator): full-size batches.
    const again = await runJob(client, {
      flow: 'orders',
      vars: { input: 'orders-20k.csv' },
      distribute: { batchBytes },
      planSlots: 1,
    });
    assert.equal(again.error, undefined, again.error?.message);
    assert.ok(again.output.equals(small.output));
    assert.equal(again.accepted!.planSlots, 1);
    assert.equal(again.summary!.progress!.batchesPlanned, 2);
  });

  it('runs a local-mode job inside the coordinator, still in batches', async () => {
    const r = await runJob(client, {
      flow: 'orders',
      vars: { input: 'orders-20k.csv' },
      distribute: { mode: 'local', batchRecords: 3000 },
    });
    assert.equal(r.error, undefined, r.error?.message);
    assert.ok(r.output.equals(small.output));
    assert.ok(r.summary!.progress!.batchesDone >= 7);
    assert.deepEqual(
      r.summary!.executors.map((e) => e.executorId),
      ['coord-1/local'],
    );
  });

  it('writes a file sink atomically: the output appears only when the job succeeds', async () => {
    const r = await runJob(client, {
      flow: 'orders-to-file',
      vars: { input: 'orders-20k.csv' },
      distribute: { batchRecords: 4000 },
    });
    assert.equal(r.error, undefined, r.error?.message);
    assert.equal(r.output.length, 0, 'a file sink streams no records');
    const written = await readFile(join(outDir, 'enriched/orders-20k.csv.jsonl'));
    assert.ok(written.equals(small.output));
    assert.deepEqual(r.summary?.output, { root: 'out', path: 'enriched/orders-20k.csv.jsonl' });
    const left = (await readdir(join(outDir, 'enriched'))).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(left, [], 'no temp file is left');
  });

  it('writes a parts layout sink as a directory of one part per batch, in input order, shown on success', async () => {
    // These executors do not list the `out` root: the coordinator writes each batch's part from its records
    // (the executor-written path runs in the chaos suite's file-sink scenarios).
    const r = await runJob(client, {
      flow: 'orders-to-parts',
      vars: { input: 'orders-20k.csv' },
      distribute: { batchRecords: 4000 },
    });
    assert.equal(r.error, undefined, r.error?.message);
    assert.deepEqual(r.summary?.output, { root: 'out', path: 'parts/orders-20k.csv' });
    const dir = join(outDir, 'parts/orders-20k.csv');
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, ['part-000000.jsonl', 'part-000001.jsonl', 'part-000002.jsonl', 'part-000003.jsonl', 'part-000004.jsonl']);
    assert.ok((await readPartsDirectory(dir)).equals(small.output));
    assert.deepEqual((await readdir(join(outDir, 'parts'))).sort(), ['orders-20k.csv', 'orders-20k.csv.rejects.jsonl']);
  });

  it('runs a burst-mode job over input streamed in the call, batched by record count', async () => {
    const bytes = await readFile(join(dataDir, 'orders-20k.csv'));
    const input = [];
    // Chunks cut at arbitrary places: records (and quoted newlines) straddle them.
    for (let at = 0; at < bytes.length; at += 65_521)
      input.push({ data: bytes.subarray(at, at + 65_521), records: [] });
    const r = await runJob(
      client,
      { flow: 'orders-stream', includeRejects: true, distribute: { batchRecords: 2500 } },
      { input },
    );
    assert.equal(r.error, undefined, r.error?.message);
    const expected = await runFlowLocal(streamFlow(ordersFlow), {
      input: bytes,
      referenceTables: { 'tax-rates': table },
    });
    assert.ok(r.output.equals(expected.output));
    assert.deepEqual(
      r.rejects.map((x) => x.line).sort((a, b) => a - b),
      expected.rejects.map((x) => x.line).sort((a, b) => a - b),
    );
    assert.equal(r.summary?.progress?.batchesDone, 8);
  });

  it('fails an attempt whose executor stops heartbeating and retries it elsewhere', async () => {
    const r = await runJob(client, {
      jobId: 'heartbeat-job-1',
      flow: 'orders',
      vars: { input: 'orders-20k.csv' },
      distribute: { batchRecords: 5000, maxInstances: 3 },
    });
    assert.equal(r.error, undefined, r.error?.message);
    assert.ok(r.output.equals(small.output));
    assert.equal(r.summary?.progress?.batchesRetried, 1);
  });

  it('quarantines a poison batch after its retry budget and fails the job with a report naming batch and byte range', async () => {
    const r = await runJob(client, {
      jobId: 'poison-job-1',
      flow: 'orders',
      vars: { input: 'orders-20k.csv' },
      distribute: { batchRecords: 2000, maxInstances: 3 },
    });
    assert.equal(r.error?.code, status.ABORTED, r.error?.message);
    assert.match(r.error!.message, /poison-job-1 failed: batch 2 \(bytes \d+\.\.\d+\) failed after 4 attempts/);
    const watched = await watchJob(client, 'poison-job-1');
    const job = watched.summary!;
    assert.equal(job.state, JobState.JOB_STATE_FAILED);
    assert.equal(job.failures.length, 1);
    assert.equal(job.failures[0]!.batchIndex, 2);
    assert.equal(job.failures[0]!.attempts, 4);
    assert.ok(job.failures[0]!.length > 0);
    assert.equal(job.failures[0]!.errors.length, 4);
  });

  it('runs a detached job (SubmitJob) that WatchJob follows to its summary', async () => {
    const accepted = await submitJob(client, {
      flow: 'orders-to-file',
      jobId: 'submitted-1',
      vars: { input: 'orders-20k.csv' },
      progressIntervalMs: 20,
      distribute: { batchRecords: 2000, maxInstances: 2 },
    });
    assert.equal(accepted.accepted.jobId, 'submitted-1');
    const watched = await watchJob(client, 'submitted-1');
    assert.equal(watched.summary?.state, JobState.JOB_STATE_SUCCEEDED);
    assert.ok(watched.progress.length > 0);
    const written = await readFile(join(outDir, 'enriched/orders-20k.csv.jsonl'));
    assert.ok(written.equals(small.output));
    // The same client-chosen id again: the job it names, not a second run.
    const again = await submitJob(client, {
      flow: 'orders-to-file',
      jobId: 'submitted-1',
      vars: { input: 'orders-20k.csv' },
    });
    assert.equal(again.accepted.jobId, 'submitted-1');
    const rewatched = await watchJob(client, 'submitted-1');
    assert.equal(
      rewatched.summary?.finishedAt?.getTime(),
      watched.summary?.finishedAt?.getTime(),
      'not run a second time',
    );
  });

  it('cancels the job on every executor when the caller hangs up', async () => {
    const controller = new AbortController();
    const running = runJob(
      client,
      {
        jobId: 'hangup-job-1',
        flow: 'orders',
        vars: { input: 'orders-20k.csv' },
        distribute: { batchRecords: 1000, maxInstances: 8 },
      },
      { signal: controller.signal },
    );
    await waitFor(
      async () => {
        const statuses = await Promise.all(executors.map((e) => getExecutorStatus(e.address, TOKEN)));
        return statuses.every((s) => s.slotsBusy === 1);
      },
      { what: 'every executor busy with the hanging job' },
    );
    controller.abort();
    const r = await running;
    assert.equal(r.error?.code, status.CANCELLED);
    await waitFor(
      async () => {
        const statuses = await Promise.all(executors.map((e) => getExecutorStatus(e.address, TOKEN)));
        return statuses.every((s) => s.slotsBusy === 0);
      },
      { what: 'every executor idle after the hang-up', timeoutMs: 5000 },
    );
    const watched = await waitFor(
      async () => {
        const w = await watchJob(client, 'hangup-job-1');
        return w.summary?.state === JobState.JOB_STATE_CANCELLED ? w : undefined;
      },
      { what: 'the job recorded as cancelled' },
    );
    assert.match(watched.summary!.error, /hung up/);
  });

  it('writes only the final record of a short one-batch streamed job; a two-batch job is checkpointed and its checkpoint removed', async () => {
    await writeFile(join(dataDir, 'orders-500.csv'), Buffer.concat([...generateOrders({ records: 500, seed: 5 })]));
    const events: Array<{ kind: string; type: string; name: string; state?: JobState }> = [];
    const watch = await withConfigStore(services[0]!.address, TOKEN, async (cs) => {
      const stream = cs.watch(
        {
          kinds: [ResourceKind.RESOURCE_KIND_JOB, ResourceKind.RESOURCE_KIND_CHECKPOINT],
          prefix: '',
          startRevision: 0,
        },
        callOptions({ timeoutMs: 60_000 }),
      );
      const created = new Promise<void>((resolve) =>
        stream.on('data', (res: WatchResponse) => {
          if (res.created) resolve();
          for (const e of res.events) {
            const r = e.resource!;
            events.push({
              kind: ResourceKind[r.kind],
              type: WatchEventType[e.type],
              name: r.name,
              ...(r.spec?.$case === 'job' ? { state: r.spec.job.state } : {}),
            });
          }
        }),
      );
      stream.on('error', () => undefined);
      await created;
      const one = await runJob(client, {
        flow: 'orders',
        vars: { input: 'orders-500.csv' },
        distribute: { batchBytes: 4 * 1024 * 1024 },
      });
      const two = await runJob(client, {
        flow: 'orders',
        vars: { input: 'orders-20k.csv' },
        distribute: { batchBytes: 1024 * 1024 },
      });
      // The checkpoint goes after the summary: wait for its removal.
      await waitFor(() => events.some((e) => e.name === two.accepted?.jobId && e.type === 'WATCH_EVENT_TYPE_DELETE'), {
        what: 'the two-batch job checkpoint removed',
      });
      stream.cancel();
      return { one, two };
    });
    assert.equal(watch.one.summary?.state, JobState.JOB_STATE_SUCCEEDED);
    assert.equal(watch.one.summary?.progress?.batchesPlanned, 1);
    // Its records are sent while the final record is written, before the summary.
    assert.equal(
      watch.one.output.toString('utf8').split('\n').filter(Boolean).length,
      watch.one.summary?.progress?.counts?.recordsOut,
    );
    assert.ok(watch.one.summary!.progress!.counts!.recordsOut > 400);
    const ofOne = events.filter((e) => e.name === watch.one.accepted!.jobId);
    assert.deepEqual(ofOne, [
      {
        kind: 'RESOURCE_KIND_JOB',
        type: 'WATCH_EVENT_TYPE_PUT',
        name: watch.one.accepted!.jobId,
        state: JobState.JOB_STATE_SUCCEEDED,
      },
    ]);
    assert.equal(watch.two.summary?.state, JobState.JOB_STATE_SUCCEEDED);
    assert.ok(watch.two.summary!.progress!.batchesPlanned >= 2);
    const ofTwo = events.filter((e) => e.name === watch.two.accepted!.jobId);
    const checkpointPuts = ofTwo.filter(
      (e) => e.kind === 'RESOURCE_KIND_CHECKPOINT' && e.type === 'WATCH_EVENT_TYPE_PUT',
    );
    assert.ok(checkpointPuts.length >= 1, JSON.stringify(ofTwo));
    assert.ok(
      ofTwo.some((e) => e.state === JobState.JOB_STATE_RUNNING),
      'the running record is written',
    );
    assert.equal(ofTwo.filter((e) => e.kind === 'RESOURCE_KIND_JOB').at(-1)?.state, JobState.JOB_STATE_SUCCEEDED);
  });

  it('ends a job over a header-only file with a summary and no records', async () => {
    const r = await runJob(client, { flow: 'orders', vars: { input: 'orders-header-only.csv' } });
    assert.equal(r.error, undefined, r.error?.message);
    assert.equal(r.output.length, 0);
    assert.equal(r.summary?.state, JobState.JOB_STATE_SUCCEEDED);
    assert.equal(r.summary?.progress?.batchesPlanned, 0);
    assert.equal(r.summary?.progress?.planningDone, true);
  });

  it('refuses a job before it starts, naming what is wrong', async () => {
    const unknownFlow = await runJob(client, { flow: 'no-such-flow' });
    assert.equal(unknownFlow.error?.code, status.NOT_FOUND);
    assert.equal(unknownFlow.accepted, undefined);
    const badVar = await runJob(client, { flow: 'orders', vars: { nope: 'x' } });
    assert.equal(badVar.error?.code, status.INVALID_ARGUMENT);
    assert.match(badVar.error!.message, /spec\.vars: unknown variable "nope"/);
    const missing = await runJob(client, { flow: 'orders', vars: { input: 'missing.csv' } });
    assert.equal(missing.error?.code, status.NOT_FOUND);
    const escape = await runJob(client, { flow: 'orders', vars: { input: '../etc/passwd' } });
    assert.equal(escape.error?.code, status.INVALID_ARGUMENT);
  });

  // Last: it kills one of the executors for good.
  it('retries the batch of an executor killed mid-batch on another one, losing and duplicating nothing', async () => {
    const exited: number[] = [];
    for (const e of executors) void e.exited.then(() => exited.push(e.pid));
    const r = await runJob(client, {
      jobId: 'crash-job-1',
      flow: 'orders',
      vars: { input: 'orders-20k.csv' },
      distribute: { batchRecords: 2000, maxInstances: 3 },
    });
    assert.equal(r.error, undefined, r.error?.message);
    assert.ok(r.output.equals(small.output));
    assert.ok((r.summary?.progress?.batchesRetried ?? 0) >= 1);
    await waitFor(() => exited.length === 1, { what: 'the executor that crashed itself as told', timeoutMs: 5000 });
  });
});

/** The orders flow reading records streamed in the RunJob call (burst mode), batched by record count. */
function streamFlow(flow: string): string {
  return flow
    .replace(/source:\n(  .*\n)+/, 'source:\n  type: stream\n  format: csv\n')
    .replace(/batch: \{ bytes: \d+ \}/, 'batch: { records: 2500 }');
}

function byLine(a: unknown[], b: unknown[]): number {
  return (a[0] as number) - (b[0] as number) || String(a[1]).localeCompare(String(b[1]));
}

function sortedLines(b: Buffer): string[] {
  return b.toString('utf8').split('\n').filter(Boolean).sort();
}
