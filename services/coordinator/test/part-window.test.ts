// The records-part window (issue 7): at most `size` parts unconfirmed; a confirmation lets the next one
// go; a caller that goes away releases a waiting job instead of hanging it.
import assert from 'node:assert/strict';
import { CancelledError } from '@flowmesh/runtime';
import { createPartWindow } from '../src/part-window.js';

describe('part window', () => {
  it('holds the part after `size` unconfirmed ones until one is confirmed', async () => {
    const w = createPartWindow(2);
    await w.acquire();
    await w.acquire();
    let third = false;
    const pending = w.acquire().then(() => (third = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(third, false, 'the third part waits');
    w.release();
    await pending;
    assert.equal(third, true);
  });

  it('rejects a waiting part when the caller goes away', async () => {
    const w = createPartWindow(1);
    await w.acquire();
    const caller = new AbortController();
    const pending = w.acquire(caller.signal);
    caller.abort();
    await assert.rejects(pending, CancelledError);
  });
});
