import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { retryIdempotent } from '@flowmesh/runtime';

const withCode = (code: status) => Object.assign(new Error(status[code]), { code });

describe('retryIdempotent', () => {
  it('retries UNAVAILABLE until an attempt succeeds', async () => {
    const attempts: number[] = [];
    const result = await retryIdempotent(
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw withCode(status.UNAVAILABLE);
        return 'ok';
      },
      { attempts: 3, baseDelayMs: 1 },
    );
    assert.equal(result, 'ok');
    assert.deepEqual(attempts, [1, 2, 3]);
  });

  it('gives up after the last attempt with the last error', async () => {
    let calls = 0;
    await assert.rejects(
      retryIdempotent(
        async () => {
          calls++;
          throw withCode(status.UNAVAILABLE);
        },
        { attempts: 2, baseDelayMs: 1 },
      ),
      (err: { code: status }) => err.code === status.UNAVAILABLE,
    );
    assert.equal(calls, 2);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await assert.rejects(
      retryIdempotent(async () => {
        calls++;
        throw withCode(status.NOT_FOUND);
      }),
    );
    assert.equal(calls, 1);
  });
});
