import assert from 'node:assert/strict';
import type { InputChunk } from '@flowmesh/contracts';
import { createStreamSource } from '../src/stream-source.js';

async function* chunks(parts: Array<InputChunk | 'end'>): AsyncGenerator<InputChunk | 'end'> {
  for (const p of parts) yield p;
}
const data = (s: string): InputChunk => ({ data: Buffer.from(s), records: [] });

describe('stream source (burst mode)', () => {
  it('cuts streamed CSV into batches by record count, header kept apart, records straddling chunks', async () => {
    const src = createStreamSource(chunks([data('id,name\n1,a\n2,"b\nb"\n3'), data(',c\n4,d\n5,e\n'), 'end']), {
      format: 'csv',
      batchRecords: 2,
      delimiter: ',',
      quote: '"',
    });
    const batches = [];
    for (let b = await src.next(); b; b = await src.next()) batches.push(b);
    assert.equal(src.header().toString(), 'id,name');
    assert.deepEqual(
      batches.map((b) => b.bytes!.toString()),
      ['1,a\n2,"b\nb"\n', '3,c\n4,d\n', '5,e\n'],
    );
    assert.deepEqual(
      batches.map((b) => b.firstRecord),
      [0, 2, 4],
    );
    assert.deepEqual(
      batches.map((b) => b.firstLine),
      [2, 5, 7],
    );
    assert.deepEqual(
      batches.map((b) => b.index),
      [0, 1, 2],
    );
    assert.deepEqual(
      batches.map((b) => b.offset),
      [0, 12, 20],
    );
  });

  it('accepts one record text per entry and ends without end_input when the call half-closes', async () => {
    const src = createStreamSource(chunks([{ data: Buffer.alloc(0), records: ['{"a":1}', '{"a":2}', '{"a":3}'] }]), {
      format: 'jsonl',
      batchRecords: 2,
      delimiter: ',',
      quote: '"',
    });
    const first = await src.next();
    const second = await src.next();
    assert.equal(first?.bytes?.toString(), '{"a":1}\n{"a":2}\n');
    assert.equal(second?.bytes?.toString(), '{"a":3}\n');
    assert.equal(await src.next(), undefined);
  });

  it('reads input only when the next batch is wanted', async () => {
    let pulled = 0;
    async function* lazy(): AsyncGenerator<InputChunk | 'end'> {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield data(`{"i":${i}}\n`);
      }
      yield 'end';
    }
    const src = createStreamSource(lazy(), { format: 'jsonl', batchRecords: 5, delimiter: ',', quote: '"' });
    await src.next();
    assert.ok(pulled <= 6, `pulled ${pulled} chunks for the first batch of 5`);
  });
});
