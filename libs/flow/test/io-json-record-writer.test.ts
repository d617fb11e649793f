// writeJsonRecord must write exactly Buffer.from(JSON.stringify(record)) or decline (-1, the encoder then uses
// JSON.stringify): checked on random records built from the awkward cases — quotes, backslashes, control
// characters, lone surrogates, non-ASCII, -0/NaN/±Infinity/1e21 and doubles of every size, nested values,
// undefined/function/symbol values, toJSON, getters, integer-like keys, prototypes, a polluted
// Object.prototype, and buffers too small for the record.
import assert from 'node:assert/strict';
import { createJsonlEncoder, encodeJsonl } from '../src/io/index.js';
import { writeJsonRecord } from '../src/io/json-record-writer.js';
import { seededRandom } from './io-fixtures.js';

type Random = () => number;

const UNITS = [
  0x00, 0x01, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, 0x20, 0x22, 0x27, 0x2f, 0x5c, 0x7e, 0x7f, 0x80, 0xa0, 0xe9, 0xff,
  0x100, 0x141, 0x7ff, 0x800, 0x2028, 0x2029, 0x7530, 0xfeff, 0xfffd, 0xffff, 0xd800, 0xdbff, 0xdc00, 0xdfff,
];

function randomString(random: Random): string {
  const n = Math.floor(random() * 12);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.5) s += String.fromCharCode(0x61 + Math.floor(random() * 26));
    else if (r < 0.6) s += '\u{1F600}'; // a surrogate pair
    else s += String.fromCharCode(UNITS[Math.floor(random() * UNITS.length)]!);
  }
  return s;
}

const NUMBERS = [
  0, -0, 1, -1, 0.5, 0.1 + 0.2, 1.005, 0.29, 426.08, 6391.2, -0.01, 0.07, 99.995, 1e-7, 1.5e-7, 1e-6, 1e21, 1e20,
  123456789012345680000, 5e-324, Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, 2 ** 31, 2 ** 31 - 1,
  -(2 ** 31), 2 ** 31 - 0.01, 2 ** 31 - 0.5, 2 ** 53 + 2, NaN, Infinity, -Infinity, 1 / 3, 2 / 3, 1e13 + 0.01,
];

function randomNumber(random: Random): number {
  const r = random();
  const sign = random() < 0.2 ? -1 : 1;
  if (r < 0.2) return NUMBERS[Math.floor(random() * NUMBERS.length)]!;
  if (r < 0.4) return sign * Math.floor(random() * 10 ** Math.floor(random() * 16));
  if (r < 0.7) {
    // Money-like: rounded to cents the way the orders flow does it, at every magnitude.
    const x = random() * 10 ** Math.floor(random() * 12);
    return sign * (Math.round((x + Number.EPSILON * x) * 100) / 100);
  }
  if (r < 0.8) return sign * Math.round(random() * 10 ** Math.floor(random() * 9)) / 10 ** Math.floor(random() * 4);
  return sign * random() * 10 ** (Math.floor(random() * 40) - 20);
}

const KEYS = ['id', 'name', 'é', 'say "hi"', 'back\\slash', 'line\nbreak', '\u0001', '\ud800', '', '0', '7', '10', '4294967295', 'toString', 'a b'];

function randomValue(random: Random, flat: boolean): unknown {
  const r = random();
  if (r < 0.4) return randomString(random);
  if (r < 0.75) return randomNumber(random);
  if (r < 0.82) return random() < 0.5;
  if (r < 0.87) return null;
  if (flat) return randomString(random);
  if (r < 0.9) return undefined;
  if (r < 0.92) return () => 1;
  if (r < 0.93) return Symbol('s');
  if (r < 0.96) return { nested: randomString(random), n: randomNumber(random) };
  if (r < 0.98) return [randomNumber(random), randomString(random), null, undefined];
  return { toJSON: (key: string) => `toJSON(${key})` };
}

function randomRecord(random: Random, flat: boolean): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  const n = Math.floor(random() * 9);
  for (let i = 0; i < n; i++) record[KEYS[Math.floor(random() * KEYS.length)]!] = randomValue(random, flat);
  return record;
}

const SHARED = Buffer.alloc(1 << 17);

/** Writes one record at `offset` of a buffer with `room` bytes after it, junk where the record goes; checks exact bytes or -1. */
function check(record: Record<string, unknown>, room = 1 << 16, offset = 7): boolean {
  const buf = SHARED.subarray(0, offset + room);
  const expected = Buffer.from(JSON.stringify(record), 'utf8');
  buf.fill(0xaa, offset, Math.min(buf.length, offset + expected.length + 16));
  const end = writeJsonRecord(buf, offset, record);
  if (end < 0) return false;
  assert.ok(end <= buf.length, 'stays within the buffer');
  assert.equal(buf.subarray(offset, end).toString('hex'), expected.toString('hex'), JSON.stringify(record));
  return true;
}

describe('io: writeJsonRecord writes exactly JSON.stringify', function () {
  it('random flat records (strings, numbers, booleans, null) are all written, byte for byte', function () {
    const random = seededRandom(71);
    for (let i = 0; i < 20000; i++) assert.ok(check(randomRecord(random, true)), 'a flat record is never declined');
  });

  it('random records with nested values, undefined, functions, symbols and toJSON: written exactly or declined', function () {
    const random = seededRandom(72);
    let written = 0;
    for (let i = 0; i < 20000; i++) if (check(randomRecord(random, false))) written++;
    assert.ok(written > 1000, `some records are written (${written})`);
  });

  it('every number type: integers, cents, -0, NaN, ±Infinity, tiny and huge doubles', function () {
    const random = seededRandom(73);
    for (const x of NUMBERS) assert.ok(check({ x, y: -x }));
    for (let i = 0; i < 200000; i++) assert.ok(check({ x: randomNumber(random) }));
  });

  it('every UTF-16 code unit, alone and after a high surrogate', function () {
    for (let c = 0; c < 0x10000; c++) {
      const s = String.fromCharCode(c);
      assert.ok(check({ s, pair: `\ud83d${s}`, low: `${s}\udc00`, [s]: 1 }));
    }
  });

  it('declines records it cannot match exactly: toJSON, class instances, arrays, nested values', function () {
    class Order {
      id = 'x';
    }
    assert.equal(writeJsonRecord(Buffer.alloc(100), 0, { id: 'x', toJSON: () => 'y' }), -1);
    assert.equal(writeJsonRecord(Buffer.alloc(100), 0, new Order() as unknown as Record<string, unknown>), -1);
    assert.equal(writeJsonRecord(Buffer.alloc(100), 0, [1, 2] as unknown as Record<string, unknown>), -1);
    assert.equal(writeJsonRecord(Buffer.alloc(100), 0, { a: { b: 1 } }), -1);
    assert.equal(writeJsonRecord(Buffer.alloc(100), 0, { a: 1n }), -1);
    assert.equal(writeJsonRecord(Buffer.alloc(100), 0, { a: new Date(0) }), -1);
    const inherited = Object.create({ inherited: 1 }) as Record<string, unknown>;
    inherited.own = 2;
    assert.equal(writeJsonRecord(Buffer.alloc(100), 0, inherited), -1);
  });

  it('null-prototype records, getters, non-enumerable and symbol keys, integer-like keys in JSON order', function () {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 1;
    bare['2'] = 'two';
    bare.a = 'x';
    bare['1'] = true;
    assert.ok(check(bare));
    const withGetter = { a: 1, get b() { return 'got'; } };
    assert.ok(check(withGetter));
    const hidden: Record<string, unknown> = { a: 1 };
    Object.defineProperty(hidden, 'h', { value: 2, enumerable: false });
    (hidden as Record<symbol, unknown>)[Symbol('k')] = 3;
    assert.ok(check(hidden));
    Object.defineProperty(hidden, '__proto__', { value: 'own', enumerable: true });
    assert.ok(check(hidden));
  });

  it('a polluted Object.prototype: declined while it lasts (for-in would list the inherited key)', function () {
    const record = { a: 1, b: 'x' };
    assert.ok(check(record));
    (Object.prototype as Record<string, unknown>).polluted = 1;
    try {
      assert.equal(writeJsonRecord(Buffer.alloc(100), 0, record), -1);
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    assert.ok(check(record));
  });

  it('a record wider than the per-position key memo (300 keys) and records of alternating shapes', function () {
    const wide: Record<string, unknown> = {};
    for (let i = 0; i < 300; i++) wide[`k${i}`] = i % 2 === 0 ? `v${i}` : i;
    assert.ok(check(wide));
    assert.ok(check({ a: 1, b: 'x' }));
    assert.ok(check(wide));
    assert.ok(check({ b: 'x', a: 1 }));
  });

  it('too little room: declined, never a short or wrong record', function () {
    const random = seededRandom(74);
    for (let i = 0; i < 20000; i++) {
      const record = randomRecord(random, true);
      const size = Buffer.byteLength(JSON.stringify(record));
      check(record, Math.floor(random() * (size + 40)), Math.floor(random() * 5));
    }
  });

  it('the JSONL encoders give JSON.stringify + "\\n" per record over mixed flat and nested records and shapes', function () {
    const random = seededRandom(75);
    const records = Array.from({ length: 30000 }, () => randomRecord(random, random() < 0.8));
    const expected = Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8');
    assert.equal(encodeJsonl(records).toString('hex'), expected.toString('hex'));
    const encoder = createJsonlEncoder(4096, 100);
    const chunks: Buffer[] = [];
    for (const record of records) {
      const chunk = encoder.write(record);
      if (chunk) chunks.push(chunk.bytes);
    }
    const rest = encoder.flush();
    if (rest) chunks.push(rest.bytes);
    assert.equal(Buffer.concat(chunks).toString('hex'), expected.toString('hex'));
  });
});
