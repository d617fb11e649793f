import assert from 'node:assert/strict';
import { createReorderBuffer } from '../src/reorder-buffer.js';

describe('reorder buffer', () => {
  it('emits in input order whatever the arrival order', () => {
    const b = createReorderBuffer<string>({ order: 'input', window: 4 });
    for (const i of [0, 1, 2, 3]) assert.equal(b.tryAdmit(i), true);
    b.put(2, 'c');
    b.put(1, 'b');
    assert.deepEqual(b.take(), [], 'batch 0 holds the rest back');
    assert.equal(b.held(), 2);
    b.put(0, 'a');
    assert.deepEqual(
      b.take().map((x) => x.item),
      ['a', 'b', 'c'],
    );
    b.put(3, 'd');
    assert.deepEqual(
      b.take().map((x) => x.index),
      [3],
    );
    assert.equal(b.emitted(), 4);
  });

  it('bounds admission to the window past the next batch to emit', () => {
    const b = createReorderBuffer<string>({ order: 'input', window: 2 });
    assert.equal(b.tryAdmit(0), true);
    assert.equal(b.tryAdmit(1), true);
    assert.equal(b.tryAdmit(2), false, 'window full while batch 0 is outstanding');
    b.put(1, 'b');
    assert.equal(b.tryAdmit(2), false, 'a finished later batch does not free room');
    b.put(0, 'a');
    b.take();
    assert.equal(b.tryAdmit(2), true);
    assert.equal(b.tryAdmit(2), true, 'admission is idempotent');
    assert.equal(b.outstanding(), 1);
  });

  it('emits in arrival order and bounds outstanding batches', () => {
    const b = createReorderBuffer<string>({ order: 'arrival', window: 2 });
    assert.equal(b.tryAdmit(5), true);
    assert.equal(b.tryAdmit(3), true);
    assert.equal(b.tryAdmit(9), false);
    b.put(3, 'x');
    b.put(5, 'y');
    assert.deepEqual(
      b.take().map((x) => x.index),
      [3, 5],
    );
    assert.equal(b.tryAdmit(9), true);
  });

  it('refuses outputs of batches it did not admit', () => {
    const b = createReorderBuffer<string>({ order: 'input', window: 1 });
    assert.throws(() => b.put(0, 'a'), /not admitted/);
  });

  it('signals changes to a waiting emitter', async () => {
    const b = createReorderBuffer<string>({ order: 'input', window: 1 });
    b.tryAdmit(0);
    const changed = b.changed();
    b.put(0, 'a');
    await changed;
    assert.equal(b.take().length, 1);
  });

  it('takes one output at a time when asked, keeping the rest counted in the window', () => {
    const b = createReorderBuffer<string>({ order: 'input', window: 3 });
    for (const i of [0, 1, 2]) b.tryAdmit(i);
    b.put(0, 'a');
    b.put(1, 'b');
    assert.deepEqual(
      b.take(1).map((x) => x.item),
      ['a'],
    );
    assert.equal(b.held(), 1);
    assert.equal(b.tryAdmit(3), true);
    assert.equal(b.tryAdmit(4), false);
  });
});
