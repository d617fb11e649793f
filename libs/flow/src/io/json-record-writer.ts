// writeJsonRecord: the JSON text of a flat record (string, number, boolean and null values), written as UTF-8
// straight into a byte buffer — exactly the bytes of Buffer.from(JSON.stringify(record)).
//
// Why hand-written (issue 7, target 1): JSON.stringify then Buffer#write was ~2.1–2.4 µs of an executor's
// ~5 µs per orders record (bench/README.md, "Executor per-record cost (session 4)"); writing the bytes here
// takes ~1.0–1.2 µs, output identical. The gains: no intermediate string (JSON.stringify's result was
// scanned again by Buffer#write), doubles with at most two decimals (prices, rounded totals) formatted without
// the shortest-round-trip search, and keys encoded once per shape instead of once per record. No library
// writes JSON into a caller's buffer at an offset (fast-json-stringify and the like build strings from a
// schema, which a flow's records do not have).
//
// Exact by construction or not at all: anything this writer is not sure to match — a value that is an
// object, array or bigint, a record with toJSON or with an unusual prototype, not enough room — returns -1,
// and the caller uses JSON.stringify. test/io-json-record-writer.test.ts compares both on random records.

/** A record's keys as `"key":` in UTF-8 (JSON.stringify's escaping), cached per key string. */
const keyCache = new Map<string, Uint8Array>();
const KEY_CACHE_LIMIT = 4096;

function keyBytes(key: string): Uint8Array {
  let bytes = keyCache.get(key);
  if (bytes === undefined) {
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear(); // bounded: records with ever-new keys (JSONL maps)
    bytes = Buffer.from(`${JSON.stringify(key)}:`, 'utf8');
    keyCache.set(key, bytes);
  }
  return bytes;
}

const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]; // '0'-'9', 'a'-'f' (JSON.stringify writes lowercase)
/** For ASCII code units: 0 = written as is, 1 = `\uXXXX`, else the letter after the backslash. */
const ESCAPE = new Uint8Array(128);
for (let c = 0; c < 0x20; c++) ESCAPE[c] = 1;
ESCAPE[8] = 98; // \b
ESCAPE[9] = 116; // \t
ESCAPE[10] = 110; // \n
ESCAPE[12] = 102; // \f
ESCAPE[13] = 114; // \r
ESCAPE[34] = 34; // \"
ESCAPE[92] = 92; // \\

/** Worst case bytes of a string's JSON: 6 per UTF-16 unit (`\u001f`, a lone surrogate) plus the quotes. */
const MAX_BYTES_PER_UNIT = 6;
/** Longest JSON number: `-1.2345678901234567e-308` is 24 bytes. */
const MAX_NUMBER_BYTES = 25;

function writeString(buf: Uint8Array, pos: number, s: string): number {
  buf[pos++] = 34;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      const e = ESCAPE[c]!;
      if (e === 0) buf[pos++] = c;
      else if (e === 1) {
        buf[pos++] = 92;
        buf[pos++] = 117;
        buf[pos++] = 48;
        buf[pos++] = 48;
        buf[pos++] = HEX[c >> 4]!;
        buf[pos++] = HEX[c & 15]!;
      } else {
        buf[pos++] = 92;
        buf[pos++] = e;
      }
    } else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 63);
    } else if (c < 0xd800 || c > 0xdfff) {
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 63);
      buf[pos++] = 0x80 | (c & 63);
    } else {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        i++;
        buf[pos++] = 0xf0 | (cp >> 18);
        buf[pos++] = 0x80 | ((cp >> 12) & 63);
        buf[pos++] = 0x80 | ((cp >> 6) & 63);
        buf[pos++] = 0x80 | (cp & 63);
      } else {
        // A lone surrogate: JSON.stringify escapes it (well-formed JSON.stringify, ES2019).
        buf[pos++] = 92;
        buf[pos++] = 117;
        buf[pos++] = HEX[c >> 12]!;
        buf[pos++] = HEX[(c >> 8) & 15]!;
        buf[pos++] = HEX[(c >> 4) & 15]!;
        buf[pos++] = HEX[c & 15]!;
      }
    }
  }
  buf[pos++] = 34;
  return pos;
}

function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
}

/** Digits of an integer 0 <= v < 2^31. */
function writeSmallUint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 10) {
    buf[pos] = 48 + v;
    return pos + 1;
  }
  let digits = 2;
  for (let t = 100; t <= v && digits < 10; t *= 10) digits++;
  for (let p = pos + digits - 1; p >= pos; p--) {
    const q = (v / 10) | 0;
    buf[p] = 48 + v - q * 10;
    v = q;
  }
  return pos + digits;
}

const SMALL = 2 ** 31;

/**
 * A number as JSON.stringify writes it. Integers below 2^31 and values with at most two decimals below
 * 2^31 are written digit by digit: for those, the decimal m/100 (m = round(x·100), checked to give back x) is
 * the only candidate of its length within x's rounding interval (narrower than 0.01 there), so it is the
 * shortest round-trip text Number#toString picks. Anything else goes through String(x), the same algorithm.
 */
function writeNumber(buf: Uint8Array, pos: number, x: number): number {
  const a = x < 0 ? -x : x;
  if (a < SMALL) {
    if (x < 0) buf[pos++] = 45;
    const i = a | 0;
    if (i === a) return writeSmallUint(buf, pos, i); // -0 is written "0", like JSON.stringify
    const m = Math.round(a * 100);
    if (m / 100 === a && m < SMALL) {
      const ip = (m / 100) | 0;
      const f = m - ip * 100;
      pos = writeSmallUint(buf, pos, ip);
      buf[pos++] = 46;
      const d1 = (f / 10) | 0;
      buf[pos++] = 48 + d1;
      if (f !== d1 * 10) buf[pos++] = 48 + f - d1 * 10;
      return pos;
    }
    if (x < 0) pos--;
  }
  // NaN and ±Infinity are null in JSON.
  return writeAscii(buf, pos, Number.isFinite(x) ? String(x) : 'null');
}

/** Keys of the last records written by position, with their bytes: consecutive records mostly share a shape. */
const lastKeys: string[] = [];
const lastBytes: Uint8Array[] = [];
/** Bounded: a record with thousands of keys (a JSONL map) is written through the key cache beyond this. */
const LAST_KEYS_LIMIT = 256;

/** An object with nothing of its own: for-in over it lists what every plain record would inherit. */
const PROBE = {};

/** True when Object.prototype (or an object above it) has enumerable keys, which for-in would list too. */
function prototypeEnumerates(): boolean {
  for (const key in PROBE) if (key !== undefined) return true;
  return false;
}

/**
 * Writes the JSON of `record` into `buf` from `pos` and returns the position after it, or -1 when the record
 * is not one this writer handles exactly (see the top of the file) or `buf` lacks room; then nothing after
 * `pos` is meaningful and the caller encodes the record with JSON.stringify.
 */
export function writeJsonRecord(buf: Uint8Array, pos: number, record: Record<string, unknown>): number {
  // for-in lists own enumerable string keys in JSON.stringify's order, plus inherited enumerable ones: so only
  // records whose prototype is Object.prototype (while it has no enumerable keys) or null.
  const proto: unknown = Object.getPrototypeOf(record);
  if (proto !== null && (proto !== Object.prototype || prototypeEnumerates())) return -1;
  if (typeof record.toJSON === 'function') return -1;
  const cap = buf.length;
  if (pos + 2 > cap) return -1;
  buf[pos++] = 123;
  let j = 0;
  for (const k in record) {
    const v = record[k];
    const t = typeof v;
    if (t === 'undefined' || t === 'function' || t === 'symbol') continue; // omitted, like JSON.stringify
    let kb: Uint8Array;
    if (lastKeys[j] === k) kb = lastBytes[j]!;
    else {
      kb = keyBytes(k);
      if (j < LAST_KEYS_LIMIT) {
        lastKeys[j] = k;
        lastBytes[j] = kb;
      }
    }
    const klen = kb.length;
    if (t === 'string') {
      if (pos + klen + (v as string).length * MAX_BYTES_PER_UNIT + 4 > cap) return -1;
    } else if (pos + klen + MAX_NUMBER_BYTES + 2 > cap) return -1;
    if (j++ > 0) buf[pos++] = 44;
    for (let i = 0; i < klen; i++) buf[pos++] = kb[i]!;
    if (t === 'string') pos = writeString(buf, pos, v as string);
    else if (t === 'number') pos = writeNumber(buf, pos, v as number);
    else if (t === 'boolean') pos = writeAscii(buf, pos, v ? 'true' : 'false');
    else if (v === null) pos = writeAscii(buf, pos, 'null');
    else return -1; // objects, arrays, bigint: JSON.stringify's own rules (toJSON with the key, nesting, throws)
  }
  buf[pos++] = 125;
  return pos;
}
