// On-disk encoding of the embedded store (classic-level). Layout (keys are UTF-8, byte-ordered):
//   d:<key>          entry: 24-byte header (mod, create, version as uint64 BE) + value bytes
//   h:<rev, 16 dig>  the events of the commit at that revision (JSON), kept for watch replay, bounded
//   m:rev            current revision (decimal)
//   m:compacted      history before and at this revision is gone (decimal)
import type { KvEntry, KvEvent } from './types.js';

export const DATA = 'd:';
export const HISTORY = 'h:';
export const META_REV = 'm:rev';
export const META_COMPACTED = 'm:compacted';

const HEADER = 24;

export function dataKey(key: string): string {
  return DATA + key;
}

export function historyKey(revision: number): string {
  return HISTORY + String(revision).padStart(16, '0');
}

export function encodeEntry(e: KvEntry): Buffer {
  const buf = Buffer.allocUnsafe(HEADER + e.value.length);
  buf.writeBigUInt64BE(BigInt(e.modRevision), 0);
  buf.writeBigUInt64BE(BigInt(e.createRevision), 8);
  buf.writeBigUInt64BE(BigInt(e.version), 16);
  e.value.copy(buf, HEADER);
  return buf;
}

export function decodeEntry(key: string, buf: Uint8Array): KvEntry {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    key,
    modRevision: Number(b.readBigUInt64BE(0)),
    createRevision: Number(b.readBigUInt64BE(8)),
    version: Number(b.readBigUInt64BE(16)),
    value: Buffer.from(b.subarray(HEADER)),
  };
}

interface StoredEvent {
  t: 'p' | 'd';
  k: string;
  v?: string;
  m: number;
  c: number;
  n: number;
}

export function encodeEvents(events: KvEvent[]): Buffer {
  const stored: StoredEvent[] = events.map((e) => ({
    t: e.type === 'put' ? 'p' : 'd',
    k: e.key,
    ...(e.value ? { v: e.value.toString('base64') } : {}),
    m: e.modRevision,
    c: e.createRevision,
    n: e.version,
  }));
  return Buffer.from(JSON.stringify(stored));
}

export function decodeEvents(buf: Uint8Array): KvEvent[] {
  const stored = JSON.parse(Buffer.from(buf).toString('utf8')) as StoredEvent[];
  return stored.map((s) => ({
    type: s.t === 'p' ? 'put' : 'delete',
    key: s.k,
    ...(s.v !== undefined ? { value: Buffer.from(s.v, 'base64') } : {}),
    modRevision: s.m,
    createRevision: s.c,
    version: s.n,
  }));
}
