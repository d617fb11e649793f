// A balanced tail (issue 7, target 1a): batch sizes shrink toward the file's end so all slots finish
// together; the ranges still cover the data exactly once, in order, and the plan is the same every time.
import assert from 'node:assert/strict';
import { open, stat } from 'node:fs/promises';
import { generateOrders, planBatches, readHeader, tailBatchBytes, TAIL_MIN_BYTES } from '../src/io/index.js';
import type { BatchRange, TailPolicy } from '../src/io/index.js';
import { createTempDir } from './io-fixtures.js';

const MiB = 1024 * 1024;

describe('io: balanced tail (tailBatchBytes)', function () {
  it('keeps full batches while more than 2 × slots × batchBytes is left', function () {
    const policy: TailPolicy = { slots: 2, endOffset: 0 };
    assert.equal(tailBatchBytes(100 * MiB, 4 * MiB, policy), 4 * MiB);
    assert.equal(tailBatchBytes(16 * MiB, 4 * MiB, policy), 4 * MiB);
    assert.equal(tailBatchBytes(12 * MiB, 4 * MiB, policy), 3 * MiB);
  });

  it('shrinks to bytes left / (2 × slots), never below the floor', function () {
    const policy: TailPolicy = { slots: 4, endOffset: 0 };
    assert.equal(tailBatchBytes(16 * MiB, 4 * MiB, policy), 2 * MiB);
    assert.equal(tailBatchBytes(4 * MiB, 4 * MiB, policy), TAIL_MIN_BYTES);
    assert.equal(tailBatchBytes(2 * MiB, 4 * MiB, { ...policy, minBytes: 256 * 1024 }), 256 * 1024);
  });

  it('takes all that is left rather than leave a sliver under half the floor', function () {
    const policy: TailPolicy = { slots: 2, endOffset: 0 };
    assert.equal(tailBatchBytes(TAIL_MIN_BYTES + 1000, 4 * MiB, policy), TAIL_MIN_BYTES + 1000);
    assert.equal(tailBatchBytes(TAIL_MIN_BYTES * 2, 4 * MiB, policy), TAIL_MIN_BYTES);
    assert.equal(tailBatchBytes(10, 4 * MiB, policy), 10);
  });

  it('changes nothing for one slot, or for batches cut by records only', function () {
    assert.equal(tailBatchBytes(MiB, 4 * MiB, { slots: 1, endOffset: 0 }), 4 * MiB);
    assert.equal(tailBatchBytes(MiB, Infinity, { slots: 2, endOffset: 0 }), Infinity);
  });

  it('never exceeds batchBytes, even when it is under the floor', function () {
    assert.equal(tailBatchBytes(MiB, 64 * 1024, { slots: 2, endOffset: 0 }), 64 * 1024);
  });
});

describe('io: planBatches with a tail policy', function () {
  const tmp = createTempDir();
  after(() => tmp.remove());

  async function plan(path: string, batchBytes: number, tail?: TailPolicy, batchRecords?: number): Promise<BatchRange[]> {
    const fh = await open(path, 'r');
    try {
      const info = await readHeader(fh, 'csv');
      const out: BatchRange[] = [];
      for await (const b of planBatches(fh, {
        format: 'csv',
        dataOffset: info.dataOffset,
        firstLine: info.firstLine,
        batchBytes,
        chunkBytes: 64 * 1024,
        ...(batchRecords !== undefined ? { batchRecords } : {}),
        ...(tail ? { tail } : {}),
      }))
        out.push(b);
      return out;
    } finally {
      await fh.close();
    }
  }

  it('plans full batches first, then shrinking ones, covering every byte and record once', async function () {
    const path = tmp.file('orders.csv', Buffer.concat([...generateOrders({ records: 40_000, seed: 5 })]));
    const size = (await stat(path)).size;
    const batchBytes = 256 * 1024;
    const tail: TailPolicy = { slots: 2, endOffset: size, minBytes: 32 * 1024 };
    const even = await plan(path, batchBytes);
    const balanced = await plan(path, batchBytes, tail);

    // Same data, same records, contiguous ranges in order, indices 0..n-1.
    const check = (batches: BatchRange[]): void => {
      let at = batches[0]!.offset;
      let record = 0;
      batches.forEach((b, i) => {
        assert.equal(b.index, i);
        assert.equal(b.offset, at);
        assert.equal(b.firstRecord, record);
        at += b.length;
        record += b.records;
      });
      assert.equal(at, size);
      assert.equal(record, 40_000);
    };
    check(even);
    check(balanced);

    // Identical until 2 × slots × batchBytes before the end; afterwards no batch is larger than the one before.
    const tailStart = size - 2 * tail.slots * batchBytes;
    const head = balanced.filter((b) => b.offset + batchBytes <= tailStart);
    assert.deepEqual(head, even.slice(0, head.length));
    const rest = balanced.slice(head.length);
    assert.ok(rest.length > 3, `${rest.length} batches in the tail`);
    for (let i = 1; i < rest.length - 1; i++) assert.ok(rest[i]!.length <= rest[i - 1]!.length + 200);
    // The last batches are near the floor, far below a full batch.
    assert.ok(balanced.at(-1)!.length < batchBytes / 4, `last batch ${balanced.at(-1)!.length} bytes`);
    assert.ok(even.at(-1)!.length > 0);

    // Deterministic: a second plan (a takeover re-planning the file) gives the same ranges.
    assert.deepEqual(await plan(path, batchBytes, tail), balanced);
  });

  it('leaves a plan cut by records alone unchanged', async function () {
    const path = tmp.file('small.csv', Buffer.concat([...generateOrders({ records: 2_000, seed: 6 })]));
    const size = (await stat(path)).size;
    const fh = await open(path, 'r');
    try {
      const info = await readHeader(fh, 'csv');
      const opts = { format: 'csv' as const, dataOffset: info.dataOffset, firstLine: info.firstLine, batchRecords: 100 };
      const a: BatchRange[] = [];
      for await (const b of planBatches(fh, opts)) a.push(b);
      const b2: BatchRange[] = [];
      for await (const b of planBatches(fh, { ...opts, tail: { slots: 4, endOffset: size } })) b2.push(b);
      assert.deepEqual(b2, a);
      assert.equal(a.length, 20);
    } finally {
      await fh.close();
    }
  });
});
