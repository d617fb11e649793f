// The local hand-off (issue 7 target 1) in a real mesh: config-store, a coordinator, two executors writing
// into one spool, a gateway sharing it and a gateway with a spool of its own. A client that proves it shares
// the spool (its id) reads the parts itself: the same bytes in the same order as the streamed path; a
// corrupt part is DATA_LOSS before any of its batch is delivered; a reader that does not ack holds the job
// at the coordinator's part window (the spool stays bounded); a failed or cancelled job leaves no part; a
// caller with another spool's id, or with the option off, gets the records as bytes.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  JobServiceClient,
  JobState,
  type LocalPart,
  type RunJobRequest,
  type RunJobResponse,
} from '@flowmesh/contracts';
import {
  createClient,
  LocalPartError,
  type FlowmeshClient,
  type JobSpecInput,
  type RunJobOptions,
  toJobSpec,
} from '@flowmesh/client';
import { generateOrders, type LocalRunResult } from '@flowmesh/flow';
import {
  CALLER_SPOOL_ID_METADATA_KEY,
  createClient as createGrpcClient,
  SPOOL_DIR_METADATA_KEY,
  spoolIdentity,
} from '@flowmesh/runtime';
import { startService, tempDir, waitFor, type RunningService } from '@flowmesh/testing';
import { Metadata, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
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

const TOKEN = 'local-handoff-test-token';
const ADMIN_KEY = 'local-handoff-test-admin-key-0123456789abcdef';
const FAULTS = 'corrupt-part:job=local-corrupt-1,fail:job=local-fail-1;batch=3';
/** The coordinator's window of unconfirmed parts (services/coordinator/src/run-job.ts PART_WINDOW). */
const PART_WINDOW = 4;

/** A RunJob call without @flowmesh/client, to see the messages themselves (local parts or records). */
function rawRunJob(jobs: JobServiceClient, spoolId: string | undefined, spec: JobSpecInput) {
  const md = new Metadata();
  if (spoolId) md.set(CALLER_SPOOL_ID_METADATA_KEY, spoolId);
  const call = jobs.runJob(md) as ClientDuplexStream<RunJobRequest, RunJobResponse>;
  call.on('error', () => {});
  const headers = new Promise<Metadata>((resolve) => call.once('metadata', resolve));
  call.write({ msg: { $case: 'start', start: toJobSpec(spec) } });
  const it = (call as AsyncIterable<RunJobResponse>)[Symbol.asyncIterator]();
  return {
    call,
    headers,
    next: async () => (await it.next()).value as RunJobResponse | undefined,
    ack: (batchIndex: number) => call.write({ msg: { $case: 'ack', ack: { batchIndex } } }),
  };
}

describe('local hand-off of spooled results to a client on the same machine (issue 7)', function () {
  this.timeout(180_000);
  const services: RunningService[] = [];
  let local: FlowmeshClient;
  let off: FlowmeshClient;
  let foreign: FlowmeshClient;
  let separate: FlowmeshClient;
  let jobs: JobServiceClient;
  let spool: string;
  let otherSpool: string;
  let reference: LocalRunResult;

  const spec = (jobId: string, batchRecords = 2000): JobSpecInput => ({
    flow: 'orders',
    jobId,
    vars: { input: 'orders-20k.csv' },
    distribute: { batchRecords, maxInstances: 2, batchBytes: 0, order: 'input', mode: '' },
  });

  async function collect(client: FlowmeshClient, s: JobSpecInput, opts: RunJobOptions = {}) {
    const parts: Buffer[] = [];
    const layout: string[] = [];
    // Which batches' records came in each ArrayBuffer (borrowed buffers are reused part after part).
    const batchesByMemory = new Map<ArrayBufferLike, Set<number>>();
    let state: JobState | undefined;
    for await (const ev of client.runJob(s, opts)) {
      if (ev.$case === 'records') {
        parts.push(Buffer.from(ev.records.data)); // a copy: borrowed data is valid until the next event only
        layout.push(`${ev.records.batchIndex}/${ev.records.seq}/${ev.records.recordCount}`);
        const batches = batchesByMemory.get(ev.records.data.buffer) ?? new Set<number>();
        batchesByMemory.set(ev.records.data.buffer, batches.add(ev.records.batchIndex));
      }
      if (ev.$case === 'summary') state = ev.summary.job!.state;
    }
    return { output: Buffer.concat(parts), layout, state, batchesByMemory };
  }

  const noPartsLeft = () => spoolEmptied(spool);

  before(async () => {
    const dir = await tempDir('local-handoff');
    const data = join(dir, 'data');
    spool = join(dir, 'spool');
    otherSpool = join(dir, 'other-spool');
    await mkdir(data);
    await writeFile(join(data, 'orders-20k.csv'), Buffer.concat([...generateOrders({ records: 20_000, seed: 12 })]));
    const env = { FLOWMESH_CLUSTER_TOKEN: TOKEN };
    const { mesh, store } = await startFileMesh(dir, env, services);
    const withStore = [...mesh, '--config-store', store.address];
    const { flow, table } = await loadOrdersExample();
    reference = await referenceRun(flow, table, data, 'orders-20k.csv');
    await startAllTracked(services, [
      startService('coordinator', { args: [...withStore, '--node-id', 'coord-1'], env, timeoutMs: 60_000 }),
      ...[1, 2].map((n) =>
        startService('executor', {
          args: [...withStore, ...executorArgs(`exec-${n}`, data), '--spool-dir', spool],
          env: { ...env, FLOWMESH_FAULTS: FAULTS },
          timeoutMs: 60_000,
        }),
      ),
    ]);
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
    local = createClient(a!.address, { apiKey: ADMIN_KEY, spoolDir: spool });
    off = createClient(a!.address, { apiKey: ADMIN_KEY, spoolDir: 'off' });
    foreign = createClient(a!.address, { apiKey: ADMIN_KEY, spoolDir: otherSpool });
    separate = createClient(b!.address, { apiKey: ADMIN_KEY, spoolDir: otherSpool });
    jobs = createGrpcClient(JobServiceClient, a!.address, { apiKey: ADMIN_KEY });
    await waitFor(() => local.whoAmI().then((w) => w.user === 'admin'), { timeoutMs: 30_000, what: 'the admin key' });
    await local.putResource(dataRoot(data));
    await local.putResource(taxRatesTable(table));
    await local.putFlow('orders', flow);
    await waitFor(() => local.listNodes().then((n) => n.filter((x) => x.kind === 3).length === 2), {
      timeoutMs: 30_000,
      what: 'both executors in discovery',
    });
  });

  after(async () => {
    for (const c of [local, off, foreign, separate]) c?.close();
    jobs?.close();
    for (const s of services.reverse()) await s.stop('SIGTERM', { timeoutMs: 5000 });
  });

  it('a caller proving the spool gets part references in its call directory, one with another id gets bytes', async () => {
    const proven = rawRunJob(jobs, await spoolIdentity(spool), spec('local-raw-1'));
    const callDir = (await proven.headers).get(SPOOL_DIR_METADATA_KEY)[0];
    assert.equal(typeof callDir, 'string');
    const kinds = new Set<string>();
    for (let m = await proven.next(); m; m = await proven.next()) {
      kinds.add(m.msg!.$case);
      if (m.msg?.$case === 'localPart') {
        assert.match(m.msg.localPart.path, /^[^/]+\.jsonl$/, 'relative to the call directory');
        assert.ok((await readdir(join(spool, callDir as string))).includes(m.msg.localPart.path));
        proven.ack(m.msg.localPart.batchIndex);
      }
      if (m.msg?.$case === 'summary') break;
    }
    proven.call.end();
    assert.ok(kinds.has('localPart') && !kinds.has('records'), [...kinds].join());

    const other = rawRunJob(jobs, await spoolIdentity(otherSpool), spec('local-raw-2'));
    assert.equal((await other.headers).get(SPOOL_DIR_METADATA_KEY).length, 0, 'no directory named to a foreign spool');
    const otherKinds = new Set<string>();
    for (let m = await other.next(); m; m = await other.next()) {
      otherKinds.add(m.msg!.$case);
      if (m.msg?.$case === 'summary') break;
    }
    other.call.end();
    assert.ok(otherKinds.has('records') && !otherKinds.has('localPart'), [...otherKinds].join());
    await noPartsLeft();
  });

  it('the client reads parts itself: the same records, chunks and order as every streamed path', async () => {
    const handedOff = await collect(local, spec('local-same-1'));
    assert.equal(handedOff.state, JobState.JOB_STATE_SUCCEEDED);
    assert.ok(handedOff.output.equals(reference.output), 'equal to the reference run byte for byte');
    for (const [name, client] of [
      ['option off', off],
      ['foreign spool', foreign],
      ['gateway with another spool', separate],
    ] as const) {
      const r = await collect(client, spec(`local-same-${name.replace(/ /g, '-')}`));
      assert.equal(r.state, JobState.JOB_STATE_SUCCEEDED, name);
      assert.ok(r.output.equals(handedOff.output), `${name}: the same bytes`);
      assert.deepEqual(r.layout, handedOff.layout, `${name}: the same chunks in the same order`);
    }
    await noPartsLeft();
  });

  it('a caller that borrows buffers gets the same records and chunks, read part after part into reused memory', async () => {
    const owned = await collect(local, spec('local-owned-1'));
    const borrowed = await collect(local, spec('local-borrowed-1'), { borrowBuffers: true });
    const again = await collect(local, spec('local-borrowed-2'), { borrowBuffers: true });
    assert.equal(borrowed.state, JobState.JOB_STATE_SUCCEEDED);
    assert.ok(borrowed.output.equals(owned.output), 'the same bytes');
    assert.deepEqual(borrowed.layout, owned.layout, 'the same chunks in the same order');
    const batches = new Set(borrowed.layout.map((l) => l.split('/')[0]));
    assert.ok(batches.size > 2, `a job of several parts (${batches.size})`);
    assert.ok(
      [...borrowed.batchesByMemory.values()].some((b) => b.size > 1),
      'the parts of several batches were read into one memory area',
    );
    assert.ok(again.output.equals(owned.output), 'the next borrowing call: the same bytes');
    assert.ok(
      [...again.batchesByMemory.keys()].some((m) => borrowed.batchesByMemory.has(m)),
      "the client's next call read into the area the first one left (it ended after its summary)",
    );
    await noPartsLeft();
  });

  it('a corrupted part is DATA_LOSS naming the batch, nothing of it delivered, the job cancelled, no part left', async () => {
    let received = 0;
    await assert.rejects(
      (async () => {
        for await (const ev of local.runJob(spec('local-corrupt-1'))) if (ev.$case === 'records') received++;
      })(),
      (err: ServiceError) => {
        assert.ok(err instanceof LocalPartError, 'the client refused the part it read (not the gateway)');
        assert.equal(err.code, status.DATA_LOSS, err.message);
        assert.match(err.details, /local-corrupt-1: batch 0's records part .* fails its checksum/);
        return true;
      },
    );
    assert.equal(received, 0, 'no chunk of a refused batch reached the caller');
    await waitFor(
      () =>
        local.getJob('local-corrupt-1').then(
          (j) => j.state === JobState.JOB_STATE_CANCELLED,
          () => false,
        ),
      { timeoutMs: 20_000, what: 'the corrupt job recorded as cancelled' },
    );
    await noPartsLeft();
  });

  it('a reader that does not ack holds the job at the part window; acks let it finish', async () => {
    // 40 batches of 500 records; progress every 50 ms shows the job is alive while it waits.
    const s = { ...spec('local-slow-1', 500), progressIntervalMs: 50 };
    const slow = rawRunJob(jobs, await spoolIdentity(spool), s);
    const callDir = join(spool, (await slow.headers).get(SPOOL_DIR_METADATA_KEY)[0] as string);
    const parts: number[] = [];
    let progressAfterWindow = 0;
    let m: RunJobResponse | undefined;
    while (progressAfterWindow < 20 && (m = await slow.next())) {
      if (m.msg?.$case === 'localPart') parts.push(m.msg.localPart.batchIndex);
      if (m.msg?.$case === 'progress' && parts.length >= PART_WINDOW) progressAfterWindow++;
      assert.notEqual(m.msg?.$case, 'summary', 'the job cannot end while its parts are unconfirmed');
    }
    // ~1 s of progress after the window filled: no fifth part, and only a few batches' parts on disk.
    assert.deepEqual(parts, [0, 1, 2, 3]);
    const onDisk = (await readdir(callDir)).length;
    assert.ok(onDisk <= PART_WINDOW + 6, `${onDisk} files in the call directory of a 40-batch job`);
    slow.ack(0);
    while ((m = await slow.next()) && m.msg?.$case !== 'localPart');
    assert.equal(m?.msg?.$case === 'localPart' && m.msg.localPart.batchIndex, 4, 'one ack lets one more part through');
    for (const b of [1, 2, 3, 4]) slow.ack(b);
    let records = 0;
    for (m = await slow.next(); m && m.msg?.$case !== 'summary'; m = await slow.next()) {
      if (m.msg?.$case === 'localPart') {
        records += m.msg.localPart.records;
        slow.ack(m.msg.localPart.batchIndex);
      }
    }
    slow.call.end();
    assert.equal(m?.msg?.$case, 'summary');
    assert.equal(m.msg.summary.job?.state, JobState.JOB_STATE_SUCCEEDED);
    assert.ok(records > 0);
    await noPartsLeft();
  });

  it('parts sent before the summary stay until the caller acks them; then the call ends and they go', async () => {
    const raw = rawRunJob(jobs, await spoolIdentity(spool), spec('local-tail-1', 1000));
    const callDir = join(spool, (await raw.headers).get(SPOOL_DIR_METADATA_KEY)[0] as string);
    const ended = new Promise<{ code: status }>((resolve) => raw.call.once('status', resolve));
    // Two parts kept unacked at any time (the window is 4, so the job goes on): the last two at the summary.
    const unacked: LocalPart[] = [];
    let m: RunJobResponse | undefined;
    while ((m = await raw.next()) && m.msg?.$case !== 'summary') {
      if (m.msg?.$case !== 'localPart') continue;
      unacked.push(m.msg.localPart);
      if (unacked.length > 2) raw.ack(unacked.shift()!.batchIndex);
    }
    assert.equal(m?.msg?.$case, 'summary');
    assert.equal(unacked.length, 2);
    // The gateway used to close the call, and remove its directory, right after the summary.
    const early = await Promise.race([ended, new Promise((r) => setTimeout(() => r('open'), 1000))]);
    assert.equal(early, 'open', 'the call waits for the last acks');
    for (const p of unacked) {
      const bytes = await readFile(join(callDir, p.path));
      assert.equal(bytes.length, p.bytes, `part ${p.path} still whole after the summary`);
      raw.ack(p.batchIndex);
    }
    assert.equal((await ended).code, status.OK);
    raw.call.end();
    await noPartsLeft();
  });

  it('a failing job and a cancelled job leave no part behind', async () => {
    await assert.rejects(
      collect(local, spec('local-fail-1')),
      (err: ServiceError) => err.code === status.ABORTED && /batch 3/.test(err.details),
    );
    await noPartsLeft();
    const controller = new AbortController();
    await assert.rejects(
      (async () => {
        for await (const ev of local.runJob(spec('local-cancel-1'), { signal: controller.signal }))
          if (ev.$case === 'records') controller.abort();
      })(),
      (err: ServiceError) => err.code === status.CANCELLED,
    );
    await waitFor(
      () =>
        local.getJob('local-cancel-1').then(
          (j) => j.state === JobState.JOB_STATE_CANCELLED,
          () => false,
        ),
      { timeoutMs: 20_000, what: 'the job recorded as cancelled' },
    );
    await noPartsLeft();
  });
});
