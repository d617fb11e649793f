// The resumable record reader (runBatch decodes, transforms and encodes record by record through it) and the
// JSONL encoders' byte output: pausing anywhere must not change records, lines or errors, and the encoders
// must write exactly JSON.stringify(record) + "\n" in UTF-8 whatever the text holds.
import assert from 'node:assert/strict';
import {
  createJsonlEncoder, createRecordReader, decodeRecords, encodeJsonl, generateOrders, isOwnedChunk,
} from '../src/io/index.js';
import type { DecodeError, DecodeResult, FlowRecord, RecordFormat } from '../src/io/index.js';
import { compile, run } from './flow-helpers.js';

/** Reads with a pause after every `every`-th record, resuming until the end. */
function readPausing(
  format: RecordFormat,
  input: Buffer | string,
  every: number,
  opts: { fields?: string[]; firstLine?: number; windowBytes?: number } = {},
): DecodeResult {
  const reader = createRecordReader(format, input, opts);
  const out: DecodeResult = { records: [], lines: [], errors: [] };
  let reads = 0;
  const onRecord = (record: FlowRecord, line: number): boolean => {
    out.records.push(record);
    out.lines.push(line);
    return out.records.length % every === 0;
  };
  const onError = (e: DecodeError): void => void out.errors.push(e);
  while (reader.read(onRecord, onError)) reads++;
  assert.equal(reader.read(onRecord, onError), false, 'a finished reader stays finished');
  if (reader.fields !== undefined) out.fields = reader.fields;
  assert.ok(every >= out.records.length || reads > 0, 'the reader paused');
  return out;
}

const TRICKY_CSV =
  '\uFEFFid,text\r\n' +
  '1,plain\r\n' +
  '\r\n' +
  '2,"two\nlines, and a comma"\n' +
  '3,"say ""hi"""\n' +
  '4,too,many\n' +
  '\n' +
  '5,"cr\r\nlf"\r\n' +
  '6,bad""quote\n' +
  '7,"closed"x\n' +
  '8,Müller 田中 \u{1F600}\n' +
  '9,"multi\n\nline"\n' +
  '10,"unterminated\n11,gone\n';

describe('io: resumable record reader', function () {
  for (const every of [1, 2, 3, 1000]) {
    it(`CSV paused every ${every} record(s) equals one decode (quoted newlines, CRLF, BOM, bad rows, non-ASCII)`, function () {
      const whole = decodeRecords('csv', Buffer.from(TRICKY_CSV));
      assert.deepEqual(whole.lines, [2, 4, 6, 9, 13, 14]);
      assert.deepEqual(whole.errors.map((e) => e.line), [7, 11, 12, 17]);
      assert.equal(whole.records[4]!.text, 'Müller 田中 \u{1F600}');
      assert.deepEqual(readPausing('csv', Buffer.from(TRICKY_CSV), every), whole);
      const data = TRICKY_CSV.slice(TRICKY_CSV.indexOf('\n') + 1);
      const given = { fields: ['id', 'text'], firstLine: 2 };
      assert.deepEqual(readPausing('csv', data, every, given), decodeRecords('csv', data, given));
    });
  }

  it('CSV orders with invalid rows and quoted newlines, paused every 7 records, equals one decode', function () {
    const csv = Buffer.concat([...generateOrders({ records: 3000, seed: 3, invalidRate: 0.05, newlineRate: 0.05 })]);
    const whole = decodeRecords('csv', csv);
    assert.ok(whole.errors.length > 10);
    assert.ok(whole.lines.at(-1)! > whole.records.length + whole.errors.length, 'records span lines');
    assert.deepEqual(readPausing('csv', csv, 7), whole);
  });

  it('a last record without a final newline, a quoted field then an unquoted one, ends (it looped forever)', function () {
    for (const input of ['a,b\n"x",y', 'a,b\n"x",', 'a,b\n"x","y"', 'a,b\n"x",y\r']) {
      const bytes = Buffer.from(input);
      const want = { records: [{ a: 'x', b: input.endsWith(',') ? '' : 'y' }], lines: [2], errors: [], fields: ['a', 'b'] };
      assert.deepEqual(decodeRecords('csv', input), want, input);
      assert.deepEqual(decodeRecords('csv', bytes), want, input);
      assert.deepEqual(readPausing('csv', bytes, 1), want, input);
    }
  });

  // The reader decodes a Buffer a window at a time (decode-window.ts): windows of any size — cut inside
  // quoted newlines, CRLFs, multi-byte characters' records, bad rows — give what one string gives.
  it('CSV read in windows of 1 byte to 4 KiB, paused or not, equals one decode of the whole text', function () {
    const whole = decodeRecords('csv', TRICKY_CSV);
    const given = { fields: ['id', 'text'], firstLine: 2 };
    const data = TRICKY_CSV.slice(TRICKY_CSV.indexOf('\n') + 1);
    const wholeGiven = decodeRecords('csv', data, given);
    for (const windowBytes of [1, 2, 3, 5, 8, 13, 21, 64, 4096]) {
      assert.deepEqual(decodeRecords('csv', Buffer.from(TRICKY_CSV), { windowBytes }), whole, `window ${windowBytes}`);
      for (const every of [1, 2, 1000]) {
        assert.deepEqual(readPausing('csv', Buffer.from(TRICKY_CSV), every, { windowBytes }), whole, `window ${windowBytes}`);
        const got = readPausing('csv', Buffer.from(data), every, { ...given, windowBytes });
        assert.deepEqual(got, wholeGiven, `window ${windowBytes}, every ${every}`);
      }
    }
    const orders = Buffer.concat([...generateOrders({ records: 3000, seed: 5, invalidRate: 0.05, newlineRate: 0.05 })]);
    const wholeOrders = decodeRecords('csv', orders.toString('utf8'));
    for (const windowBytes of [7, 100, 1000, 32 * 1024]) {
      assert.deepEqual(decodeRecords('csv', orders, { windowBytes }), wholeOrders, `orders, window ${windowBytes}`);
      assert.deepEqual(readPausing('csv', orders, 7, { windowBytes }), wholeOrders, `orders, window ${windowBytes}`);
    }
  });

  it('a record open across many windows (a long quoted field with newlines) and a header after empty lines', function () {
    const text = '\n\r\na,b\n1,"' + 'x\n'.repeat(500) + '"\n2,"y"z\n3,"' + 'q\n'.repeat(50) + 'unterminated\n';
    const whole = decodeRecords('csv', text);
    assert.equal(whole.records.length, 1);
    assert.equal(whole.errors.length, 2);
    for (const windowBytes of [1, 4, 50, 999]) {
      assert.deepEqual(decodeRecords('csv', Buffer.from(text), { windowBytes }), whole, `window ${windowBytes}`);
      assert.deepEqual(readPausing('csv', Buffer.from(text), 1, { windowBytes }), whole, `window ${windowBytes}`);
    }
  });

  it('JSONL and lines in windows of any size equal one decode', function () {
    const text = '{"a":1}\n\r\nnot json\n[1]\n{"b":"é田"}\r\n\n{"c":null}';
    for (const windowBytes of [1, 2, 7, 30]) {
      for (const format of ['jsonl', 'lines'] as const) {
        const want = decodeRecords(format, text, { firstLine: 3 });
        assert.deepEqual(decodeRecords(format, Buffer.from(text), { firstLine: 3, windowBytes }), want);
        assert.deepEqual(readPausing(format, Buffer.from(text), 1, { firstLine: 3, windowBytes }), want);
      }
    }
  });

  it('JSONL and lines paused every record equal one decode; empty input reads nothing', function () {
    const text = '{"a":1}\n\r\nnot json\n[1]\n{"b":"é"}\r\n\n{"c":null}';
    assert.deepEqual(readPausing('jsonl', text, 1), decodeRecords('jsonl', text));
    assert.equal(decodeRecords('jsonl', text).errors.length, 2);
    assert.deepEqual(readPausing('lines', text, 1, { firstLine: 10 }), decodeRecords('lines', text, { firstLine: 10 }));
    for (const format of ['csv', 'jsonl', 'lines'] as const) {
      const reader = createRecordReader(format, Buffer.alloc(0));
      assert.equal(reader.read(() => assert.fail('no record'), () => assert.fail('no error')), false);
    }
    assert.deepEqual(decodeRecords('csv', ''), { records: [], lines: [], errors: [], fields: [] });
  });
});

describe('io: JSONL encoders write JSON.stringify + "\\n" in UTF-8', function () {
  const expected = (records: FlowRecord[]) => Buffer.from(records.map((r) => JSON.stringify(r) + '\n').join(''), 'utf8');
  const encodeChunked = (records: FlowRecord[], chunkBytes: number) => {
    const encoder = createJsonlEncoder(chunkBytes);
    const chunks: Buffer[] = [];
    for (const r of records) {
      const c = encoder.write(r);
      if (c) chunks.push(c.bytes);
    }
    const rest = encoder.flush();
    if (rest) chunks.push(rest.bytes);
    return chunks;
  };

  const awkward: FlowRecord[] = [
    { ascii: 'plain', n: 1.5, i: -3, big: 1e21, tiny: 5e-7, neg0: -0, t: true, z: null },
    { latin1: 'Müller, Zoë ÿ', cjk: '田中', emoji: '\u{1F600}', nested: { a: ['é', 2] } },
    { lone: 'a\uD800b', trail: 'x\uDFFF', pairOk: '\uD83D\uDE00', controls: '\u0000\u001f\t\n"\\' },
    {},
    { huge: 'é'.repeat(200_000) + 'x'.repeat(100_000) },
    { after: 'the huge one' },
    { undef: undefined, fn: () => 1 } as FlowRecord,
    { toJSON: () => undefined } as unknown as FlowRecord,
  ];

  it('non-ASCII, lone surrogates, controls, a record larger than a chunk, an empty record, odd toJSON', function () {
    const want = expected(awkward);
    assert.deepEqual(encodeJsonl(awkward), want);
    for (const chunkBytes of [1, 100, 64 * 1024, 256 * 1024, 1 << 20]) {
      const chunks = encodeChunked(awkward, chunkBytes);
      assert.deepEqual(Buffer.concat(chunks), want, `chunkBytes ${chunkBytes}`);
      for (const c of chunks) assert.ok(isOwnedChunk(c), 'every chunk owns its ArrayBuffer');
    }
    // Lone surrogates are escaped by JSON.stringify, so the UTF-8 has no replacement characters.
    assert.ok(want.toString('utf8').includes('a\\ud800b'));
  });

  it('empty input: no chunk, an empty buffer', function () {
    assert.equal(encodeJsonl([]).length, 0);
    assert.equal(createJsonlEncoder().flush(), undefined);
    assert.deepEqual(encodeChunked([], 10), []);
  });

  it('a long run grows the whole-output buffer and stays exact', function () {
    const records = Array.from({ length: 5000 }, (_, i) => ({ i, s: i % 3 === 0 ? 'ü'.repeat(i % 50) : 'a'.repeat(i % 70) }));
    const out = encodeJsonl(records);
    assert.deepEqual(out, expected(records));
    assert.equal(out.buffer.byteLength >= out.length, true);
  });

  it('isOwnedChunk is false for other buffers (pooled slices, plain allocations)', function () {
    assert.equal(isOwnedChunk(Buffer.from('pooled')), false);
    assert.equal(isOwnedChunk(Buffer.alloc(300_000)), false);
    const chunk = createJsonlEncoder(10).write({ a: 'bcdefghijk' })!;
    assert.ok(isOwnedChunk(chunk.bytes));
    assert.equal(isOwnedChunk(chunk.bytes.subarray(1)), false);
  });
});

describe('runBatch: streamed decode', function () {
  it('decode errors and step rejects come back in source order; output and counts match per-stage arrays', async function () {
    const flow = await compile(
      'name: t\nsource:\n  type: stream\n  format: csv\nsteps:\n' +
        '  - type: validate\n    name: positive\n    expr: int(record.n) > 0\n    message: not positive\n',
    );
    const csv = 'n,s\n1,a\n-1,b\n2,"x\ny"\n3,c,extra\n-2,d\n"open\n';
    for (const chunkBytes of [1, 1 << 20]) {
      const { result, records, chunks } = await run(flow, { bytes: csv.slice(4), header: Buffer.from('n,s'), firstLine: 2 }, chunkBytes);
      assert.deepEqual(records, [{ n: '1', s: 'a' }, { n: '2', s: 'x\ny' }]);
      assert.equal(chunks.length, chunkBytes === 1 ? 2 : 1);
      assert.deepEqual(result.counts, { in: 6, out: 2, rejected: 4, filtered: 0 });
      assert.deepEqual(result.rejects.map((r) => [r.line, r.step]), [[3, 'positive'], [6, 'decode'], [7, 'positive'], [8, 'decode']]);
    }
  });
});
