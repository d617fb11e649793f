// decodeRecords: one batch of bytes → records, their source lines, and per-record errors.
// The Buffer is decoded to a string once per batch (the fast path); parsing works on that string.
import { countLf, decodeCsvInto, scanCsvRecords } from './decode-csv.js';
import { decodeJsonlInto, decodeLinesInto } from './decode-lines.js';
import { resolveDialect } from '../../../libs/flow/src/io/dialect.js';
import type { DecodeOptions, DecodeResult, RecordFormat } from '../../../libs/flow/src/io/types.js';

const BOM = 0xfeff;

export function decodeRecords(format: RecordFormat, bytes: Buffer | string, opts: DecodeOptions = {}): DecodeResult {
  const s = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  // A UTF-8 BOM can only lead the file; strip it wherever the input starts with one.
  const start = s.length > 0 && s.charCodeAt(0) === BOM ? 1 : 0;
  const firstLine = opts.firstLine ?? 1;
  const out: DecodeResult = { records: [], lines: [], errors: [] };
  switch (format) {
    case 'jsonl':
      decodeJsonlInto(s, start, firstLine, out);
      return out;
    case 'lines':
      decodeLinesInto(s, start, firstLine, out);
      return out;
    case 'csv': {
      const dialect = resolveDialect(opts);
      let fields = opts.fields;
      let from = start;
      let line = firstLine;
      if (fields === undefined) {
        // No header given: the first record of the input is the header (whole-file decode, local runs).
        let header: string[] | undefined;
        from = scanCsvRecords(s, start, firstLine, dialect, (values) => {
          header = values;
          return true;
        }, () => undefined);
        if (header === undefined) return { ...out, fields: [] };
        line = firstLine + countLf(s, start, from);
        fields = header;
      }
      decodeCsvInto(s, from, line, fields, dialect, out);
      out.fields = fields;
      return out;
    }
    default:
      throw new TypeError(`unknown record format: ${String(format)}`);
  }
}
