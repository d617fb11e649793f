// JSONL output encoding: the hot path (serialization is ~75% of the transform, issue 7).
// Flat records (string, number, boolean, null values: every CSV record and what the orders flows make of
// it) are written straight into the chunk Buffer by writeJsonRecord (json-record-writer.ts: same bytes as
// JSON.stringify, ~half the CPU, bench/README.md session 4); anything else goes through JSON.stringify,
// written into the chunk with Buffer#write — the newline as a byte of its own: `json + '\n'` makes a rope
// that Buffer#write must flatten (copy) first.
import { writeJsonRecord } from './json-record-writer.js';
import type { FlowRecord } from './types.js';

export interface EncodedChunk {
  /**
   * The chunk's bytes: a view from offset 0 of an ArrayBuffer that nothing else uses and the encoder never
   * touches again, so a receiver may transfer `bytes.buffer` to another thread instead of copying the bytes.
   */
  bytes: Buffer;
  records: number;
}

/** ArrayBuffers of chunks handed out: only those may be transferred by whoever receives the chunk. */
const ownedBuffers = new WeakSet<ArrayBufferLike>();

/**
 * True when `bytes` is a chunk of a JSONL encoder (offset 0 of an ArrayBuffer nothing else uses), so its
 * ArrayBuffer can be transferred to another thread. False for anything else, e.g. a slice of Node's pool.
 */
export function isOwnedChunk(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && ownedBuffers.has(bytes.buffer);
}

export interface JsonlEncoder {
  /** Appends one record; returns a chunk when ~chunkBytes have accumulated (it may not include this record). */
  write(record: FlowRecord): EncodedChunk | undefined;
  /** Returns what is left (undefined when nothing). */
  flush(): EncodedChunk | undefined;
  readonly pendingRecords: number;
}

/** Room beyond chunkBytes so the record that crosses the target still fits without a second check. */
const SLACK = 64 * 1024;
const LF = 10;

/** One record's JSON text. A record whose toJSON yields undefined is written as `undefined`, as before. */
function jsonOf(record: FlowRecord): string {
  const json: unknown = JSON.stringify(record);
  return typeof json === 'string' ? json : String(json);
}

/** The buffer after a chunk was handed out, until the next record comes. */
const EMPTY = Buffer.alloc(0);
/** Smallest first buffer: enough for a few typical records. */
const MIN_FIRST_BYTES = 4 * 1024;

/**
 * @param chunkBytes target chunk size: a chunk closes at the first record that reaches it. @default 256 KiB
 * @param sizeHint expected output bytes (e.g. a few times the batch's input): the first buffer is sized by
 *   it rather than chunkBytes and grows as records come. A 10-record batch allocated 2 × 320 KiB for ~2 KiB
 *   of output (the buffer for the next chunk too), and that garbage was the largest cost of tiny batches
 *   (issue 7, target 4: 15–27% of executor CPU in the collector). Chunk boundaries do not depend on it.
 */
export function createJsonlEncoder(chunkBytes = 256 * 1024, sizeHint = Infinity): JsonlEncoder {
  if (!(chunkBytes >= 1)) throw new RangeError('chunkBytes must be at least 1');
  return new Encoder(chunkBytes, sizeHint);
}

// A class rather than closures: one is made per batch, and under tsx each named closure costs a `__name`
// call (see run-batch.ts); its methods are defined once.
class Encoder implements JsonlEncoder {
  private readonly full: number;
  private buf: Buffer;
  private used = 0;
  private count = 0;

  constructor(
    private readonly chunkBytes: number,
    sizeHint: number,
  ) {
    this.full = chunkBytes + SLACK;
    // allocUnsafeSlow: never a slice of Node's shared pool, so each chunk owns its ArrayBuffer (see EncodedChunk).
    // The next chunk's buffer is allocated when its first record comes, so the last chunk leaves none behind.
    this.buf = Buffer.allocUnsafeSlow(Math.min(this.full, Math.max(MIN_FIRST_BYTES, Math.ceil(sizeHint))));
  }

  get pendingRecords(): number {
    return this.count;
  }

  write(record: FlowRecord): EncodedChunk | undefined {
    const end = writeJsonRecord(this.buf, this.used, record);
    if (end >= 0 && end < this.buf.length) {
      this.used = end;
      this.buf[this.used++] = LF;
      this.count++;
      return this.used >= this.chunkBytes ? this.take() : undefined;
    }
    const json = jsonOf(record);
    // UTF-8 needs at most 3 bytes per UTF-16 unit (+1 for the newline): if even that fits, write without measuring.
    if (json.length * 3 + 1 > this.buf.length - this.used) {
      const size = Buffer.byteLength(json, 'utf8') + 1;
      if (size > this.buf.length - this.used && !this.grow(size)) {
        // The record does not fit: hand out what is there, then give the record a buffer of its own size.
        const ready = this.count > 0 ? this.take() : undefined;
        this.buf = Buffer.allocUnsafeSlow(Math.max(size, this.full));
        this.used = this.buf.write(json, 0);
        this.buf[this.used++] = LF;
        this.count = 1;
        return ready ?? (this.used >= this.chunkBytes ? this.take() : undefined);
      }
    }
    this.used += this.buf.write(json, this.used);
    this.buf[this.used++] = LF;
    this.count++;
    return this.used >= this.chunkBytes ? this.take() : undefined;
  }

  flush(): EncodedChunk | undefined {
    return this.count > 0 ? this.take() : undefined;
  }

  private take(): EncodedChunk {
    const chunk = { bytes: this.buf.subarray(0, this.used), records: this.count };
    ownedBuffers.add(this.buf.buffer);
    this.buf = EMPTY;
    this.used = 0;
    this.count = 0;
    return chunk;
  }

  /**
   * Makes room for `size` more bytes in the same chunk while the buffer is below full size and the chunk
   * stays within it (so chunks close exactly where a full-size buffer would close them); false otherwise.
   * After a chunk was handed out, output is known to be large: the next buffer is full size at once.
   */
  private grow(size: number): boolean {
    const { buf, used, full } = this;
    if (buf.length >= full || used + size > full) return false;
    const next = buf === EMPTY ? full : Math.max(used + size, Math.min(full, buf.length * 2));
    const grown = Buffer.allocUnsafeSlow(next);
    if (used > 0) buf.copy(grown, 0, 0, used);
    this.buf = grown;
    return true;
  }
}

/** Encodes all records at once (small outputs, tests, local runs, the pool baseline) into one Buffer. */
export function encodeJsonl(records: Iterable<FlowRecord>): Buffer {
  let buf = Buffer.allocUnsafeSlow(64 * 1024);
  let used = 0;
  for (const record of records) {
    const end = writeJsonRecord(buf, used, record);
    if (end >= 0 && end < buf.length) {
      used = end;
      buf[used++] = LF;
      continue;
    }
    const json = jsonOf(record);
    const worst = json.length * 3 + 1;
    if (worst > buf.length - used) {
      const size = Buffer.byteLength(json, 'utf8') + 1;
      if (size > buf.length - used) {
        // Grow geometrically: amortized one copy per byte, where a string rope costs a flatten and a re-encode.
        const grown = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, used + size));
        buf.copy(grown, 0, 0, used);
        buf = grown;
      }
    }
    used += buf.write(json, used);
    buf[used++] = LF;
  }
  // An exact-size copy: callers keep or post the result, and a structured clone copies the whole ArrayBuffer.
  const out = Buffer.allocUnsafe(used);
  buf.copy(out, 0, 0, used);
  return out;
}
