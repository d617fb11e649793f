// The free list of big batches' input memory: a read takes a kept ArrayBuffer that fits (not one twice too
// large), a fresh exact one otherwise, and at most `max` are kept.
import assert from 'node:assert/strict';
import { createInputBuffers } from '../src/input-buffers.js';

describe('executor input buffers', function () {
  it('reads into kept memory that fits, fresh memory otherwise, and keeps at most max', function () {
    const inputs = createInputBuffers(2);
    const fresh = inputs.take(1000);
    assert.equal(fresh.length, 1000);
    assert.equal(fresh.buffer.byteLength, 1000);
    assert.equal(inputs.kept, 0);

    const big = new ArrayBuffer(4000);
    inputs.give(big);
    // Too small for it (4000 > 2 × 1000): left for a larger read.
    assert.notEqual(inputs.take(1000).buffer, big);
    const reused = inputs.take(3000);
    assert.equal(reused.buffer, big);
    assert.equal(reused.length, 3000);
    assert.equal(reused.byteOffset, 0);
    assert.equal(inputs.kept, 0);
    // Larger than anything kept: fresh.
    inputs.give(big);
    assert.notEqual(inputs.take(5000).buffer, big);

    inputs.give(new ArrayBuffer(10));
    inputs.give(new ArrayBuffer(20));
    assert.equal(inputs.kept, 2, 'the oldest is dropped beyond max');
    // A detached buffer (given twice, or transferred away) is not kept.
    const detached = new ArrayBuffer(8);
    structuredClone(detached, { transfer: [detached] });
    inputs.give(detached);
    assert.equal(inputs.kept, 2);
  });
});
