// Burst mode: records streamed in arbitrary chunks (straddling records, quoted newlines, a header) come out
// as complete batches of N records whose concatenation is the input and whose decode equals the whole.
import assert from 'node:assert/strict';
import { createStreamBatcher, decodeRecords, generateOrders, parseHeader } from '../src/io/index.js';
import type { StreamBatch } from '../src/io/index.js';
import { seededRandom, stripFields } from './io-fixtures.js';

function splitRandomly(bytes: Buffer, random: () => number, maxChunk: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(random() * maxChunk);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

describe('io: stream batcher (burst mode)', function () {
  const csv = Buffer.concat([...generateOrders({ records: 500, seed: 3, newlineRate: 0.2, invalidRate: 0.1, newline: '\r\n' })]);

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`CSV with a header, random chunk splits (seed ${seed})`, function () {
      const random = seededRandom(seed);
      const batchRecords = 1 + Math.floor(random() * 40);
      const batcher = createStreamBatcher({ format: 'csv', batchRecords, header: true });
      const batches: StreamBatch[] = [];
      for (const chunk of splitRandomly(csv, random, seed === 1 ? 3 : 400)) batches.push(...batcher.push(chunk));
      batches.push(...batcher.end());
      assert.equal(batcher.bufferedBytes, 0);
      const fields = parseHeader(batcher.header!);
      assert.equal(fields.length, 9);

      const whole = decodeRecords('csv', csv);
      const union = { records: [] as unknown[], lines: [] as number[], errors: [] as unknown[] };
      let firstRecord = 0;
      for (const [i, batch] of batches.entries()) {
        assert.equal(batch.index, i);
        assert.equal(batch.firstRecord, firstRecord);
        firstRecord += batch.records;
        if (i < batches.length - 1) assert.equal(batch.records, batchRecords);
        const part = decodeRecords('csv', batch.bytes, { fields, firstLine: batch.firstLine });
        assert.equal(part.records.length + part.errors.length, batch.records);
        union.records.push(...part.records);
        union.lines.push(...part.lines);
        union.errors.push(...part.errors);
      }
      assert.deepEqual(union, stripFields(whole));
      assert.equal(Buffer.concat([batcher.header!, Buffer.from('\r\n'), ...batches.map((b) => b.bytes)]).toString(), csv.toString());
    });
  }

  it('JSONL without final newline; empty lines do not count as records', function () {
    const batcher = createStreamBatcher({ format: 'jsonl', batchRecords: 2 });
    const out = [...batcher.push(Buffer.from('{"a":1}\n\n{"a"')), ...batcher.push(Buffer.from(':2}\n{"a":3}')), ...batcher.end()];
    assert.deepEqual(out.map((b) => [b.bytes.toString(), b.records, b.firstLine]), [['{"a":1}\n\n{"a":2}\n', 2, 1], ['{"a":3}', 1, 4]]);
  });

  it('is bounded: emits early at maxBatchBytes, refuses a single record larger than it', function () {
    const batcher = createStreamBatcher({ format: 'lines', batchRecords: 1000, maxBatchBytes: 10 });
    const early = batcher.push(Buffer.from('abc\ndef\nghi'));
    assert.deepEqual(early.map((b) => [b.bytes.toString(), b.records]), [['abc\ndef\n', 2]]);
    assert.ok(batcher.bufferedBytes <= 10);
    assert.throws(() => batcher.push(Buffer.from('ijklmnopq')), /exceeds maxBatchBytes/);
  });
});
