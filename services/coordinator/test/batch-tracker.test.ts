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
    assert.deepEqual(t.stats(), {
      planned: 1,
      queued: 0,
      running: 0,
      done: 1,
      retried: 0,
      quarantined: 0,
      speculative: 0,
    });
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

  it('backs up a slow batch: the first live attempt accepted wins, the other is cancelled, not failed', () => {
    let clock = 0;
    const t = createBatchTracker({ retries: 0, epoch: 1, now: () => clock });
    for (const i of [0, 1, 2]) t.add(batch(i));
    const policy = { multiple: 3, minAgeMs: 50 };
    const a0 = t.start(0, 'e1');
    const slow = t.start(1, 'e2');
    assert.deepEqual(t.slowBatches(policy), [], 'no median yet');
    clock = 20;
    assert.equal(t.accept(0, a0), true); // median 20 ms → threshold max(50, 60) = 60
    clock = 59;
    assert.deepEqual(t.slowBatches(policy), []);
    clock = 60;
    assert.deepEqual(
      t.slowBatches(policy).map((b) => b.index),
      [1],
    );
    const backup = t.speculate(1, 'e1');
    assert.equal(backup, 2);
    assert.deepEqual([...t.runningOn(1)].sort(), ['e1', 'e2']);
    assert.deepEqual(t.slowBatches(policy), [], 'one backup per batch');
    assert.equal(t.isCurrent(1, slow), true, 'both attempts are live');
    assert.equal(t.isCurrent(1, backup), true);
    assert.equal(t.accept(1, backup), true, 'the backup finished first');
    assert.equal(t.accept(1, slow), false, 'the loser is never accepted');
    assert.equal(t.fail(1, slow, 'cancelled'), 'stale', 'nor counted as a failure');
    const entry = t.get(1)!;
    assert.deepEqual(
      entry.attempts.map((a) => a.outcome),
      ['cancelled', 'accepted'],
    );
    assert.equal(entry.accepted, backup);
    assert.deepEqual(t.stats(), {
      planned: 3,
      queued: 1,
      running: 0,
      done: 2,
      retried: 0,
      quarantined: 0,
      speculative: 1,
    });
  });

  it('keeps a backed-up batch running while one of its attempts fails', () => {
    let clock = 0;
    const t = createBatchTracker({ retries: 0, epoch: 1, now: () => clock });
    t.add(batch(0));
    t.add(batch(1));
    t.accept(0, t.start(0, 'e1'));
    const slow = t.start(1, 'e2');
    clock = 10_000;
    const backup = t.speculate(1, 'e1');
    assert.equal(t.fail(1, backup, 'broken'), 'continuing', 'the slow attempt may still succeed');
    assert.equal(t.stats().running, 1);
    assert.equal(t.accept(1, slow), true);
    assert.equal(t.allDone(), true);
  });

  it('skips a batch done under an earlier epoch: done without attempts, no duration for the speculation median', () => {
    const t = createBatchTracker({ retries: 1, epoch: 2 });
    for (const index of [0, 1, 2])
      t.add({ index, offset: index * 10, length: 10, firstLine: 1, firstRecord: 0, records: 1 });
    t.skip(0);
    assert.equal(t.nextQueued()?.index, 1);
    assert.deepEqual(t.stats(), {
      planned: 3,
      queued: 2,
      running: 0,
      done: 1,
      retried: 0,
      quarantined: 0,
      speculative: 0,
    });
    assert.deepEqual(t.get(0)?.attempts, []);
    assert.throws(() => t.skip(0), /not queued/);
    assert.deepEqual(t.slowBatches({ multiple: 1, minAgeMs: 0 }), []);
  });
});
