// decodeRecords / createRecordReader: one batch of bytes → records, their source lines, and per-record errors.
// The Buffer is decoded to a string once per batch (the fast path); parsing works on that string.
// The reader hands out records as they are decoded (runBatch runs each through the steps and encodes it at
// once, so a batch's records never all live together: measured ~30% less CPU per record on the orders data,
// most of it garbage collection of 4 MiB batches, bench/README.md); decodeRecords collects them in arrays.
import { countLf, readCsv, scanCsvRecords } from './decode-csv.js';
import { readJsonl, readPlainLines, type ErrorVisit, type RecordVisit, type ScanCursor } from './decode-lines.js';
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

export function createRecordReader(format: RecordFormat, bytes: Buffer | string, opts: DecodeOptions = {}): RecordReader {
  const s = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  // A UTF-8 BOM can only lead the file; strip it wherever the input starts with one.
  const cursor: ScanCursor = { pos: s.length > 0 && s.charCodeAt(0) === BOM ? 1 : 0, line: opts.firstLine ?? 1 };
  switch (format) {
    case 'jsonl':
      return {
        fields: undefined,
        read(onRecord, onError) {
          return readJsonl(s, cursor, onRecord, onError);
        },
      };
    case 'lines':
      return {
        fields: undefined,
        read(onRecord) {
          return readPlainLines(s, cursor, onRecord);
        },
      };
    case 'csv': {
      const dialect = resolveDialect(opts);
      let fields = opts.fields;
      if (fields === undefined) {
        // No header given: the first record of the input is the header (whole-file decode, local runs).
        let header: string[] | undefined;
        const from = scanCsvRecords(s, cursor.pos, cursor.line, dialect, (values) => {
          header = values;
          return true;
        }, () => undefined);
        if (header === undefined) return { fields: [], read: () => false };
        cursor.line += countLf(s, cursor.pos, from);
        cursor.pos = from;
        fields = header;
      }
      const csvFields = fields;
      // A method, not an arrow property: under tsx a named closure per batch costs a `__name` call (run-batch.ts).
      return {
        fields: csvFields,
        read(onRecord, onError) {
          return readCsv(s, cursor, csvFields, dialect, onRecord, onError);
        },
      };
    }
    default:
      throw new TypeError(`unknown record format: ${String(format)}`);
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
