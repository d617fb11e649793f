// RFC 4180 CSV decoding of one batch (already decoded to a string once per batch).
//
// Hand-written on purpose (issue 4, item 1): the engine needs the 1-based source line of every record and
// a per-record error (wrong field count, stray or unterminated quote) while the batch goes on, and record
// ends must be exactly where the planner's quote-parity scan cuts (src/io/boundary-scanner.ts), or batches
// would split or merge records differently from a whole-file decode. udsv (the fastest library measured)
// returns rows without positions, throws on mixed CRLF/LF input, and silently mis-splits rows of the wrong
// width or with an unterminated quote; csv-parse reports lines but runs ~7× slower than this decoder.
// test/io-parser-choice.test.ts holds those cases; test/io-throughput.test.ts prints the figures.
//
// How it stays fast: a record's end is found by counting quotes line by line (parity, like the planner);
// the record's text is then split natively (`String#split`) and only pieces that start with a quote are
// re-joined (a quoted field may hold delimiters) and unescaped. Rows without quotes are a single split.
import { detachString } from './detach-string.js';
import { READ_END, READ_OPEN, READ_PAUSED } from './decode-lines.js';
import type { ErrorVisit, ReadStop, RecordVisit, ScanCursor } from './decode-lines.js';
import type { FlowRecord } from './types.js';

export interface CsvDialect {
  delimiter: string;
  quote: string;
}

const CR = 13;

/** In and out of a scan of `s` when `s` is one window of a longer text (decode-window.ts). */
export interface CsvWindowScan {
  /**
   * In: more text follows `s`, which ends with a newline. A record still open at the end of `s` (a quoted field
   * whose newline is where the window was cut) is then not malformed: the scan stops before it.
   */
  more: boolean;
  /** Out: the scan stopped before such a record (the returned position is its start). */
  open: boolean;
  /** Out: the 1-based source line at the returned position. */
  line: number;
}

/**
 * Visits each non-empty record of `s` from `start` (line numbers start at `firstLine` there), calling
 * `onRecord(values, line, recStart, recEnd)` — returning true stops the scan — or `onError` for a malformed
 * record. Returns the position after the last record visited (with `win`: see CsvWindowScan).
 */
export function scanCsvRecords(
  s: string,
  start: number,
  firstLine: number,
  dialect: CsvDialect,
  onRecord: (values: string[], line: number, recStart: number, recEnd: number) => boolean | void,
  onError: (reason: string, line: number, raw: string) => void,
  win?: CsvWindowScan,
): number {
  const more = win !== undefined && win.more;
  const { delimiter, quote } = dialect;
  const d = delimiter.charCodeAt(0);
  const q = quote.charCodeAt(0);
  const n = s.length;
  // Cursors: the next delimiter, newline and quote at or after the current position (n when none). Each is
  // searched again only once passed, so a record costs one native search per delimiter/quote/newline.
  let nextD = -1;
  let nextN = -1;
  let nextQ = -1;
  let pos = start;
  let line = firstLine;
  records: while (pos < n) {
    if (nextN < pos) nextN = indexOrEnd(s, '\n', pos);
    if (nextN === pos || (nextN === pos + 1 && s.charCodeAt(pos) === CR)) {
      pos = nextN + 1; // empty line: skipped, still counted
      line++;
      continue;
    }
    if (nextQ < pos) nextQ = indexOrEnd(s, quote, pos);
    const recLine = line;
    if (nextQ > nextN || nextQ === n) {
      // No quote before the line end: one native split.
      const recStart = pos;
      const nl = nextN;
      const end = nl > pos && s.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
      line++;
      pos = nl + 1;
      if (onRecord(s.slice(recStart, end).split(delimiter), recLine, recStart, end) === true) {
        if (win) win.line = line;
        return pos;
      }
      continue;
    }
    const values: string[] = [];
    const recStart = pos;
    let i = pos;
    for (;;) {
      if (i < n && s.charCodeAt(i) === q) {
        // Quoted field: up to the closing quote; "" is an escaped quote; newlines inside are counted.
        let value = '';
        let from = i + 1;
        let close: number;
        for (;;) {
          if (nextQ <= i || nextQ < from) nextQ = indexOrEnd(s, quote, from);
          close = nextQ;
          if (close >= n) {
            if (more) return openAt(win, recStart, recLine);
            line = recLine + countLf(s, recStart, n);
            onError('unterminated quoted field', recLine, s.slice(recStart, trimEnd(s, recStart, n)));
            pos = n;
            continue records;
          }
          if (close + 1 < n && s.charCodeAt(close + 1) === q) {
            value += s.slice(from, close + 1);
            from = close + 2;
            nextQ = indexOrEnd(s, quote, from);
            continue;
          }
          break;
        }
        value = value === '' ? s.slice(from, close) : value + s.slice(from, close);
        values.push(value);
        // Newlines inside the quoted field: advance the newline cursor past them, counting lines.
        if (nextN < i) nextN = indexOrEnd(s, '\n', i);
        while (nextN < close) {
          line++;
          nextN = indexOrEnd(s, '\n', nextN + 1);
        }
        i = close + 1;
        nextQ = indexOrEnd(s, quote, i);
        const c = i < n ? s.charCodeAt(i) : -1;
        if (c === d) {
          i++;
          continue;
        }
        if (c === -1 && more) return openAt(win, recStart, recLine);
        if (c === -1 || c === 10 || (c === CR && (i + 1 === n || s.charCodeAt(i + 1) === 10))) {
          const next = c === -1 ? n : c === 10 ? i + 1 : Math.min(n, i + 2);
          if (c !== -1) line++;
          pos = next;
          if (onRecord(values, recLine, recStart, i) === true) {
            if (win) win.line = line;
            return pos;
          }
          continue records;
        }
        let next = skipRecord(s, i, false, quote);
        if (next < 0) {
          if (more) return openAt(win, recStart, recLine);
          next = n;
        }
        line = recLine + countLf(s, recStart, next);
        onError(`unexpected character after closing quote in field ${values.length}`, recLine, s.slice(recStart, trimEnd(s, recStart, next)));
        pos = next;
        continue records;
      }
      // Unquoted field: up to the next delimiter or line end; a quote inside it is not RFC 4180.
      if (nextD < i) nextD = indexOrEnd(s, delimiter, i);
      if (nextN < i) nextN = indexOrEnd(s, '\n', i);
      if (nextQ < i) nextQ = indexOrEnd(s, quote, i);
      const e = nextD < nextN ? nextD : nextN;
      if (nextQ < e) {
        let next = skipRecord(s, nextQ + 1, true, quote);
        if (next < 0) {
          if (more) return openAt(win, recStart, recLine);
          next = n;
        }
        line = recLine + countLf(s, recStart, next);
        onError(`quote inside unquoted field ${values.length + 1}`, recLine, s.slice(recStart, trimEnd(s, recStart, next)));
        pos = next;
        continue records;
      }
      // e === n is the end of input (nextD and nextN are both n there): the record ends. Taking it for a
      // delimiter pushed empty fields forever on a last line like `"x",y` without a final newline.
      if (e === nextD && e < n) {
        values.push(s.slice(i, e));
        i = e + 1;
        continue;
      }
      if (e >= n && more) return openAt(win, recStart, recLine);
      const end = e > i && s.charCodeAt(e - 1) === CR ? e - 1 : e;
      values.push(s.slice(i, end));
      line++;
      pos = e + 1;
      if (onRecord(values, recLine, recStart, end) === true) {
        if (win) win.line = line;
        return pos;
      }
      continue records;
    }
  }
  if (win) win.line = line;
  return Math.min(pos, n);
}

/** A scan stopping before the record at `recStart` that is still open at the end of its window. */
function openAt(win: CsvWindowScan | undefined, recStart: number, recLine: number): number {
  win!.open = true;
  win!.line = recLine;
  return recStart;
}

/**
 * The next `ch` in `s` at or after `from`, or s.length when none. A module function rather than a closure per
 * scan: under tsx each named closure costs a `__name` call (run-batch.ts).
 */
function indexOrEnd(s: string, ch: string, from: number): number {
  const at = s.indexOf(ch, from);
  return at < 0 ? s.length : at;
}

/**
 * Finds the end of a malformed record by quote parity, exactly as the planner's scan would; -1 when `s` ends
 * first (inside a quote, or without a newline).
 */
function skipRecord(s: string, from: number, inQuote: boolean, quote: string): number {
  const n = s.length;
  let p = from;
  let open = inQuote;
  for (;;) {
    if (open) {
      const close = s.indexOf(quote, p);
      if (close < 0) return -1;
      p = close + 1;
      open = false;
      continue;
    }
    let nl = s.indexOf('\n', p);
    if (nl < 0) nl = n;
    const at = s.indexOf(quote, p);
    if (at >= 0 && at < nl) {
      p = at + 1;
      open = true;
      continue;
    }
    return nl < n ? nl + 1 : -1;
  }
}

/** End of a record's text without its terminator. */
function trimEnd(s: string, start: number, next: number): number {
  let end = next;
  if (end > start && s.charCodeAt(end - 1) === 10) end--;
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

/**
 * Decodes CSV records keyed by `fields` from the cursor, in source order, until `onRecord` returns true
 * (READ_PAUSED: the cursor is after that record) or `s` ends (READ_END: the cursor is at its end, with its
 * line), or — with `win.more` — a record is still open at the end of `s` (READ_OPEN: the cursor is at that
 * record). Rows with another field count go to `onError`.
 */
export function readCsv(
  s: string,
  cursor: ScanCursor,
  fields: string[],
  dialect: CsvDialect,
  onRecord: RecordVisit,
  onError: ErrorVisit,
  win: CsvWindowScan,
): ReadStop {
  const width = fields.length;
  const makeRecord = createRecordFactory(fields);
  let pausedLine = 0;
  let pausedStart = -1;
  win.open = false;
  const pos = scanCsvRecords(
    s,
    cursor.pos,
    cursor.line,
    dialect,
    (values, line, recStart, recEnd) => {
      if (values.length !== width) {
        onError({ line, reason: `expected ${width} fields, found ${values.length}`, raw: detachString(s.slice(recStart, recEnd)) });
        return;
      }
      if (onRecord(makeRecord(values), line) !== true) return;
      pausedLine = line;
      pausedStart = recStart;
      return true;
    },
    (reason, line, raw) => onError({ line, reason, raw: detachString(raw) }),
    win,
  );
  cursor.pos = pos;
  if (pausedStart < 0) {
    cursor.line = win.line;
    return win.open ? READ_OPEN : READ_END;
  }
  // The record may span lines (quoted newlines): the next one starts after all of them.
  cursor.line = pausedLine + countLf(s, pausedStart, pos);
  return READ_PAUSED;
}

const factories = new Map<string, (values: string[]) => FlowRecord>();
/** The same by header array (never changed once passed: readonly); weak, so unused headers go away. */
const factoriesByArray = new WeakMap<readonly string[], (values: string[]) => FlowRecord>();

/**
 * Builds records of one header as object literals: one hidden class, ~2-4x faster to create than assigning
 * keys in a loop (measured; object creation was a third of decoding). The generated source holds the field
 * names only as JSON string literals (`JSON.stringify`), so header text cannot become code. `__proto__` as a
 * literal key would set the prototype, so such headers use the loop with defineProperty instead.
 */
export function createRecordFactory(fields: readonly string[]): (values: string[]) => FlowRecord {
  // Every batch of a job passes the same header array (compiled.headerFields caches it): found by identity,
  // without building the JSON key per batch.
  let factory = factoriesByArray.get(fields);
  if (factory !== undefined) return factory;
  const key = JSON.stringify(fields);
  factory = factories.get(key);
  if (factory !== undefined) {
    factoriesByArray.set(fields, factory);
    return factory;
  }
  if (fields.includes('__proto__') || fields.length > 256) {
    factory = (values) => {
      const record: FlowRecord = {};
      for (let k = 0; k < fields.length; k++) {
        Object.defineProperty(record, fields[k]!, { value: values[k], enumerable: true, writable: true, configurable: true });
      }
      return record;
    };
  } else {
    const body = fields.map((field, k) => `${JSON.stringify(field)}: v[${k}]`).join(', ');
    factory = new Function('v', `return { ${body} };`) as (values: string[]) => FlowRecord;
  }
  if (factories.size >= 64) factories.clear(); // bounded: headers are few per process
  factories.set(key, factory);
  factoriesByArray.set(fields, factory);
  return factory;
}
