// createStreamBatcher: burst mode, where the client streams records in arbitrary byte chunks (a record may
// straddle chunks) and the coordinator dispatches complete batches of N records.
import { createBoundaryScanner } from './boundary-scanner.js';
import { resolveDialect } from './dialect.js';
import type { RecordFormat } from './types.js';

export interface StreamBatch {
  index: number;
  bytes: Buffer;
  records: number;
  /** 1-based line of the batch's first byte in the client's stream. */
  firstLine: number;
  /** Records in all earlier batches (0-based ordinal of this batch's first record). */
  firstRecord: number;
}

export interface StreamBatcherOptions {
  format: RecordFormat;
  batchRecords: number;
  quote?: string;
  delimiter?: string;
  /** CSV only: the first non-empty record is the header, exposed as `header`, not batched. @default false */
  header?: boolean;
  /**
   * Bound on buffered bytes: a batch reaching it is emitted early with fewer records; a single record
   * larger than it is an error. @default 64 MiB
   */
  maxBatchBytes?: number;
}

export interface StreamBatcher {
  /** Feeds the next chunk (kept by reference until batched); returns the batches it completed. */
  push(chunk: Buffer): StreamBatch[];
  /** End of input: returns the last, partial batch if any. */
  end(): StreamBatch[];
  /** The header record (terminator and BOM excluded) once seen, with `header: true`. */
  readonly header: Buffer | undefined;
  readonly bufferedBytes: number;
}

export function createStreamBatcher(opts: StreamBatcherOptions): StreamBatcher {
  if (!(opts.batchRecords >= 1)) throw new RangeError('batchRecords must be at least 1');
  const maxBatchBytes = opts.maxBatchBytes ?? 64 * 1024 * 1024;
  const quote = opts.format === 'csv' ? resolveDialect(opts).quote : undefined;
  const scanner = createBoundaryScanner({ quote, start: 0 });
  let wantHeader = opts.format === 'csv' && opts.header === true;
  let header: Buffer | undefined;

  // Unbatched bytes: `pieces` concatenated start at absolute offset `piecesStart`.
  let pieces: Buffer[] = [];
  let piecesStart = 0;
  let total = 0;
  let index = 0;
  let emitted = 0;
  let records = 0;
  let batchLine = 1;
  let lastBoundary = 0;
  let lastBoundaryRecords = 0;
  let lastBoundaryLine = 1;

  /** Removes and returns the bytes [piecesStart, end). */
  function take(end: number): Buffer {
    const want = end - piecesStart;
    const out: Buffer[] = [];
    let got = 0;
    while (got < want) {
      const piece = pieces[0]!;
      const need = want - got;
      if (piece.length <= need) {
        out.push(piece);
        got += piece.length;
        pieces.shift();
      } else {
        out.push(piece.subarray(0, need));
        pieces[0] = piece.subarray(need);
        got += need;
      }
    }
    piecesStart = end;
    return out.length === 1 ? Buffer.from(out[0]!) : Buffer.concat(out, want);
  }

  function emit(end: number, count: number, nextLine: number, into: StreamBatch[]): void {
    into.push({ index: index++, bytes: take(end), records: count, firstLine: batchLine, firstRecord: emitted });
    emitted += count;
    batchLine = nextLine;
  }

  function takeHeader(end: number): void {
    let bytes = take(end);
    if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    const text = bytes.toString('utf8');
    // Leading empty lines are skipped like the decoder does; the header is the rest without its terminator.
    header = Buffer.from(text.replace(/^(?:\r?\n)+/, '').replace(/\r?\n$/, ''), 'utf8');
    wantHeader = false;
  }

  function push(chunk: Buffer): StreamBatch[] {
    const out: StreamBatch[] = [];
    const base = total;
    pieces.push(chunk);
    total += chunk.length;
    scanner.scan(chunk, base, (end, empty) => {
      if (wantHeader) {
        if (!empty) {
          takeHeader(end);
          batchLine = 1 + scanner.newlines;
        }
        return;
      }
      if (!empty) records++;
      if (records >= opts.batchRecords) {
        emit(end, records, 1 + scanner.newlines, out);
        records = 0;
      }
      lastBoundary = end;
      lastBoundaryRecords = records;
      lastBoundaryLine = 1 + scanner.newlines;
    });
    if (total - piecesStart > maxBatchBytes) {
      if (lastBoundary > piecesStart && lastBoundaryRecords > 0) {
        emit(lastBoundary, lastBoundaryRecords, lastBoundaryLine, out);
        records -= lastBoundaryRecords;
        lastBoundaryRecords = 0;
      }
      if (total - piecesStart > maxBatchBytes) {
        throw new RangeError(`a record exceeds maxBatchBytes (${maxBatchBytes} bytes) at line ${batchLine}`);
      }
    }
    return out;
  }

  function end(): StreamBatch[] {
    const out: StreamBatch[] = [];
    if (!scanner.pendingNonEmpty(total)) {
      if (records > 0) emit(lastBoundary, records, batchLine, out);
      pieces = [];
      piecesStart = total;
      return out;
    }
    if (wantHeader) {
      takeHeader(total);
      return out;
    }
    emit(total, records + 1, batchLine, out);
    records = 0;
    return out;
  }

  return {
    push,
    end,
    get header() {
      return header;
    },
    get bufferedBytes() {
      return total - piecesStart;
    },
  };
}
