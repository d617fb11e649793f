// Encoders round-trip: decode(encode(x)) == x, with csv-parse as an independent reader; checksums.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import {
  createChecksum, createJsonlEncoder, crc32hex, decodeRecords, encodeCsv, encodeJsonl, generateOrders, orderId,
} from '../src/io/index.js';
import type { FlowRecord } from '../src/io/index.js';
import { seededRandom } from './io-fixtures.js';

const AWKWARD = ['', ' ', 'plain', 'a,b', '"', 'say "hi"', 'two\nlines', 'cr\r\nlf', ' padded ', 'Müller, Zoë', '田中',
  '\t', ';|', '""', 'end"'];

function randomRecords(count: number, seed: number, columns: string[]): FlowRecord[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const record: FlowRecord = {};
    for (const column of columns) {
      const a = AWKWARD[Math.floor(random() * AWKWARD.length)]!;
      const b = AWKWARD[Math.floor(random() * AWKWARD.length)]!;
      record[column] = a + b;
    }
    return record;
  });
}

describe('io: encoders and checksums', function () {
  const columns = ['id', 'name, with comma', 'note "q"', 'x'];

  for (const [delimiter, newline] of [[',', '\n'], [';', '\r\n'], ['\t', '\n']] as const) {
    it(`encodeCsv round-trips through our decoder and csv-parse (delimiter ${JSON.stringify(delimiter)}, ${JSON.stringify(newline)})`, function () {
      const records = randomRecords(400, delimiter.charCodeAt(0), columns);
      const bytes = encodeCsv(records, columns, { delimiter, newline });
      const ours = decodeRecords('csv', bytes, { delimiter });
      assert.deepEqual(ours.fields, columns);
      assert.deepEqual(ours.errors, []);
      // Empty records ("" in every column) are empty lines only when there is one column; here there are 4.
      assert.deepEqual(ours.records, records);
      const theirs = parse(bytes, { columns: true, delimiter }) as FlowRecord[];
      assert.deepEqual(theirs, records);
    });
  }

  it('encodeCsv writes null/undefined as empty, numbers and objects as text', function () {
    const bytes = encodeCsv([{ a: null, b: 1.5, c: { k: 'v' }, d: undefined, e: true }], ['a', 'b', 'c', 'd', 'e'], { header: false });
    assert.equal(bytes.toString(), ',1.5,"{""k"":""v""}",,true\n');
  });

  it('createJsonlEncoder: chunks of ~chunkBytes that concatenate to the records, with per-chunk counts', function () {
    const records = randomRecords(2000, 9, columns).map((r, i) => ({ ...r, n: i, nested: { ok: i % 2 === 0 } }));
    const encoder = createJsonlEncoder(4096);
    const chunks = [];
    for (const record of records) {
      const chunk = encoder.write(record);
      if (chunk) chunks.push(chunk);
    }
    const last = encoder.flush();
    if (last) chunks.push(last);
    assert.equal(encoder.flush(), undefined);
    assert.ok(chunks.length > 10);
    for (const chunk of chunks.slice(0, -1)) assert.ok(chunk.bytes.length >= 4096 && chunk.bytes.length < 4096 + 2048);
    assert.equal(chunks.reduce((n, c) => n + c.records, 0), records.length);
    const all = Buffer.concat(chunks.map((c) => c.bytes));
    assert.deepEqual(all, encodeJsonl(records));
    const decoded = decodeRecords('jsonl', all);
    assert.deepEqual(decoded.records, records);
    assert.deepEqual(decoded.errors, []);
  });

  it('createJsonlEncoder: a small size hint (a tiny batch) gives exactly the chunks of a full-size buffer', function () {
    const big = { s: 'é'.repeat(3000) };
    const base = randomRecords(3000, 9, columns).map((r, i) => ({ ...r, n: i }));
    const records = [...base.slice(0, 5), big, ...base.slice(5), big, big];
    const chunksOf = (encoder: ReturnType<typeof createJsonlEncoder>) => {
      const out = records.map((r) => encoder.write(r)).filter((c) => c !== undefined);
      const last = encoder.flush();
      if (last) out.push(last);
      return out.map((c) => [c.records, c.bytes.toString('hex')]);
    };
    for (const hint of [0, 100, 5000, 1e9]) {
      assert.deepEqual(chunksOf(createJsonlEncoder(4096, hint)), chunksOf(createJsonlEncoder(4096)), `hint ${hint}`);
    }
  });

  it('crc32hex equals the incremental checksum and the CRC-32 check value', function () {
    assert.equal(crc32hex([Buffer.from('123456789')]), 'cbf43926');
    assert.equal(crc32hex([Buffer.from('1234'), Buffer.from(''), Buffer.from('56789')]), 'cbf43926');
    assert.equal(createChecksum().update(Buffer.from('12345')).update(Buffer.from('6789')).digest(), 'cbf43926');
    assert.equal(crc32hex([]), '00000000');
    assert.notEqual(crc32hex([Buffer.from('123456780')]), 'cbf43926');
  });
});

describe('io: orders generator', function () {
  const digest = (buffers: Buffer[]) => createHash('sha256').update(Buffer.concat(buffers)).digest('hex');

  it('is deterministic for a seed and differs between seeds, whatever the chunk size', function () {
    const a = [...generateOrders({ records: 20000, seed: 42 })];
    const b = [...generateOrders({ records: 20000, seed: 42, chunkBytes: 1000 })];
    const c = [...generateOrders({ records: 20000, seed: 43 })];
    assert.equal(digest(a), digest(b));
    assert.notEqual(digest(a), digest(c));
  });

  it('order_id is the record position; every row decodes to a record or a wrong-width error', function () {
    const csv = Buffer.concat([...generateOrders({ records: 5000, seed: 5, invalidRate: 0.2, newlineRate: 0.05 })]);
    const out = decodeRecords('csv', csv);
    assert.deepEqual(out.fields, ['order_id', 'customer', 'email', 'country', 'sku', 'quantity', 'unit_price', 'order_date', 'note']);
    assert.equal(out.records.length + out.errors.length, 5000);
    assert.ok(out.errors.length > 50 && out.errors.every((e) => /expected 9 fields, found 8/.test(e.reason)));
    const ids = [...out.records.map((r) => r['order_id'] as string), ...out.errors.map((e) => e.raw.slice(0, 11))].sort();
    assert.deepEqual(ids, Array.from({ length: 5000 }, (_, i) => orderId(i + 1)));
    assert.ok(out.records.some((r) => (r['note'] as string).includes('\n')));
    assert.ok(out.records.some((r) => (r['customer'] as string).includes('"')));
    assert.ok(out.records.some((r) => /[^\x00-\x7f]/.test(r['customer'] as string)));
  });
});

describe('io: encodeCsv single column', function () {
  it('an empty value in a one-column file survives (not an empty line)', function () {
    const records = [{ a: 'x' }, { a: '' }, { a: 'y' }];
    assert.deepEqual(decodeRecords('csv', encodeCsv(records, ['a'])).records, records);
  });
});

describe('io: JSONL encoder with records larger than a chunk', function () {
  it('keeps order and content when a record exceeds the chunk and its slack', function () {
    const big = { s: 'é'.repeat(100_000) };
    const records = [{ a: 1 }, big, { a: 2 }, big, big, { a: 3 }];
    const encoder = createJsonlEncoder(16);
    const chunks = records.map((r) => encoder.write(r)).filter((c) => c !== undefined);
    const last = encoder.flush();
    if (last) chunks.push(last);
    assert.equal(chunks.reduce((n, c) => n + c.records, 0), records.length);
    assert.deepEqual(Buffer.concat(chunks.map((c) => c.bytes)), encodeJsonl(records));
  });
});
