// Attempts on one ExecuteBatches call against a real in-process executor (port 0, worker threads): many
// attempts share a call and each gets exactly its own output and trailer; a cancel stops one attempt and
// frees its slot while others finish; the executor's refusals keep their status codes (so retries are
// classified as before); a draining executor ends an idle call, so its graceful stop is not held up.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFormat, RecordEncoding, type BatchAssignment } from '@flowmesh/contracts';
import { createExecutor, parseFaults, staticFileRoots, type Executor } from '@flowmesh/executor';
import { createLogger, createServiceHost, type ServiceHost } from '@flowmesh/runtime';
import { waitFor } from '@flowmesh/testing';
import { status } from '@grpc/grpc-js';
import { createRemoteRunner, type RemoteRunner } from '../src/remote-runner.js';
import { AttemptError, runAttempt } from '../src/run-attempt.js';
import type { ExecutorView } from '../src/slot-ledger.js';

const FLOW = `
name: stream-test
source: { type: file, root: data, path: in.csv, format: csv }
steps: []
sink: { type: stream }
`;
const HEADER = 'id,name\n';
const ROWS = Array.from({ length: 40 }, (_, i) => `${i},name-${i}\n`);

describe('coordinator: attempts on one ExecuteBatches call (real executor)', function () {
  this.timeout(30_000);
  let dir: string;
  let executor: Executor;
  let host: ServiceHost;
  let view: ExecutorView;
  let runner: RemoteRunner;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flowmesh-stream-'));
    await writeFile(join(dir, 'in.csv'), HEADER + ROWS.join(''));
    executor = createExecutor({
      id: 'exec-stream',
      slots: 2,
      fileRoots: staticFileRoots({ data: dir }),
      fileRootNames: () => ['data'],
      heartbeatMs: 50,
      faults: parseFaults('hang:job=hang'),
    });
    host = createServiceHost({
      name: 'executor',
      bind: '127.0.0.1:0',
      services: [executor.service],
      logger: createLogger('executor', { level: 'silent' }),
      graceMs: 5000,
    });
    host.onStop(() => executor.drain(5000));
    const { address } = await host.start();
    view = { id: 'exec-stream', address, slots: 2, fileRoots: ['data'], load: 0 };
    runner = createRemoteRunner({ attemptTimeoutMs: 20_000 });
  });
  after(async () => {
    runner?.close();
    await host?.stop('test over');
    await executor?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Batch i: rows [4i, 4i+4) of the file. */
  function assign(i: number, patch: Partial<BatchAssignment> = {}): BatchAssignment {
    const before = Buffer.byteLength(HEADER + ROWS.slice(0, 4 * i).join(''));
    return {
      jobId: 'job-1',
      batchIndex: i,
      attempt: 1,
      epoch: 1,
      file: { root: 'data', path: 'in.csv' },
      offset: before,
      length: Buffer.byteLength(ROWS.slice(4 * i, 4 * i + 4).join('')),
      firstLine: 2 + 4 * i,
      firstRecord: 0,
      flow: 'stream-test',
      flowRevision: 1,
      flowSource: FLOW,
      vars: {},
      format: DataFormat.DATA_FORMAT_CSV,
      header: Buffer.from(HEADER),
      inline: false,
      globals: {},
      outputPart: undefined,
      encoding: RecordEncoding.RECORD_ENCODING_JSONL,
      includeRejects: false,
      chunkBytes: 0,
      mayWait: false,
      contextFromCall: false,
      ...patch,
    };
  }
  const attempt = (a: BatchAssignment, signal = new AbortController().signal, inline?: Buffer) =>
    runAttempt(
      runner.run,
      { executor: view, assignment: a, ...(inline ? { inline } : {}) },
      {
        signal,
        heartbeatTimeoutMs: 5000,
        includeRejects: false,
      },
    );
  const records = (data: Buffer[]): number[] =>
    Buffer.concat(data)
      .toString('utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => Number((JSON.parse(l) as { id: string }).id));

  it('runs many attempts, two at a time, each verified with exactly its own records', async () => {
    for (let i = 0; i < 10; i += 2) {
      const [a, b] = await Promise.all([attempt(assign(i)), attempt(assign(i + 1))]);
      assert.deepEqual(records(a.chunks.map((c) => c.data)), [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
      assert.deepEqual(records(b.chunks.map((c) => c.data)), [4 * i + 4, 4 * i + 5, 4 * i + 6, 4 * i + 7]);
      assert.equal(a.trailer.batchIndex, i);
      assert.equal(b.trailer.batchIndex, i + 1);
    }
  });

  it('takes inline bytes by tag', async () => {
    const a = assign(3, { inline: true, file: undefined });
    const bytes = Buffer.from(ROWS.slice(12, 16).join(''));
    const r = await attempt(a, undefined, bytes);
    assert.deepEqual(records(r.chunks.map((c) => c.data)), [12, 13, 14, 15]);
  });

  it('a cancel stops one attempt and frees its slot; the other attempt on the call finishes', async () => {
    const stop = new AbortController();
    const hanging = attempt(assign(1, { jobId: 'hang' }), stop.signal);
    await waitFor(() => executor.slots.busy() === 1);
    const other = await attempt(assign(2));
    assert.deepEqual(records(other.chunks.map((c) => c.data)), [8, 9, 10, 11]);
    stop.abort(new Error('job cancelled'));
    await assert.rejects(hanging);
    await waitFor(() => executor.slots.busy() === 0);
  });

  it('keeps the executor status of a refused attempt: no free slot, superseded epoch', async () => {
    const stop = new AbortController();
    const hanging = [
      attempt(assign(1, { jobId: 'hang' }), stop.signal),
      attempt(assign(2, { jobId: 'hang' }), stop.signal),
    ];
    await waitFor(() => executor.slots.busy() === 2);
    const full = await attempt(assign(3)).catch((e: unknown) => e);
    assert.ok(full instanceof AttemptError && full.refused, `a full executor refuses: ${String(full)}`);
    assert.match(full.message, /slots/);
    stop.abort(new Error('done'));
    await Promise.allSettled(hanging);
    await waitFor(() => executor.slots.busy() === 0);

    await attempt(assign(0, { jobId: 'fenced', epoch: 5 }));
    const stale = await attempt(assign(1, { jobId: 'fenced', epoch: 4 })).catch((e: unknown) => e);
    assert.ok(stale instanceof AttemptError && !stale.refused, String(stale));
    assert.match(stale.message, new RegExp(`${status.FAILED_PRECONDITION} FAILED_PRECONDITION.*superseded`));
  });

  it('learns that the executor holds batches sent ahead; one sent to a full executor waits there and runs', async () => {
    await attempt(assign(0));
    assert.equal(runner.heldPerSlot(view.address), 16, 'announced on the call (StreamFeatures: HELD_PER_SLOT)');
    const stop = new AbortController();
    const hanging = [
      attempt(assign(1, { jobId: 'hang' }), stop.signal),
      attempt(assign(2, { jobId: 'hang' }), stop.signal),
    ];
    await waitFor(() => executor.slots.busy() === 2);
    // A short silence watchdog: the held batch heartbeats while it waits, for longer than that watchdog
    // (1 s: 20 heartbeat periods, so a loaded machine's scheduling delays do not read as silence).
    let beats = 0;
    const ahead = runAttempt(
      runner.run,
      { executor: view, assignment: assign(3, { mayWait: true }) },
      { signal: new AbortController().signal, heartbeatTimeoutMs: 1000, includeRejects: false, onHeartbeat: () => beats++ },
    );
    await waitFor(() => executor.slots.waiting() === 1, { what: 'the batch sent ahead is held' });
    await waitFor(() => beats >= 30, { what: 'heartbeats of the held batch (50 ms apart) for longer than 1 s' });
    assert.equal(executor.slots.waiting(), 1, 'still held');
    stop.abort(new Error('done'));
    await Promise.allSettled(hanging);
    const r = await ahead;
    assert.deepEqual(records(r.chunks.map((c) => c.data)), [12, 13, 14, 15]);
    await waitFor(() => executor.slots.busy() === 0);
  });

  it('a draining executor ends the idle call at once, and a new attempt there is refused', async () => {
    await attempt(assign(0));
    const started = Date.now();
    await host.stop('drain test');
    assert.ok(Date.now() - started < 2000, `stop took ${Date.now() - started} ms with an idle stream open`);
    const after = await attempt(assign(1)).catch((e: unknown) => e);
    assert.ok(after instanceof AttemptError && after.refused && after.unreachable, String(after));
  });
});
