// Hand-written wire code for CoalescedRecords (issue 7, target 4): several small whole batches in one
// message from the coordinator through the gateway to the caller. Like records-wire.ts, and for the same
// reason (the generated code copies the payload on every decode and encode): the coordinator encodes the
// message once, with the batches' records copied into it once; the gateway forwards the bytes it received;
// the client reads `data` as a view. `coalesced` is field 7 of RunJobResponse and WatchJobResponse alike,
// so the same bytes serve both, and the coordinator wraps them as field 1 of its own responses.
//
// Only the shape the encoder produces is read here (fields 1–5, packed arrays, varints below 2^32, a UTF-8
// job id); anything else returns undefined and the caller uses the generated decoder. Tested against the
// generated codec in test/coalesced-wire.test.ts.
import { isUtf8 } from 'node:buffer';
import type { CoalescedRecords } from '@flowmesh/contracts';
import { readVarint, varintSize, writeVarint } from './records-wire.js';

/** Field 7, length-delimited: `coalesced` in RunJobResponse and WatchJobResponse. */
export const COALESCED_TAG = (7 << 3) | 2;

/** One batch's part of a coalesced message: its index, record count and JSONL bytes. */
export interface CoalescedBatch {
  index: number;
  records: number;
  data: Uint8Array;
}

interface Received {
  message: Buffer;
  jobId: string;
  batchIndices: number[];
  batchRecords: number[];
  batchBytes: number[];
}

// Keyed by the message's `data` view, like records-wire's: it survives `{ ...msg }` copies.
const received = new WeakMap<Buffer, Received>();

/**
 * grpc-js frames a message with 5 bytes before it; a coordinator wraps a response in those 5 bytes when the
 * message sits at byte 5 of a buffer of its own (records-wire `wrapReceived`). The encoder leaves that room.
 */
const HEADROOM = 5;

/**
 * A `coalesced` message (`0x3a len CoalescedRecords`) of `batches`, encoded once: the returned object's
 * bytes are remembered ({@link receivedCoalescedMessage}), so sending it encodes nothing more.
 */
export function encodeCoalescedMessage(jobId: string, batches: readonly CoalescedBatch[]): CoalescedRecords {
  const batchIndices = batches.map((b) => b.index);
  const batchRecords = batches.map((b) => b.records);
  const batchBytes = batches.map((b) => b.data.length);
  const jobIdLen = Buffer.byteLength(jobId);
  const dataLen = batchBytes.reduce((a, b) => a + b, 0);
  const packed = [batchIndices, batchRecords, batchBytes].map((a) => a.reduce((n, v) => n + varintSize(v), 0));
  let inner = 0;
  if (jobIdLen > 0) inner += 1 + varintSize(jobIdLen) + jobIdLen;
  for (const len of packed) if (len > 0) inner += 1 + varintSize(len) + len;
  if (dataLen > 0) inner += 1 + varintSize(dataLen) + dataLen;
  const total = 1 + varintSize(inner) + inner;
  // Not zeroed (every byte is written below) and not from the shared pool: a buffer of its own.
  const message = Buffer.allocUnsafeSlow(HEADROOM + total).subarray(HEADROOM);
  message[0] = COALESCED_TAG;
  let pos = writeVarint(message, 1, inner);
  if (jobIdLen > 0) {
    message[pos++] = 0x0a;
    pos = writeVarint(message, pos, jobIdLen);
    pos += message.write(jobId, pos, 'utf8');
  }
  const arrays = [batchIndices, batchRecords, batchBytes];
  for (let f = 0; f < 3; f++) {
    if (packed[f]! === 0) continue;
    message[pos++] = ((f + 2) << 3) | 2;
    pos = writeVarint(message, pos, packed[f]!);
    for (const v of arrays[f]!) pos = writeVarint(message, pos, v);
  }
  let data = message.subarray(total);
  if (dataLen > 0) {
    message[pos++] = 0x2a;
    pos = writeVarint(message, pos, dataLen);
    data = message.subarray(pos, pos + dataLen);
    for (const b of batches) {
      message.set(b.data, pos);
      pos += b.data.length;
    }
  }
  received.set(data, { message, jobId, batchIndices, batchRecords, batchBytes });
  return { jobId, batchIndices, batchRecords, batchBytes, data };
}

/**
 * Reads a `coalesced` message (`0x3a len CoalescedRecords`, nothing else) with `data` as a view of it. With
 * `remember`, the bytes are kept for {@link receivedCoalescedMessage}. Undefined for any other shape.
 */
export function decodeCoalescedMessage(message: Buffer, remember = false): CoalescedRecords | undefined {
  if (message[0] !== COALESCED_TAG) return undefined;
  const len = readVarint(message, 1);
  if (!len || len.next + len.value !== message.length) return undefined;
  const out: CoalescedRecords = { jobId: '', batchIndices: [], batchRecords: [], batchBytes: [], data: EMPTY };
  let pos = len.next;
  while (pos < message.length) {
    const tag = message[pos++]!;
    if ((tag & 7) !== 2 || tag < 0x0a || tag > 0x2a) return undefined;
    const n = readVarint(message, pos);
    if (!n || n.next + n.value > message.length) return undefined;
    const end = n.next + n.value;
    if (tag === 0x2a) out.data = message.subarray(n.next, end);
    else if (tag === 0x0a) {
      const bytes = message.subarray(n.next, end);
      if (!isUtf8(bytes)) return undefined;
      out.jobId = bytes.toString('utf8');
    } else {
      const into = tag === 0x12 ? out.batchIndices : tag === 0x1a ? out.batchRecords : out.batchBytes;
      for (let at = n.next; at < end;) {
        const v = readVarint(message, at);
        if (!v || v.next > end) return undefined;
        into.push(v.value);
        at = v.next;
      }
    }
    pos = end;
  }
  if (out.data === EMPTY) out.data = message.subarray(message.length);
  if (remember) {
    const { jobId, batchIndices, batchRecords, batchBytes } = out;
    received.set(out.data, { message, jobId, batchIndices, batchRecords, batchBytes });
  }
  return out;
}

/** The bytes a coalesced message was encoded or decoded from, while none of its fields was replaced. */
export function receivedCoalescedMessage(c: CoalescedRecords): Buffer | undefined {
  const r = received.get(c.data);
  if (
    !r ||
    r.jobId !== c.jobId ||
    r.batchIndices !== c.batchIndices ||
    r.batchRecords !== c.batchRecords ||
    r.batchBytes !== c.batchBytes
  )
    return undefined;
  return r.message;
}

const EMPTY = Buffer.alloc(0);
