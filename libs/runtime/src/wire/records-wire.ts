// Hand-written wire code for records messages, the product's hot path (issue 7: the gRPC tax is per byte).
// Record chunks are nearly all the bytes that cross executor → coordinator → gateway → client, and the
// generated ts-proto code copies a chunk's payload on every hop: `Buffer.from(reader.bytes())` on decode,
// then buffer growth, fork/join, finish and `Buffer.from` on encode (3–4 copies). Profiles showed those
// big short-lived copies, and the garbage collection they cause, as the largest cost of the coordinator
// and gateway (bench/README.md, "Relay without re-encoding").
//
// Wire facts this relies on (proto/flowmesh/v1): `records` is field 2 of ExecuteBatchResponse,
// RunJobResponse and WatchJobResponse, so a records message has the same bytes in all three; the
// coordinator's CoordinatorService{RunJob,WatchJob}Response wrap those as field 1. Hence a relay can forward
// what it received, wrapped or unwrapped, without re-encoding it.
//
// Only the exact shape the encoders produce is taken on this path: one field-2 message spanning the whole
// buffer, a RecordChunk of fields 1–5 with their proper wire types, varints of at most 5 bytes, a valid
// UTF-8 job id. Anything else returns undefined and the caller uses the generated decoder, so an odd but
// valid message is still read correctly. Tested against the generated codec in test/records-wire.test.ts.
import { isUtf8 } from 'node:buffer';
import type { RecordChunk } from '@flowmesh/contracts';

/** Field 2, length-delimited: `records` in ExecuteBatchResponse, RunJobResponse and WatchJobResponse. */
export const RECORDS_TAG = (2 << 3) | 2;
/** Field 1, length-delimited: the wrapped response in the CoordinatorService responses. */
export const WRAPPED_TAG = (1 << 3) | 2;

/** What a decoded chunk was read from, so a relay may forward those bytes while the chunk is unchanged. */
interface Received {
  /** The whole records message (`0x12 len RecordChunk`). */
  message: Buffer;
  jobId: string;
  batchIndex: number;
  seq: number;
  recordCount: number;
}

// Keyed by the chunk's `data` view: it survives `{ ...chunk }` copies, and dies with the chunk.
const received = new WeakMap<Buffer, Received>();

/**
 * Reads a records message (`0x12 len RecordChunk`, nothing else) with `data` as a view of `message`, no
 * copy. With `remember`, the message bytes are kept for {@link receivedRecordsMessage}. Undefined when the
 * bytes are not in the plain shape (use the generated decoder then).
 */
export function decodeRecordsMessage(message: Buffer, remember = false): RecordChunk | undefined {
  if (message[0] !== RECORDS_TAG) return undefined;
  const len = readVarint(message, 1);
  if (!len || len.next + len.value !== message.length) return undefined;
  const chunk: RecordChunk = { jobId: '', batchIndex: 0, seq: 0, recordCount: 0, data: EMPTY, records: [] };
  let pos = len.next;
  while (pos < message.length) {
    const tag = message[pos++];
    if (tag === 0x0a || tag === 0x2a) {
      const n = readVarint(message, pos);
      if (!n || n.next + n.value > message.length) return undefined;
      const bytes = message.subarray(n.next, n.next + n.value);
      pos = n.next + n.value;
      if (tag === 0x2a) chunk.data = bytes;
      else if (isUtf8(bytes)) chunk.jobId = bytes.toString('utf8');
      else return undefined;
    } else if (tag === 0x10 || tag === 0x18 || tag === 0x20) {
      const v = readVarint(message, pos);
      if (!v) return undefined;
      pos = v.next;
      if (tag === 0x10) chunk.batchIndex = v.value;
      else if (tag === 0x18) chunk.seq = v.value;
      else chunk.recordCount = v.value;
    } else {
      return undefined;
    }
  }
  // An empty `data` gets its own view, so the remembered bytes are never shared between chunks.
  if (chunk.data === EMPTY) chunk.data = message.subarray(message.length);
  if (remember) {
    const { jobId, batchIndex, seq, recordCount } = chunk;
    received.set(chunk.data, { message, jobId, batchIndex, seq, recordCount });
  }
  return chunk;
}

/**
 * The bytes a chunk was decoded from (by {@link decodeRecordsMessage} with `remember`), as a records
 * message, when every field still has the value read from them; otherwise undefined (encode it instead).
 */
export function receivedRecordsMessage(chunk: RecordChunk): Buffer | undefined {
  const r = received.get(chunk.data);
  if (
    !r ||
    chunk.records.length !== 0 ||
    r.jobId !== chunk.jobId ||
    r.batchIndex !== chunk.batchIndex ||
    r.seq !== chunk.seq ||
    r.recordCount !== chunk.recordCount
  ) {
    return undefined;
  }
  return r.message;
}

/**
 * A records message for `chunk` (JSONL form), one allocation and one copy of the payload. With `head`, those
 * bytes come first (fields of an enclosing message written before the records field, e.g. a stream's tag).
 */
export function encodeRecordsMessage(chunk: RecordChunk, head?: Uint8Array): Buffer {
  const inner = recordChunkSize(chunk);
  const at = head?.length ?? 0;
  const out = Buffer.allocUnsafe(at + 1 + varintSize(inner) + inner);
  if (head) out.set(head, 0);
  out[at] = RECORDS_TAG;
  writeRecordChunk(out, writeVarint(out, at + 1, inner), chunk);
  return out;
}

/** A varint field (wire type 0) with its key, as bytes: `head` for {@link encodeRecordsMessage}. */
export function varintField(field: number, value: number): Buffer {
  const key = field << 3;
  const out = Buffer.allocUnsafe(varintSize(key) + varintSize(value));
  return out.subarray(0, writeVarint(out, writeVarint(out, 0, key), value));
}

/** Reads a varint field's key and value at `at` (values below 2^32); undefined when the bytes are not one. */
export function readVarintField(buf: Buffer, at: number): { field: number; value: number; next: number } | undefined {
  const key = readVarint(buf, at);
  if (!key || (key.value & 7) !== 0) return undefined;
  const v = readVarint(buf, key.next);
  return v ? { field: key.value >>> 3, value: v.value, next: v.next } : undefined;
}

/** `0x0a len message`: the message as field 1 of a wrapper (the CoordinatorService responses). */
export function wrapMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + varintSize(message.length) + message.length);
  out[0] = WRAPPED_TAG;
  out.set(message, writeVarint(out, 1, message.length));
  return out;
}

/** grpc-js frames a message with 5 bytes (compressed flag, length) before it. */
const GRPC_FRAME_HEADER = 5;

/**
 * `0x0a len message`, like {@link wrapMessage}, but without a copy when `message` is one that grpc-js
 * received: grpc-js gathers each received message into a buffer of its own (`Buffer.concat` of the frame)
 * and hands the deserializer a view from byte 5 on, past the frame header it has already read. Those 5
 * bytes are free to hold the wrapper's tag and length (at most 5 bytes below 2^28). The check that the
 * view starts at byte 5 of an ArrayBuffer exactly 5 bytes longer than itself proves the bytes before it
 * are that header and belong to no other buffer (small, pooled buffers fail it and are copied).
 */
export function wrapReceived(message: Buffer): Buffer {
  const head = 1 + varintSize(message.length);
  const own =
    message.byteOffset === GRPC_FRAME_HEADER && message.buffer.byteLength === GRPC_FRAME_HEADER + message.length;
  if (!own || head > GRPC_FRAME_HEADER) return wrapMessage(message);
  const out = Buffer.from(message.buffer, message.byteOffset - head, head + message.length);
  out[0] = WRAPPED_TAG;
  writeVarint(out, 1, message.length);
  return out;
}

/** The message inside a wrapper that holds only field 1 (`0x0a len message`), as a view; else undefined. */
export function unwrapMessage(wrapper: Buffer): Buffer | undefined {
  if (wrapper[0] !== WRAPPED_TAG) return undefined;
  const len = readVarint(wrapper, 1);
  if (!len || len.next + len.value !== wrapper.length) return undefined;
  return wrapper.subarray(len.next);
}

const EMPTY = Buffer.alloc(0);

function recordChunkSize(c: RecordChunk): number {
  if (c.records.length > 0) throw new Error('encodeRecordsMessage handles JSONL chunks only (records is not empty)');
  const jobIdLen = Buffer.byteLength(c.jobId);
  let size = 0;
  if (jobIdLen > 0) size += 1 + varintSize(jobIdLen) + jobIdLen;
  if (c.batchIndex !== 0) size += 1 + varintSize(c.batchIndex);
  if (c.seq !== 0) size += 1 + varintSize(c.seq);
  if (c.recordCount !== 0) size += 1 + varintSize(c.recordCount);
  if (c.data.length > 0) size += 1 + varintSize(c.data.length) + c.data.length;
  return size;
}

/** Fields in number order, zero values omitted: the same bytes as the generated encoder. */
function writeRecordChunk(out: Buffer, at: number, c: RecordChunk): number {
  let pos = at;
  const jobIdLen = Buffer.byteLength(c.jobId);
  if (jobIdLen > 0) {
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, jobIdLen);
    pos += out.write(c.jobId, pos, 'utf8');
  }
  if (c.batchIndex !== 0) {
    out[pos++] = 0x10;
    pos = writeVarint(out, pos, c.batchIndex);
  }
  if (c.seq !== 0) {
    out[pos++] = 0x18;
    pos = writeVarint(out, pos, c.seq);
  }
  if (c.recordCount !== 0) {
    out[pos++] = 0x20;
    pos = writeVarint(out, pos, c.recordCount);
  }
  if (c.data.length > 0) {
    out[pos++] = 0x2a;
    pos = writeVarint(out, pos, c.data.length);
    out.set(c.data, pos);
    pos += c.data.length;
  }
  return pos;
}

/** A varint of at most 5 bytes with a value below 2^32 (uint32 fields and lengths); else undefined. */
export function readVarint(buf: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    const b = buf[at + i];
    if (b === undefined) return undefined;
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return value < 2 ** 32 ? { value, next: at + i + 1 } : undefined;
  }
  return undefined;
}

export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

export function writeVarint(buf: Buffer, at: number, n: number): number {
  let pos = at;
  while (n >= 0x80) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}
