// RFC 4180 CSV decoding of one batch (already decoded to a string once per batch).
//
// Hand-written on purpose (issue 4, item 1): the engine needs the 1-based source line of every record and
// a per-record error (wrong field count, stray or unterminated quote) while the batch goes on, and record
// boundaries must be exactly the ones the planner's quote-parity scan cuts at (src/io/boundary-scanner.ts),
// or batches would split or merge records differently from a whole-file decode. udsv (the fastest library
// measured) returns rows without positions, picks one row separator for the whole input (mixed CRLF/LF
// leaves a trailing '\r') and does not report malformed rows; csv-parse reports lines but runs ~130k rec/s.
// See test/io-parser-choice.test.ts for the measured cases and bench figures.
//
// Fast path: a line without any quote character is split natively (`String#split`); only lines that hold a
// quote take the character-level path.
import type { DecodeError, FlowRecord } from './types.js';

export interface CsvDialect {
  delimiter: string;
  quote: string;
}

export interface CsvDecodeState {
  records: FlowRecord[];
  lines: number[];
  errors: DecodeError[];
}

const LF = 10;
const CR = 13;

/** Result of parsing one record starting at a position. */
interface ParsedRecord {
  values: string[] | undefined;
  reason: string | undefined;
  /** Position after the record's terminator (or the end of the input). */
  next: number;
}

/**
 * Visits each non-empty record of `s` from `start`, calling `onRecord(values, line, raw)` or `onError`.
 * Returns nothing; line numbers start at `firstLine` for position `start`.
 */
export function scanCsvRecords(
  s: string,
  start: number,
  firstLine: number,
  dialect: CsvDialect,
  onRecord: (values: string[], line: number, recStart: number, recEnd: number) => boolean | void,
  onError: (reason: string, line: number, raw: string) => void,
): number {
  const { delimiter, quote } = dialect;
  const n = s.length;
  let pos = start;
  let line = firstLine;
  // Position of the next quote at or after `pos` (n when none): searched once per quoted line, not per line.
  let nextQuote = s.indexOf(quote, pos);
  if (nextQuote < 0) nextQuote = n;
  while (pos < n) {
    let nl = s.indexOf('\n', pos);
    if (nl < 0) nl = n;
    if (nl === pos || (nl === pos + 1 && s.charCodeAt(pos) === CR)) {
      pos = nl + 1; // empty line: skipped, still counted
      line++;
      continue;
    }
    if (nextQuote < pos) {
      nextQuote = s.indexOf(quote, pos);
      if (nextQuote < 0) nextQuote = n;
    }
    if (nextQuote >= nl) {
      const end = nl > pos && s.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
      const stop = onRecord(s.slice(pos, end).split(delimiter), line, pos, end);
      pos = nl + 1;
      line++;
      if (stop === true) return pos;
      continue;
    }
    const parsed = parseQuotedRecord(s, pos, delimiter, quote);
    const recLine = line;
    line += countLf(s, pos, parsed.next);
    if (parsed.values !== undefined) {
      const end = trimTerminator(s, pos, parsed.next);
      if (onRecord(parsed.values, recLine, pos, end) === true) return parsed.next;
    } else {
      onError(parsed.reason ?? 'malformed record', recLine, s.slice(pos, trimTerminator(s, pos, parsed.next)));
    }
    pos = parsed.next;
  }
  return pos;
}

/** Character-level parse of a record that contains at least one quote character. */
function parseQuotedRecord(s: string, start: number, delimiter: string, quote: string): ParsedRecord {
  const n = s.length;
  const values: string[] = [];
  const d = delimiter.charCodeAt(0);
  const q = quote.charCodeAt(0);
  let i = start;
  for (;;) {
    if (i < n && s.charCodeAt(i) === q) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const close = s.indexOf(quote, j);
        if (close < 0) return { values: undefined, reason: 'unterminated quoted field', next: n };
        if (close + 1 < n && s.charCodeAt(close + 1) === q) {
          value += s.slice(j, close + 1); // escaped quote ("")
          j = close + 2;
          continue;
        }
        value += s.slice(j, close);
        i = close + 1;
        break;
      }
      values.push(value);
      if (i >= n) return { values, reason: undefined, next: n };
      const c = s.charCodeAt(i);
      if (c === d) {
        i++;
        continue;
      }
      if (c === LF) return { values, reason: undefined, next: i + 1 };
      if (c === CR && (i + 1 === n || s.charCodeAt(i + 1) === LF)) return { values, reason: undefined, next: Math.min(n, i + 2) };
      return { values: undefined, reason: `unexpected character after closing quote in field ${values.length}`, next: skipRecord(s, i, false, quote) };
    }
    // Unquoted field: runs to the next delimiter or line end; a quote inside it is not RFC 4180.
    let k = i;
    while (k < n) {
      const c = s.charCodeAt(k);
      if (c === d || c === LF) break;
      if (c === q) {
        return { values: undefined, reason: `quote inside unquoted field ${values.length + 1}`, next: skipRecord(s, k + 1, true, quote) };
      }
      k++;
    }
    if (k >= n || s.charCodeAt(k) === LF) {
      const end = k > i && s.charCodeAt(k - 1) === CR ? k - 1 : k;
      values.push(s.slice(i, end));
      return { values, reason: undefined, next: Math.min(n, k + 1) };
    }
    values.push(s.slice(i, k));
    i = k + 1;
  }
}

/** Finds the end of a malformed record by quote parity, exactly as the planner's scan would. */
function skipRecord(s: string, from: number, inQuote: boolean, quote: string): number {
  const n = s.length;
  let p = from;
  let open = inQuote;
  for (;;) {
    if (open) {
      const close = s.indexOf(quote, p);
      if (close < 0) return n;
      p = close + 1;
      open = false;
      continue;
    }
    let nl = s.indexOf('\n', p);
    if (nl < 0) nl = n;
    const q = s.indexOf(quote, p);
    if (q >= 0 && q < nl) {
      p = q + 1;
      open = true;
      continue;
    }
    return Math.min(n, nl + 1);
  }
}

/** End of a record's text without its terminator. */
function trimTerminator(s: string, start: number, next: number): number {
  let end = next;
  if (end > start && s.charCodeAt(end - 1) === LF) end--;
  if (end > start && s.charCodeAt(end - 1) === CR) end--;
  return end;
}

export function countLf(s: string, from: number, to: number): number {
  let count = 0;
  let p = s.indexOf('\n', from);
  while (p >= 0 && p < to) {
    count++;
    p = s.indexOf('\n', p + 1);
  }
  return count;
}

/** Decodes CSV records keyed by `fields`; rows with another field count become errors. */
export function decodeCsvInto(
  s: string,
  start: number,
  firstLine: number,
  fields: string[],
  dialect: CsvDialect,
  out: CsvDecodeState,
): void {
  const width = fields.length;
  const { records, lines, errors } = out;
  scanCsvRecords(
    s,
    start,
    firstLine,
    dialect,
    (values, line, recStart, recEnd) => {
      if (values.length !== width) {
        errors.push({ line, reason: `expected ${width} fields, found ${values.length}`, raw: s.slice(recStart, recEnd) });
        return;
      }
      const record: FlowRecord = {};
      for (let k = 0; k < width; k++) record[fields[k]!] = values[k];
      records.push(record);
      lines.push(line);
    },
    (reason, line, raw) => {
      errors.push({ line, reason, raw });
    },
  );
}
