// A batch thread collects its old space between batches once it grew past a bound since the last collection
// (old-space-bound.ts, issue 7 target 5): the policy with a fake heap, then the mechanism in a real thread.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { workerExecArgv } from '../src/batch-pool.js';
import {
  CHECK_EVERY_INPUT_BYTES,
  createOldSpaceBound,
  exposeCollectorToBatchThreads,
} from '../src/worker/old-space-bound.js';

/** A big batch's input: every call looks at the heap. */
const BATCH = CHECK_EVERY_INPUT_BYTES;

describe('executor batch threads: old-space bound', function () {
  it('collects once the old space grew past the bound since the lowest it was, and counts from what is left', function () {
    let heap = 10;
    const calls: number[] = [];
    const bound = createOldSpaceBound({
      growthBytes: 16,
      used: () => heap,
      collect: () => {
        calls.push(heap);
        heap = 12;
      },
    });
    assert.equal(bound.afterBatch(BATCH), false, 'the first batch only takes the floor');
    heap = 26;
    assert.equal(bound.afterBatch(BATCH), false, '16 over the floor is within the bound');
    heap = 27;
    assert.equal(bound.afterBatch(BATCH), true);
    assert.deepEqual(calls, [27]);
    // Counted from what the collection left (12).
    heap = 28;
    assert.equal(bound.afterBatch(BATCH), false);
    // V8 collected by itself: the floor follows it down.
    heap = 5;
    assert.equal(bound.afterBatch(BATCH), false);
    heap = 22;
    assert.equal(bound.afterBatch(BATCH), true);
    assert.equal(bound.collections, 2);
  });

  it('looks at the heap only once enough input has run since the last look (tiny batches)', function () {
    let looks = 0;
    const bound = createOldSpaceBound({
      growthBytes: 16,
      checkEveryBytes: 100,
      used: () => ++looks * 100,
      collect: () => {},
    });
    assert.equal(bound.afterBatch(10), false);
    assert.equal(looks, 1, 'the first batch takes the floor');
    for (let i = 0; i < 9; i++) bound.afterBatch(10);
    assert.equal(looks, 1, '90 bytes since the look: none');
    assert.equal(bound.afterBatch(10), true, 'at 100 bytes it looks, and the heap grew past the bound');
    assert.equal(looks, 3, 'the look, and the floor after the collection');
  });

  it('gives a batch thread a collector it takes off the global, and collecting frees the dead old space', async function () {
    this.timeout(60_000);
    exposeCollectorToBatchThreads();
    const worker = new Worker(new URL('./fixtures/old-space-thread.mjs', import.meta.url), {
      execArgv: workerExecArgv(),
    });
    try {
      const [report] = (await once(worker, 'message')) as [Record<string, unknown>];
      assert.equal(report.hasCollector, true, JSON.stringify(report));
      assert.equal(report.gcOnGlobal, 'undefined', 'plugin code in the thread does not get the collector');
      assert.equal(report.firstBatch, false);
      assert.equal(report.collected, true, JSON.stringify(report));
      assert.equal(report.collections, 1);
      assert.ok((report.after as number) < (report.before as number) - 16 * 1024 * 1024, JSON.stringify(report));
    } finally {
      await worker.terminate();
    }
  });
});
