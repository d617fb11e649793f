// JSONL and plain lines: the same batch-union property as CSV (no quote awareness: quotes inside JSON
// strings never hold a raw newline), with malformed JSON lines as errors carrying their line.
import assert from 'node:assert/strict';
import { decodeRecords } from '../src/io/index.js';
import { createTempDir, decodeInBatches, stripFields } from './io-fixtures.js';

const JSONL = '\uFEFF{"id":1,"s":"a \\"quoted\\" word"}\n\n{"id":2,"s":"line\\nbreak, é"}\r\nnot json\n[1,2]\n{"id":3}';
const LINES = 'first\r\n\nsecond "quoted\nthird, with comma\n\r\nlast';

describe('io: JSONL and lines batches', function () {
  const tmp = createTempDir();
  after(() => tmp.remove());

  it('JSONL: objects, source lines, and errors for malformed or non-object lines', function () {
    const out = decodeRecords('jsonl', Buffer.from(JSONL), { firstLine: 1 });
    assert.deepEqual(out.records, [{ id: 1, s: 'a "quoted" word' }, { id: 2, s: 'line\nbreak, é' }, { id: 3 }]);
    assert.deepEqual(out.lines, [1, 3, 6]);
    assert.deepEqual(out.errors.map((e) => [e.line, e.raw]), [[4, 'not json'], [5, '[1,2]']]);
    assert.match(out.errors[0]!.reason, /invalid JSON/);
  });

  it('lines: one { line } per non-empty line, CR stripped', function () {
    const out = decodeRecords('lines', Buffer.from(LINES));
    assert.deepEqual(out.records.map((r) => r['line']), ['first', 'second "quoted', 'third, with comma', 'last']);
    assert.deepEqual(out.lines, [1, 3, 4, 6]);
  });

  for (const [format, content] of [['jsonl', JSONL], ['lines', LINES]] as const) {
    it(`${format}: every batch size and read size gives the whole-file result`, async function () {
      const path = tmp.file(`x.${format}`, content);
      let whole: unknown;
      for (const chunkBytes of [1, 5, 1 << 20]) {
        for (const batchBytes of [1, 2, 3, 7, 20, 1000]) {
          const run = await decodeInBatches(path, format, { batchBytes, chunkBytes });
          whole ??= stripFields(run.whole);
          assert.deepEqual(stripFields(run.result), whole, `batchBytes ${batchBytes}, chunkBytes ${chunkBytes}`);
        }
        for (const batchRecords of [1, 2, 4]) {
          const run = await decodeInBatches(path, format, { batchRecords, chunkBytes });
          assert.deepEqual(stripFields(run.result), whole, `batchRecords ${batchRecords}`);
        }
      }
    });
  }

  it('an empty JSONL file plans no batch', async function () {
    const run = await decodeInBatches(tmp.file('empty.jsonl', ''), 'jsonl', { batchRecords: 3 });
    assert.deepEqual(run.batches, []);
  });
});
