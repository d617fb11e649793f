// write(): the backpressure primitive every streaming handler uses.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { CancelledError, write } from '@flowmesh/runtime';

/** A stand-in for a server stream whose buffer is full (write() returns false) until 'drain'. */
function fullStream() {
  const written: unknown[] = [];
  const call = Object.assign(new EventEmitter(), {
    cancelled: false,
    write(msg: unknown) {
      written.push(msg);
      return false;
    },
  });
  return { call, written, typed: call as unknown as ServerWritableStream<unknown, unknown> };
}

describe('write()', () => {
  it('resolves at once while the stream accepts more', async () => {
    const call = Object.assign(new EventEmitter(), { cancelled: false, write: () => true });
    await write(call as unknown as ServerWritableStream<unknown, unknown>, 'a');
  });

  it('waits for drain when the stream buffer is full', async () => {
    const { call, written, typed } = fullStream();
    let settled = false;
    const p = write(typed, 'x').then(() => (settled = true));
    await tick();
    assert.equal(settled, false, 'resolved before drain');
    assert.deepEqual(written, ['x']);
    call.emit('drain');
    await p;
    assert.equal(settled, true);
    assert.equal(call.listenerCount('drain'), 0, 'listener left behind');
  });

  it('rejects with CancelledError when the call is cancelled while waiting, or was already', async () => {
    const { call, typed } = fullStream();
    const p = write(typed, 'x');
    call.emit('cancelled');
    await assert.rejects(p, CancelledError);
    call.cancelled = true;
    await assert.rejects(write(typed, 'y'), CancelledError);
  });
});
