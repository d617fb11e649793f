// planBatches plans as it reads: the first batches come out before a large file has been read to its end,
// and the planner's reads stay within one chunk at a time.
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { generateOrders, planBatches, readHeader } from '../src/io/index.js';
import { createTempDir } from './io-fixtures.js';

describe('io: incremental planning', function () {
  const tmp = createTempDir();
  after(() => tmp.remove());

  it('yields the first batch after reading one chunk of a 20k-record file', async function () {
    const path = tmp.file('orders.csv', Buffer.concat([...generateOrders({ records: 20_000, seed: 2 })]));
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const info = await readHeader(fh, 'csv');
      let bytesRead = 0;
      let largestRead = 0;
      // Only `read` is used by the planner; count what it asks for.
      const counting = {
        read: async (buffer: Buffer, offset: number, length: number, position: number) => {
          largestRead = Math.max(largestRead, length);
          const result = await fh.read(buffer, offset, length, position);
          bytesRead += result.bytesRead;
          return result;
        },
      } as unknown as FileHandle;
      const plan = planBatches(counting, { format: 'csv', dataOffset: info.dataOffset, firstLine: info.firstLine, batchRecords: 100, chunkBytes: 64 * 1024 });
      const first = await plan.next();
      assert.equal(first.done, false);
      assert.equal(first.value!.offset, info.dataOffset);
      assert.equal(first.value!.records, 100);
      assert.ok(bytesRead <= 64 * 1024 && bytesRead < size / 10, `read ${bytesRead} of ${size} bytes before the first batch`);
      let batches = 1;
      let records = 100;
      for await (const batch of plan) {
        batches++;
        records += batch.records;
      }
      assert.equal(records, 20_000);
      assert.equal(batches, 200);
      assert.equal(largestRead, 64 * 1024);
      assert.equal(bytesRead, size - info.dataOffset);
    } finally {
      await fh.close();
    }
  });

  it('refuses batch sizes below 1', async function () {
    const path = tmp.file('x.csv', 'a\n1\n');
    const fh = await open(path, 'r');
    try {
      await assert.rejects(planBatches(fh, { format: 'csv', dataOffset: 2, firstLine: 2, batchBytes: 0 }).next(), RangeError);
      await assert.rejects(planBatches(fh, { format: 'csv', dataOffset: 2, firstLine: 2, batchRecords: 0 }).next(), RangeError);
    } finally {
      await fh.close();
    }
  });
});
