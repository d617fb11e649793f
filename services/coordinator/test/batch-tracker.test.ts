import assert from 'node:assert/strict';
import { createBatchTracker } from '../src/batch-tracker.js';

const batch = (index: number) => ({
  index,
  offset: index * 100,
  length: 100,
  firstLine: index * 10 + 2,
  firstRecord: 0,
  records: 10,
});

describe('batch tracker', () => {
  it('accepts exactly one attempt per batch', () => {
    const t = createBatchTracker({ retries: 2, epoch: 1 });
    t.add(batch(0));
    const a1 = t.start(0, 'e1');
    assert.equal(t.accept(0, a1), true);
    assert.equal(t.accept(0, a1), false, 'a second accept of the same batch is refused');
    assert.deepEqual(t.stats(), { planned: 1, queued: 0, running: 0, done: 1, retried: 0, quarantined: 0 });
    assert.equal(t.allDone(), true);
  });

  it('refuses the result of a superseded attempt after a retry', () => {
    const t = createBatchTracker({ retries: 2, epoch: 1 });
    t.add(batch(0));
    const a1 = t.start(0, 'e1');
    assert.equal(t.fail(0, a1, 'stream broken'), 'retry');
    const a2 = t.start(0, 'e2');
    assert.equal(a2, 2);
    assert.equal(t.isCurrent(0, a1), false);
    assert.equal(t.accept(0, a1), false, 'late result of attempt 1');
    assert.equal(t.fail(0, a1, 'late'), 'stale');
    assert.equal(t.accept(0, a2), true);
    assert.deepEqual([...t.triedOn(0)], ['e1']);
  });

  it('quarantines after the retry budget and reports batch, byte range and errors', () => {
    const t = createBatchTracker({ retries: 1, epoch: 3 });
    t.add(batch(0));
    t.add(batch(1));
    assert.equal(t.fail(1, t.start(1, 'e1'), 'checksum mismatch'), 'retry');
    assert.equal(t.fail(1, t.start(1, 'e2'), 'executor crashed'), 'quarantined');
    const [report] = t.failures();
    assert.deepEqual(report, {
      batchIndex: 1,
      offset: 100,
      length: 100,
      attempts: 2,
      errors: ['attempt 1 on e1: checksum mismatch', 'attempt 2 on e2: executor crashed'],
    });
    assert.equal(t.stats().quarantined, 1);
  });

  it('dispatches retries before fresh batches, fresh ones by index', () => {
    const t = createBatchTracker({ retries: 3, epoch: 1 });
    for (const i of [0, 1, 2]) t.add(batch(i));
    const a0 = t.start(0, 'e1');
    assert.equal(t.nextQueued()?.index, 1);
    t.fail(0, a0, 'boom');
    assert.equal(t.nextQueued()?.index, 0);
    t.start(0, 'e2');
    assert.equal(t.nextQueued()?.index, 1);
  });

  it('requeues without spending the retry budget', () => {
    const t = createBatchTracker({ retries: 0, epoch: 1 });
    t.add(batch(0));
    const a1 = t.start(0, 'e1');
    assert.equal(t.requeue(0, a1, 'no free slot'), true);
    const a2 = t.start(0, 'e1');
    assert.equal(t.accept(0, a2), true);
    assert.equal(t.failures().length, 0);
  });

  it('cancels running and queued batches and returns the running attempts', () => {
    const t = createBatchTracker({ retries: 1, epoch: 1 });
    for (const i of [0, 1, 2]) t.add(batch(i));
    const a = t.start(0, 'e1');
    t.start(1, 'e2');
    t.accept(0, a);
    const stopped = t.cancelAll();
    assert.deepEqual(stopped, [{ index: 1, attempt: 1, executorId: 'e2' }]);
    assert.equal(t.nextQueued(), undefined);
    assert.equal(t.get(2)?.state, 'cancelled');
    assert.equal(t.get(0)?.state, 'done');
  });

  it('gives a checkpointable snapshot', () => {
    const t = createBatchTracker({ retries: 1, epoch: 1 });
    t.add(batch(1));
    t.add(batch(0));
    t.accept(0, t.start(0, 'e1'));
    assert.deepEqual(t.snapshot(), [
      { index: 0, offset: 0, length: 100, firstLine: 2, done: true, attempts: 1 },
      { index: 1, offset: 100, length: 100, firstLine: 12, done: false, attempts: 0 },
    ]);
  });

  it('refuses a batch planned twice', () => {
    const t = createBatchTracker({ retries: 1, epoch: 1 });
    t.add(batch(0));
    assert.throws(() => t.add(batch(0)), /planned twice/);
  });
});
