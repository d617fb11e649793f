// readHeader: the CSV header read once per job (it then travels with every batch), BOM handled.
import type { FileHandle } from 'node:fs/promises';
import { createBoundaryScanner } from './boundary-scanner.js';
import { scanCsvRecords } from './decode-csv.js';
import { resolveDialect } from './dialect.js';
import type { RecordFormat } from './types.js';

export interface HeaderInfo {
  /** The raw header record: BOM and line terminator excluded (empty when there is no header). */
  header: Buffer;
  fields: string[];
  /** Byte offset where data records start. */
  dataOffset: number;
  /** 1-based source line at `dataOffset`. */
  firstLine: number;
}

export interface ReadHeaderOptions {
  delimiter?: string;
  quote?: string;
  /** A header longer than this is refused (the file is probably not CSV). @default 1 MiB */
  maxHeaderBytes?: number;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
// The first read is small and each next one doubles, up to CHUNK: a header is rarely over a few KiB, and
// every byte read is scanned for record ends — a 64 KiB first read scanned ~700 records of a small job's
// file for one header, on the job's path before its first batch (issue 7 target 3).
const FIRST_CHUNK = 4 * 1024;
const CHUNK = 64 * 1024;

export async function readHeader(fh: FileHandle, format: RecordFormat, opts: ReadHeaderOptions = {}): Promise<HeaderInfo> {
  const maxHeaderBytes = opts.maxHeaderBytes ?? 1024 * 1024;
  const first = Buffer.alloc(3);
  const { bytesRead: head } = await fh.read(first, 0, 3, 0);
  const bom = head === 3 && first.equals(UTF8_BOM) ? 3 : 0;
  if (format !== 'csv') return { header: Buffer.alloc(0), fields: [], dataOffset: bom, firstLine: 1 };

  const dialect = resolveDialect(opts);
  const scanner = createBoundaryScanner({ quote: dialect.quote, start: bom });
  const pieces: Buffer[] = [];
  let position = bom;
  // The header is the first non-empty record; empty lines before it are skipped.
  let headerEnd = -1;
  let chunkBytes = FIRST_CHUNK;
  while (headerEnd < 0) {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    const { bytesRead } = await fh.read(chunk, 0, chunkBytes, position);
    chunkBytes = Math.min(CHUNK, chunkBytes * 2);
    if (bytesRead === 0) break;
    const data = chunk.subarray(0, bytesRead);
    pieces.push(data);
    scanner.scan(data, position, (end, empty) => {
      if (headerEnd < 0 && !empty) headerEnd = end;
    });
    position += bytesRead;
    if (headerEnd < 0 && position - bom > maxHeaderBytes) {
      throw new RangeError(`CSV header exceeds ${maxHeaderBytes} bytes`);
    }
  }
  const all = Buffer.concat(pieces);
  const size = position;
  let dataOffset: number;
  let recordText: Buffer;
  if (headerEnd < 0) {
    // No terminated record: a header-only file without final newline, or an empty / blank file.
    dataOffset = size;
    recordText = all;
  } else {
    dataOffset = headerEnd;
    recordText = all.subarray(0, headerEnd - bom);
  }
  // Skip the leading empty lines and the terminator; parse the header with the batch decoder's rules.
  const text = recordText.toString('utf8');
  let fields: string[] = [];
  let rawStart = 0;
  let rawEnd = 0;
  scanCsvRecords(text, 0, 1, dialect, (values, _line, recStart, recEnd) => {
    fields = values;
    rawStart = recStart;
    rawEnd = recEnd;
    return true;
  }, (reason, line) => {
    throw new SyntaxError(`CSV header at line ${line}: ${reason}`);
  });
  const header = Buffer.from(text.slice(rawStart, rawEnd), 'utf8');
  const firstLine = 1 + countLf(all, 0, dataOffset - bom);
  return { header, fields, dataOffset, firstLine };
}

function countLf(buf: Buffer, from: number, to: number): number {
  let count = 0;
  let p = buf.indexOf(10, from);
  while (p >= 0 && p < to) {
    count++;
    p = buf.indexOf(10, p + 1);
  }
  return count;
}
