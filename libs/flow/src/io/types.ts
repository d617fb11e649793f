// Shared shapes of the io layer: record formats, decode results and batch ranges.

/** Source formats a flow can read. `lines` yields `{ line }` per non-empty line. */
export type RecordFormat = 'csv' | 'jsonl' | 'lines';

/** A decoded record: string values for CSV, parsed objects for JSONL, `{ line }` for lines. */
export type FlowRecord = Record<string, unknown>;

/** A record that could not be decoded; it becomes a reject and the batch goes on. */
export interface DecodeError {
  /** 1-based source line where the record starts. */
  line: number;
  reason: string;
  /** The record's source text (without its line terminator). */
  raw: string;
}

export interface DecodeResult {
  records: FlowRecord[];
  /** `lines[i]` is the 1-based source line where `records[i]` starts (quoted newlines make records span lines). */
  lines: number[];
  errors: DecodeError[];
  /** Header fields in effect (the given ones, or the first record when none were given for CSV). */
  fields?: string[];
}

export interface DecodeOptions {
  /** CSV header fields. When absent for CSV, the first record of `bytes` is the header (BOM stripped). */
  fields?: string[];
  /** CSV field delimiter. @default ',' */
  delimiter?: string;
  /** CSV quote character. @default '"' */
  quote?: string;
  /** 1-based source line of the first byte of `bytes`. @default 1 */
  firstLine?: number;
  /** Bytes decoded to text at a time (decode-window.ts); records do not depend on it. @default 32 KiB */
  windowBytes?: number;
}

/** One planned batch: a byte range of the source aligned to record boundaries. */
export interface BatchRange {
  index: number;
  offset: number;
  length: number;
  /** 1-based source line of the batch's first byte. */
  firstLine: number;
  /** Non-empty records in the range (malformed ones included: they decode to errors). */
  records: number;
  /** Records in all earlier batches: the 0-based ordinal of this batch's first record in the source. */
  firstRecord: number;
}
