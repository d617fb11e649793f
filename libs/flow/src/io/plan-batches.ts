// planBatches: offset-addressed batches aligned to record boundaries, planned incrementally.
// The file is read in bounded chunks and batches are yielded as soon as their end is found, so the
// coordinator dispatches the first batches before a large file has been scanned to its end (issue 4, item 2).
import type { FileHandle } from 'node:fs/promises';
import { createBoundaryScanner } from './boundary-scanner.js';
import { resolveDialect } from './dialect.js';
import { tailBatchBytes, type TailPolicy } from './tail-batch-bytes.js';
import type { BatchRange, RecordFormat } from './types.js';

export interface PlanOptions {
  format: RecordFormat;
  /** Where data records start (from readHeader). */
  dataOffset: number;
  /** 1-based source line at `dataOffset` (from readHeader). */
  firstLine: number;
  /** Cut at the first record boundary at or after offset + batchBytes. @default 4 MiB when batchRecords is absent */
  batchBytes?: number;
  /** Cut after this many non-empty records. When both are given, whichever comes first. */
  batchRecords?: number;
  /** CSV quote character (quote-aware scan). @default '"' */
  quote?: string;
  delimiter?: string;
  /** Read size; memory held by the planner is about one chunk. @default 1 MiB */
  chunkBytes?: number;
  /**
   * Batches shrink toward `tail.endOffset` so `tail.slots` slots finish together (tail-batch-bytes.ts);
   * applies to the byte cut only. @default none: every batch is cut at batchBytes
   */
  tail?: TailPolicy;
}

export async function* planBatches(fh: FileHandle, opts: PlanOptions): AsyncGenerator<BatchRange, void, undefined> {
  const batchRecords = opts.batchRecords;
  const batchBytes = opts.batchBytes ?? (batchRecords === undefined ? 4 * 1024 * 1024 : Infinity);
  if (!(batchBytes >= 1) || (batchRecords !== undefined && !(batchRecords >= 1))) {
    throw new RangeError('batchBytes and batchRecords must be at least 1');
  }
  const chunkBytes = opts.chunkBytes ?? 1024 * 1024;
  const quote = opts.format === 'csv' ? resolveDialect(opts).quote : undefined;
  const scanner = createBoundaryScanner({ quote, start: opts.dataOffset });

  let index = 0;
  let batchStart = opts.dataOffset;
  let batchLine = opts.firstLine;
  let records = 0;
  let firstRecord = 0;
  const tail = opts.tail;
  const cutAt = (start: number): number =>
    tail ? tailBatchBytes(tail.endOffset - start, batchBytes, tail) : batchBytes;
  // The byte size of the batch being planned (only smaller than batchBytes near the end, with a tail policy).
  let cutBytes = cutAt(batchStart);
  const ready: BatchRange[] = [];
  const onRecord = (end: number, empty: boolean): void => {
    if (!empty) records++;
    // A batch always holds at least one record; one record longer than batchBytes becomes its own batch.
    if (records > 0 && (end - batchStart >= cutBytes || records === batchRecords)) {
      ready.push({ index: index++, offset: batchStart, length: end - batchStart, firstLine: batchLine, records, firstRecord });
      firstRecord += records;
      batchStart = end;
      batchLine = opts.firstLine + scanner.newlines;
      records = 0;
      cutBytes = cutAt(batchStart);
    }
  };

  const chunk = Buffer.allocUnsafe(chunkBytes);
  let position = opts.dataOffset;
  for (;;) {
    const { bytesRead } = await fh.read(chunk, 0, chunkBytes, position);
    if (bytesRead === 0) break;
    scanner.scan(chunk.subarray(0, bytesRead), position, onRecord);
    position += bytesRead;
    for (const batch of ready) yield batch;
    ready.length = 0;
  }
  // The last record may lack its final newline (or hold an unterminated quote up to the end).
  if (scanner.pendingNonEmpty(position)) records++;
  if (records > 0) {
    yield { index, offset: batchStart, length: position - batchStart, firstLine: batchLine, records, firstRecord };
  }
}
