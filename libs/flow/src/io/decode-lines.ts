// JSONL and plain-lines decoding of one batch string. Empty lines (also "\r") are skipped, as the planner
// does when it counts records, so `records + errors` equals the planned record count.
// Resumable (a cursor and a pause), so runBatch can run each record through the steps as it is decoded.
import { detachString } from './detach-string.js';
import type { DecodeError, FlowRecord } from './types.js';

const CR = 13;

/** Where a resumable scan goes on: the next position and its 1-based source line. */
export interface ScanCursor {
  pos: number;
  line: number;
}

/**
 * Where a read of one string stopped: after a record whose visit returned true (paused), at the end of the
 * string, or (CSV, decode-csv.ts) before a record still open at the end of a window of a longer text.
 */
export type ReadStop = typeof READ_END | typeof READ_PAUSED | typeof READ_OPEN;
export const READ_END = 0;
export const READ_PAUSED = 1;
export const READ_OPEN = 2;

/** Called per record; returning true pauses the scan after this record. */
export type RecordVisit = (record: FlowRecord, line: number) => boolean | void;
export type ErrorVisit = (error: DecodeError) => void;

/**
 * Calls `visit(start, end, line)` for every non-empty line of `s` from the cursor (end excludes "\r\n") until
 * one returns true. Returns READ_PAUSED when paused (the cursor is after that line), READ_END at the end of `s`.
 */
function scanLines(
  s: string,
  cursor: ScanCursor,
  visit: (from: number, to: number, line: number) => boolean | void,
): ReadStop {
  const n = s.length;
  let pos = cursor.pos;
  let line = cursor.line;
  while (pos < n) {
    let nl = s.indexOf('\n', pos);
    if (nl < 0) nl = n;
    const end = nl > pos && s.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    const at = line;
    const from = pos;
    pos = nl + 1;
    line++;
    if (end > from && visit(from, end, at) === true) {
      cursor.pos = pos;
      cursor.line = line;
      return READ_PAUSED;
    }
  }
  cursor.pos = n;
  cursor.line = line;
  return READ_END;
}

/** One JSON value per line; a line that does not parse to an object becomes an error with its reason. */
export function readJsonl(s: string, cursor: ScanCursor, onRecord: RecordVisit, onError: ErrorVisit): ReadStop {
  return scanLines(s, cursor, (from, to, line) => {
    const text = s.slice(from, to);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      onError({ line, reason: `invalid JSON: ${(err as Error).message}`, raw: detachString(text) });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      onError({ line, reason: 'JSON line is not an object', raw: detachString(text) });
      return;
    }
    return onRecord(value as FlowRecord, line);
  });
}

/** Every non-empty line becomes `{ line: text }`. */
export function readPlainLines(s: string, cursor: ScanCursor, onRecord: RecordVisit): ReadStop {
  return scanLines(s, cursor, (from, to, line) => onRecord({ line: s.slice(from, to) }, line));
}
