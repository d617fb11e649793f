// CSV output encoding for file sinks (RFC 4180): a field is quoted when it holds the delimiter, the quote,
// CR or LF, or leading/trailing spaces; quotes are doubled. null/undefined become empty fields, objects JSON.
import { resolveDialect } from './dialect.js';
import type { FlowRecord } from './types.js';

export interface EncodeCsvOptions {
  delimiter?: string;
  quote?: string;
  /** Write the column names as the first line. @default true */
  header?: boolean;
  /** Line terminator. @default '\n' */
  newline?: '\n' | '\r\n';
}

export function encodeCsv(records: Iterable<FlowRecord>, columns: string[], opts: EncodeCsvOptions = {}): Buffer {
  const { delimiter, quote } = resolveDialect(opts);
  const newline = opts.newline ?? '\n';
  const field = createFieldEncoder(delimiter, quote);
  let text = '';
  if (opts.header ?? true) text += columns.map(field).join(delimiter) + newline;
  for (const record of records) {
    let line = '';
    for (let k = 0; k < columns.length; k++) {
      if (k > 0) line += delimiter;
      line += field(record[columns[k]!]);
    }
    // An empty line would be skipped by readers (ours too): a lone empty field is written as "".
    text += (line === '' ? quote + quote : line) + newline;
  }
  return Buffer.from(text, 'utf8');
}

function createFieldEncoder(delimiter: string, quote: string): (value: unknown) => string {
  const needsQuote = new RegExp(`[${escapeClass(delimiter)}${escapeClass(quote)}\\r\\n]|^\\s|\\s$`);
  const quoteAll = new RegExp(escapeRegExp(quote), 'g');
  const doubled = quote + quote;
  return (value) => {
    let s: string;
    if (value === null || value === undefined) return '';
    if (typeof value === 'string') s = value;
    else if (typeof value === 'object') s = JSON.stringify(value);
    else s = String(value);
    return needsQuote.test(s) ? quote + s.replace(quoteAll, doubled) + quote : s;
  };
}

function escapeClass(ch: string): string {
  return ch.replace(/[\\\]^-]/g, '\\$&');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
