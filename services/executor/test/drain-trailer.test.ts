// A graceful stop must not cost the batch it finishes (chaos executor-sigterm, issue 7): an attempt running
// on an ExecuteBatches call when its executor begins to drain ends with its trailer, and only then does the
// call end (OK). The call ends once nothing is live while draining; the last trailer used to wait in the
// response outbox (bundled until the end of the turn) and was lost: the coordinator saw the stream end
// without it and ran the finished batch again; with an earlier write still in flight (the caller slow to
// read), the write after the end destroyed the call's stream, no status was ever sent, and the coordinator's
// silence watchdog failed the attempt (a counted retry).
import assert from 'node:assert/strict';
import { credentials, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { ExecutorServiceClient, type ExecuteBatchesResponse } from '@flowmesh/contracts';
import { waitFor } from '@flowmesh/testing';
import { assignment, FLOW, ordersFixture, startInProcess, type OrdersFixture } from './executor-harness.js';

// The test flow with the gated plugin first: the batch runs (slot held, `started` sent) until the gate opens.
const GATED_FLOW = FLOW.replace('name: executor-test', 'name: gated-test').replace(
  'steps:\n',
  'steps:\n  - type: plugin\n    module: gated.mjs\n',
);

interface CallEnd {
  status?: StatusObject;
  error?: ServiceError;
}

describe('executor drain: the batch running when the drain begins ends with its trailer', function () {
  this.timeout(30_000);
  let fixture: OrdersFixture;

  before(async () => {
    // One batch of 1,000 orders: ~250 KB of output, more than the caller's 64 KiB flow-control window.
    fixture = await ordersFixture(1000, 1 << 30);
    assert.equal(fixture.batches.length, 1);
  });
  after(() => fixture?.cleanup());

  for (const slowReader of [false, true]) {
    it(
      slowReader
        ? 'also while its records wait for the caller to read (flow control): the call still ends, OK, after the trailer'
        : 'the call ends OK after the trailer, with every record',
      async () => {
        const ex = await startInProcess(fixture, { slots: 1 });
        // The default 64 KiB window: a caller that does not read holds the executor's writes in flight.
        const client = new ExecutorServiceClient(ex.address, credentials.createInsecure());
        const gate = new BroadcastChannel('gated-plugin');
        try {
          const loading = new Promise<void>((resolve) => {
            gate.onmessage = (e: MessageEvent) => {
              if (e.data === 'loading') resolve();
            };
          });
          const call = client.executeBatches({ deadline: Date.now() + 20_000 });
          const got: Array<NonNullable<ExecuteBatchesResponse['msg']>> = [];
          call.on('data', (res: ExecuteBatchesResponse) => {
            for (const r of [res, ...res.more]) if (r.tag === 1 && r.msg) got.push(r.msg);
          });
          // The end: an error, or the stream's end (every message read) and the status, whichever comes last.
          const gotStatus = new Promise<StatusObject>((resolve) => call.on('status', resolve));
          const ended = new Promise<CallEnd>((resolve) => {
            call.on('error', (err: ServiceError) => resolve({ error: err }));
            call.on('end', () => void gotStatus.then((s) => resolve({ status: s })));
          });
          // As a coordinator does: its features (it takes bundles), then the assign.
          call.write({
            tag: 0,
            msg: { $case: 'features', features: { takesBundles: true } },
            traceContext: {},
            more: [],
          });
          call.write({
            tag: 1,
            msg: {
              $case: 'assign',
              assign: assignment(fixture, fixture.batches[0]!, { flow: 'gated-test', flowSource: GATED_FLOW }),
            },
            traceContext: {},
            more: [],
          });
          await loading;
          await waitFor(() => got.some((m) => m.$case === 'started'), { what: '`started` of the batch' });
          if (slowReader) call.pause();
          // What SIGTERM does first (start-executor.ts): refuse new batches; the running one goes on.
          const drained = ex.executor.drain(5000);
          gate.postMessage('open');
          if (slowReader) {
            // The batch has ended on the executor (its slot is free) while its records still wait for us.
            await waitFor(() => ex.executor.slots.busy() === 0, { what: 'the batch ended on the executor' });
            call.resume();
          }
          const end = await ended;
          assert.equal(await drained, true, 'the drain finished within its grace');
          assert.equal(end.error, undefined, `the call failed: ${end.error?.message}`);
          assert.equal(end.status?.code, status.OK);
          const last = got.at(-1);
          assert.equal(
            last?.$case,
            'trailer',
            `the last message of the batch is ${last?.$case}, not its trailer: ${got.map((m) => m.$case).join(',')}`,
          );
          const lines = got
            .flatMap((m) => (m.$case === 'records' ? [m.records.data.toString('utf8')] : []))
            .join('')
            .split('\n')
            .filter(Boolean).length;
          assert.ok(lines > 0);
          assert.equal(
            lines,
            last?.$case === 'trailer' ? last.trailer.counts?.recordsOut : -1,
            'every record of the trailer arrived',
          );
        } finally {
          gate.close();
          client.close();
          await ex.stop();
        }
      },
    );
  }
});
