// Burst mode: the caller streams input chunks in the RunJob call; they are cut into batches by record
// count and sent inline. Input is read only when the driver wants the next batch, so a full reorder
// window or busy executors slow the caller down (gRPC flow control) instead of buffering its input.
import type { InputChunk } from '@flowmesh/contracts';
import { createStreamBatcher } from '@flowmesh/flow';
import type { RecordFormat } from '@flowmesh/flow';
import type { BatchSource, SourceBatch } from './job-driver.js';

export type StreamSource = BatchSource;

export function createStreamSource(
  input: AsyncIterator<InputChunk | 'end'>,
  opts: { format: RecordFormat; batchRecords: number; delimiter: string; quote: string },
): StreamSource {
  const batcher = createStreamBatcher({
    format: opts.format,
    batchRecords: opts.batchRecords,
    delimiter: opts.delimiter,
    quote: opts.quote,
    header: opts.format === 'csv',
  });
  const ready: SourceBatch[] = [];
  let ended = false;
  let offset = 0;
  let firstRecord = 0;
  const take = (batches: ReturnType<typeof batcher.push>): void => {
    for (const b of batches) {
      ready.push({
        index: b.index,
        offset,
        length: b.bytes.length,
        firstLine: b.firstLine,
        firstRecord,
        records: b.records,
        bytes: b.bytes,
      });
      offset += b.bytes.length;
      firstRecord += b.records;
    }
  };
  return {
    bytesTotal: 0,
    header: () => batcher.header ?? Buffer.alloc(0),
    async next() {
      while (ready.length === 0 && !ended) {
        const r = await input.next();
        if (r.done || r.value === 'end') {
          ended = true;
          take(batcher.end());
          break;
        }
        const chunk = r.value;
        if (chunk.data.length > 0) take(batcher.push(chunk.data));
        if (chunk.records.length > 0) take(batcher.push(Buffer.from(chunk.records.map((t) => `${t}\n`).join(''))));
      }
      return ready.shift();
    },
    read: async () => {
      throw new Error('streamed input has no file to read from');
    },
  };
}
