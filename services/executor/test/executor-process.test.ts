// A real executor process (`flowmesh executor`): registration in discovery with its load, status, and a
// graceful SIGTERM — deregister, refuse new batches, finish the batch in flight, exit 0.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { credentials, status } from '@grpc/grpc-js';
import { ExecutorServiceClient } from '@flowmesh/contracts';
import type { GetExecutorStatusResponse } from '@flowmesh/contracts';
import { createDiscovery } from '@flowmesh/discovery';
import type { Discovery, DiscoveryView } from '@flowmesh/discovery';
import { healthCheck, startService, tempDir, waitFor } from '@flowmesh/testing';
import type { RunningService } from '@flowmesh/testing';
import { assignment, execute, ordersFixture, pluginDir, trailerOf } from './executor-harness.js';
import type { AttemptResult, OrdersFixture } from './executor-harness.js';

describe('executor process', function () {
  let fixture: OrdersFixture;
  let registryDir: string;
  let svc: RunningService | undefined;
  let discovery: Discovery;
  let view: DiscoveryView;
  let client: ExecutorServiceClient;

  before(async () => {
    fixture = await ordersFixture(1000, 20 * 1024);
    registryDir = await tempDir('executor-registry');
    svc = await startService('executor', {
      args: [
        '--node-id', 'exec-proc-1', '--slots', '1', '--heartbeat-ms', '100', '--grace-ms', '20000',
        '--file-root', `data=${fixture.root}`, '--plugin-dir', pluginDir,
        '--discovery', 'file', '--registry-dir', registryDir,
      ],
      env: { FLOWMESH_LOG_LEVEL: 'info' },
    });
    client = new ExecutorServiceClient(svc.address, credentials.createInsecure());
    discovery = createDiscovery({ provider: 'file', dir: registryDir, pollMs: 50 });
    view = discovery.watch('executor');
    await view.ready;
  });
  after(async () => {
    client?.close();
    view?.close();
    await discovery?.close();
    await svc?.stop('SIGKILL');
    await fixture?.cleanup();
    if (registryDir) await rm(registryDir, { recursive: true, force: true });
  });

  it('registers with its slots and file roots, and reports status', async () => {
    const node = await waitFor(() => view.get('exec-proc-1'), { what: 'executor in the registry' });
    assert.equal(node.kind, 'executor');
    assert.equal(node.address, svc!.address);
    assert.equal(node.slots, 1);
    assert.deepEqual(node.fileRoots, ['data']);
    const st = await new Promise<GetExecutorStatusResponse>((resolve, reject) =>
      client.getExecutorStatus({}, (err, res) => (err ? reject(err) : resolve(res))),
    );
    assert.deepEqual(
      { id: st.executorId, slots: st.slots, busy: st.slotsBusy, roots: st.fileRoots },
      { id: 'exec-proc-1', slots: 1, busy: 0, roots: ['data'] },
    );
  });

  it('on SIGTERM deregisters, reports NOT_SERVING, refuses new batches, finishes the batch in flight, then exits 0', async () => {
    const batch = fixture.batches[0]!;
    let trailerAt = 0;
    // ~10 ms per record over ~200 records: about 2 s of work in a worker thread.
    const running: Promise<AttemptResult> = execute(client, assignment(fixture, batch, { vars: { busy_ms: '10' } }), {
      onMessage(msg) {
        if (msg.msg?.$case === 'trailer') trailerAt = Date.now();
      },
    });
    await waitFor(() => view.get('exec-proc-1')?.slotsBusy === 1, { what: 'slotsBusy 1 published' });

    svc!.kill('SIGTERM');
    await waitFor(() => view.get('exec-proc-1') === undefined, { what: 'deregistered' });
    await waitFor(async () => (await healthCheck(svc!.address)) === 'NOT_SERVING', { what: 'health NOT_SERVING' });
    const refused = await execute(client, assignment(fixture, batch, { jobId: 'job-late' }));
    assert.ok(
      refused.error?.code === status.UNAVAILABLE,
      `a batch sent while draining: ${refused.error?.code} ${refused.error?.details}`,
    );
    assert.equal(trailerAt, 0, 'deregistration and refusal happen while the batch is still running');

    const done = await running;
    assert.equal(done.error, undefined, done.error?.message);
    const trailer = trailerOf(done);
    assert.ok(trailer, 'the in-flight batch ended with its trailer');
    assert.equal(trailer.counts?.recordsOut, done.chunks.reduce((n, c) => n + c.recordCount, 0));
    const exit = await svc!.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
  });

  it('a poison batch (test fault "crash") kills its executor process', async () => {
    const poisoned = await startService('executor', {
      args: ['--node-id', 'exec-proc-poison', '--slots', '1', '--file-root', `data=${fixture.root}`, '--plugin-dir', pluginDir, '--discovery', 'none'],
      env: { FLOWMESH_FAULTS: 'crash:batch=1' },
    });
    const poisonClient = new ExecutorServiceClient(poisoned.address, credentials.createInsecure());
    try {
      const fine = await execute(poisonClient, assignment(fixture, fixture.batches[0]!));
      assert.equal(fine.error, undefined, 'batch 0 is not poisoned');
      const got = await execute(poisonClient, assignment(fixture, fixture.batches[1]!));
      assert.equal(got.error?.code, status.UNAVAILABLE);
      assert.deepEqual(await poisoned.exited, { code: null, signal: 'SIGKILL' });
      assert.match(poisoned.logs(), /TEST FAULT INJECTION IS ON/);
    } finally {
      poisonClient.close();
      await poisoned.stop('SIGKILL');
    }
  });
});
