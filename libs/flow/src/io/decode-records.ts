// decodeRecords / createRecordReader: one batch of bytes → records, their source lines, and per-record errors.
// The Buffer is decoded to text a window of ~32 KiB at a time (decode-window.ts: no batch-sized string), and
// parsing works on each window's string.
// The reader hands out records as they are decoded (runBatch runs each through the steps and encodes it at
// once, so a batch's records never all live together: measured ~30% less CPU per record on the orders data,
// most of it garbage collection of 4 MiB batches, bench/README.md); decodeRecords collects them in arrays.
import { countLf, readCsv, scanCsvRecords, type CsvWindowScan } from './decode-csv.js';
import {
  READ_OPEN,
  READ_PAUSED,
  readJsonl,
  readPlainLines,
  type ErrorVisit,
  type ReadStop,
  type RecordVisit,
  type ScanCursor,
} from './decode-lines.js';
import { TextWindow } from './decode-window.js';
import { resolveDialect } from './dialect.js';
import type { DecodeOptions, DecodeResult, RecordFormat } from './types.js';

const BOM = 0xfeff;

export type { RecordVisit, ErrorVisit } from './decode-lines.js';

export interface RecordReader {
  /** CSV: the header fields in effect (the given ones, or the input's first record). */
  readonly fields: string[] | undefined;
  /**
   * Visits the next records in source order: `onRecord` for each record (returning true pauses right after it),
   * `onError` for each record that does not decode. Returns true when paused with input left, false at the end.
   */
  read(onRecord: RecordVisit, onError: ErrorVisit): boolean;
}

/** Reads one window's string from the cursor (the format's reader). */
type ReadWindow = (s: string, cursor: ScanCursor, onRecord: RecordVisit, onError: ErrorVisit, more: boolean) => ReadStop;

export function createRecordReader(format: RecordFormat, bytes: Buffer | string, opts: DecodeOptions = {}): RecordReader {
  const win = new TextWindow(bytes, opts.windowBytes);
  // A UTF-8 BOM can only lead the file; strip it wherever the input starts with one.
  const cursor: ScanCursor = { pos: win.s.length > 0 && win.s.charCodeAt(0) === BOM ? 1 : 0, line: opts.firstLine ?? 1 };
  switch (format) {
    case 'jsonl':
      return new WindowReader(win, cursor, undefined, (s, c, onRecord, onError) => readJsonl(s, c, onRecord, onError));
    case 'lines':
      return new WindowReader(win, cursor, undefined, (s, c, onRecord) => readPlainLines(s, c, onRecord));
    case 'csv': {
      const dialect = resolveDialect(opts);
      const scan: CsvWindowScan = { more: false, open: false, line: 0 };
      let fields = opts.fields;
      if (fields === undefined) {
        // No header given: the first record of the input is the header (whole-file decode, local runs).
        let header: string[] | undefined;
        for (;;) {
          scan.more = !win.final;
          scan.open = false;
          const from = scanCsvRecords(win.s, cursor.pos, cursor.line, dialect, (values) => {
            header = values;
            return true;
          }, () => undefined, scan);
          if (scan.open) {
            win.widen();
            continue;
          }
          if (header !== undefined) {
            cursor.line += countLf(win.s, cursor.pos, from);
            cursor.pos = from;
            break;
          }
          if (win.final) return { fields: [], read: () => false };
          win.next();
          cursor.pos = 0;
          cursor.line = scan.line;
        }
        fields = header;
      }
      const csvFields = fields;
      return new WindowReader(win, cursor, csvFields, (s, c, onRecord, onError, more) => {
        scan.more = more;
        return readCsv(s, c, csvFields, dialect, onRecord, onError, scan);
      });
    }
    default:
      throw new TypeError(`unknown record format: ${String(format)}`);
  }
}

/**
 * Reads window after window (a class: one is made per batch, and under tsx each named closure costs a `__name`
 * call, run-batch.ts). A pause is honoured even at a window's end; a record still open at a window's end
 * (CSV) widens the window and is read again from its start.
 */
class WindowReader implements RecordReader {
  constructor(
    private readonly win: TextWindow,
    private readonly cursor: ScanCursor,
    readonly fields: string[] | undefined,
    private readonly readWindow: ReadWindow,
  ) {}

  read(onRecord: RecordVisit, onError: ErrorVisit): boolean {
    const { win, cursor } = this;
    for (;;) {
      const stop = this.readWindow(win.s, cursor, onRecord, onError, !win.final);
      if (stop === READ_PAUSED) return !win.final || cursor.pos < win.s.length;
      if (stop === READ_OPEN) win.widen();
      else if (win.final) return false;
      else {
        win.next();
        cursor.pos = 0;
      }
    }
  }
}

export function decodeRecords(format: RecordFormat, bytes: Buffer | string, opts: DecodeOptions = {}): DecodeResult {
  const reader = createRecordReader(format, bytes, opts);
  const out: DecodeResult = { records: [], lines: [], errors: [] };
  const { records, lines, errors } = out;
  reader.read(
    (record, line) => {
      records.push(record);
      lines.push(line);
    },
    (error) => {
      errors.push(error);
    },
  );
  if (reader.fields !== undefined) out.fields = reader.fields;
  return out;
}
