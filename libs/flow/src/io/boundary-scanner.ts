// Record-boundary scanner over raw bytes, fed chunk by chunk (our product's own logic, so hand-written).
//
// A record ends at a LF seen at even quote parity counted from the data start (RFC 4180: quotes only open
// and close quoted fields, and "" toggles twice). This is the same rule decode-csv.ts uses to find record
// ends, which is what guarantees that cutting at these boundaries never splits or duplicates a record.
// Native Buffer#indexOf does the searching (a newline scan runs at several GB/s, a quote-aware one ~1 GB/s,
// issue 7), so planning is never the bottleneck. Without a quote (jsonl, lines) only newlines matter.

const LF = 10;
const CR = 13;

export interface BoundaryScanner {
  /**
   * Scans `chunk`, which starts at absolute offset `base` (chunks must be contiguous), calling
   * `onRecord(end, empty)` after each record terminator; `end` is the absolute offset after the LF.
   * `empty` is true for an empty line ("" or "\r"), which decoders skip.
   */
  scan(chunk: Buffer, base: number, onRecord: (end: number, empty: boolean) => void): void;
  /** Absolute offset where the current (unterminated) record starts. */
  readonly recordStart: number;
  /** Newlines seen so far (source line of `recordStart` is `firstLine + newlines`). */
  readonly newlines: number;
  /** True when the bytes after `recordStart` up to the end of the last chunk are not only "" or "\r". */
  pendingNonEmpty(end: number): boolean;
}

export function createBoundaryScanner(opts: { quote?: string | undefined; start?: number }): BoundaryScanner {
  const q = opts.quote === undefined ? -1 : opts.quote.charCodeAt(0);
  let recordStart = opts.start ?? 0;
  let newlines = 0;
  let inQuote = false;
  // The first byte of the current record, kept because it may lie in an earlier chunk.
  let firstByte = -1;
  let scannedTo = recordStart;

  function scan(chunk: Buffer, base: number, onRecord: (end: number, empty: boolean) => void): void {
    const n = chunk.length;
    let i = 0;
    if (firstByte < 0 && recordStart >= base && recordStart < base + n) firstByte = chunk[recordStart - base]!;
    // Next quote at or after i in this chunk, or n when none: avoids one search per line on quote-free data.
    let nextQuote = q < 0 ? n : chunk.indexOf(q, 0);
    if (nextQuote < 0) nextQuote = n;
    while (i < n) {
      if (inQuote) {
        let close = chunk.indexOf(q, i);
        if (close < 0) close = n;
        newlines += countLf(chunk, i, close);
        if (close === n) break;
        inQuote = false;
        i = close + 1;
        continue;
      }
      let nl = chunk.indexOf(LF, i);
      if (nl < 0) nl = n;
      if (nextQuote < i) {
        nextQuote = chunk.indexOf(q, i);
        if (nextQuote < 0) nextQuote = n;
      }
      if (nextQuote < nl) {
        inQuote = true;
        i = nextQuote + 1;
        continue;
      }
      if (nl === n) break;
      newlines++;
      const end = base + nl + 1;
      const len = end - 1 - recordStart;
      const empty = len === 0 || (len === 1 && firstByte === CR);
      recordStart = end;
      firstByte = nl + 1 < n ? chunk[nl + 1]! : -1;
      onRecord(end, empty);
      i = nl + 1;
    }
    scannedTo = base + n;
  }

  return {
    scan,
    get recordStart() {
      return recordStart;
    },
    get newlines() {
      return newlines;
    },
    pendingNonEmpty(end: number) {
      const len = Math.min(end, scannedTo) - recordStart;
      return len > 1 || (len === 1 && firstByte !== CR);
    },
  };
}

function countLf(buf: Buffer, from: number, to: number): number {
  let count = 0;
  let p = buf.indexOf(LF, from);
  while (p >= 0 && p < to) {
    count++;
    p = buf.indexOf(LF, p + 1);
  }
  return count;
}
