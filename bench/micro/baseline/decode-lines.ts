// JSONL and plain-lines decoding of one batch string. Empty lines (also "\r") are skipped, as the planner
// does when it counts records, so `records + errors` equals the planned record count.
import type { DecodeResult, FlowRecord } from '../../../libs/flow/src/io/types.js';

const CR = 13;

/** Calls `visit(start, end, line)` for every non-empty line of `s` from `start` (end excludes "\r\n"). */
function forEachLine(s: string, start: number, firstLine: number, visit: (from: number, to: number, line: number) => void): void {
  const n = s.length;
  let pos = start;
  let line = firstLine;
  while (pos < n) {
    let nl = s.indexOf('\n', pos);
    if (nl < 0) nl = n;
    const end = nl > pos && s.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    if (end > pos) visit(pos, end, line);
    pos = nl + 1;
    line++;
  }
}

/** One JSON value per line; a line that does not parse to an object becomes an error with its reason. */
export function decodeJsonlInto(s: string, start: number, firstLine: number, out: DecodeResult): void {
  const { records, lines, errors } = out;
  forEachLine(s, start, firstLine, (from, to, line) => {
    const text = s.slice(from, to);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      errors.push({ line, reason: `invalid JSON: ${(err as Error).message}`, raw: text });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      errors.push({ line, reason: 'JSON line is not an object', raw: text });
      return;
    }
    records.push(value as FlowRecord);
    lines.push(line);
  });
}

/** Every non-empty line becomes `{ line: text }`. */
export function decodeLinesInto(s: string, start: number, firstLine: number, out: DecodeResult): void {
  const { records, lines } = out;
  forEachLine(s, start, firstLine, (from, to, line) => {
    records.push({ line: s.slice(from, to) });
    lines.push(line);
  });
}
