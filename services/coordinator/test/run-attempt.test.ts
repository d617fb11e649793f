// How an attempt's end is classified (run-attempt.ts `failure`): what decides whether it spends retry budget
// is whether the executor sent `started`. UNAVAILABLE before it (refused at connect, "executor is draining",
// the call ended by a draining executor before it read the assign) is a refusal: requeued, not counted.
// After it, the batch ran there and its result is lost: a counted failure, "draining" or not — a draining
// executor finishes what it started (chaos executor-sigterm, issue 7: a lost trailer passed as a refusal).
import assert from 'node:assert/strict';
import { BatchAssignment, type ExecuteBatchResponse } from '@flowmesh/contracts';
import { status } from '@grpc/grpc-js';
import type { AttemptRunner } from '../src/attempt-runner.js';
import { attemptStatusError } from '../src/executor-stream.js';
import { AttemptError, runAttempt } from '../src/run-attempt.js';

const ENDED = 'the executor ended the batch stream (draining or stopping)';

/** A runner whose attempt sends `started` (or not), then fails with `err`. */
function failingRunner(started: boolean, err: Error): AttemptRunner {
  return async function* () {
    if (started) yield { msg: { $case: 'started', started: { executorId: 'e1' } } } as ExecuteBatchResponse;
    throw err;
  };
}

async function endOf(started: boolean, err: Error): Promise<AttemptError> {
  const e = await runAttempt(
    failingRunner(started, err),
    {
      executor: { id: 'e1', address: 'e1', slots: 1, fileRoots: ['data'], load: 0 },
      // Only what the attempt's classification reads; the rest is the generated defaults.
      assignment: BatchAssignment.fromPartial({
        jobId: 'j',
        batchIndex: 0,
        attempt: 1,
        epoch: 1,
        file: { root: 'data', path: 'in.csv' },
        length: 10,
      }),
    },
    { signal: new AbortController().signal, heartbeatTimeoutMs: 0, includeRejects: false },
  ).then(
    () => assert.fail('the attempt succeeded'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof AttemptError, String(e));
  return e;
}

describe('coordinator: an attempt that ends without its trailer', () => {
  it('before `started`: a draining executor, its ended call or a refused connection is a refusal (no budget)', async () => {
    for (const message of ['executor is draining; send the batch elsewhere', ENDED, 'No connection established']) {
      const e = await endOf(false, attemptStatusError(status.UNAVAILABLE, message));
      assert.equal(e.refused, true, message);
      assert.equal(e.unreachable, true, message);
    }
    assert.equal(
      (await endOf(false, attemptStatusError(status.RESOURCE_EXHAUSTED, 'all 1 slots are busy'))).refused,
      true,
    );
  });

  it('after `started`: the batch ran there and its result is lost — a counted failure, "draining" or not', async () => {
    for (const message of [ENDED, 'Connection dropped']) {
      const e = await endOf(true, attemptStatusError(status.UNAVAILABLE, message));
      assert.equal(e.refused, false, message);
    }
    assert.equal((await endOf(true, attemptStatusError(status.INTERNAL, 'injected fault: fail'))).refused, false);
  });
});
