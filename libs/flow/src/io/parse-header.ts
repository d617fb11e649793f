// parseHeader: the fields of a raw CSV header record (as readHeader returns it and batches carry it).
import { scanCsvRecords } from './decode-csv.js';
import { resolveDialect } from './dialect.js';

export function parseHeader(header: Buffer | string, opts: { delimiter?: string; quote?: string } = {}): string[] {
  const text = typeof header === 'string' ? header : header.toString('utf8');
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let fields: string[] = [];
  scanCsvRecords(text, start, 1, resolveDialect(opts), (values) => {
    fields = values;
    return true;
  }, (reason) => {
    throw new SyntaxError(`CSV header: ${reason}`);
  });
  return fields;
}
