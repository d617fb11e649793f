import assert from 'node:assert/strict';
import { JobState } from '@flowmesh/contracts';
import { createProgressTracker } from '../src/progress.js';

describe('progress tracker', () => {
  it('sums accepted batches and per-executor shares', () => {
    let t = 1000;
    const p = createProgressTracker('j1', () => t);
    p.setBytesTotal(300);
    p.addBatch(
      'e2',
      { recordsIn: 10, recordsOut: 8, recordsRejected: 1, recordsFiltered: 1, bytesIn: 100, bytesOut: 80 },
      100,
    );
    p.addBatch(
      'e1',
      { recordsIn: 5, recordsOut: 5, recordsRejected: 0, recordsFiltered: 0, bytesIn: 50, bytesOut: 50 },
      50,
    );
    p.addBatch('e2', undefined, 150);
    t = 1600;
    p.setPlanningDone();
    const snap = p.snapshot(JobState.JOB_STATE_RUNNING, { planned: 3, running: 0, done: 3, retried: 1 });
    assert.equal(snap.counts?.recordsIn, 15);
    assert.equal(snap.counts?.recordsOut, 13);
    assert.equal(snap.bytesDone, 300);
    assert.equal(snap.elapsedMs, 600);
    assert.equal(snap.planningDone, true);
    assert.equal(snap.batchesRetried, 1);
    assert.deepEqual(p.shares(), [
      { executorId: 'e1', batches: 1, records: 5 },
      { executorId: 'e2', batches: 2, records: 10 },
    ]);
  });
});
