// Why CSV decoding is hand-written (src/io/decode-csv.ts): the fastest library measured here, udsv, gets the
// cases below wrong or cannot report what the engine needs (a source line per record, an error per bad row).
// If a udsv upgrade makes these assertions fail, re-measure and reconsider the choice.
import assert from 'node:assert/strict';
import { inferSchema, initParser } from 'udsv';
import { parse } from 'csv-parse/sync';
import { decodeRecords } from '../src/io/index.js';

function udsvRows(csv: string): string[][] {
  return initParser(inferSchema(csv)).stringArrs(csv);
}

describe('io: CSV parser choice (udsv vs our decoder)', function () {
  it('mixed CRLF and LF line ends: udsv throws, we decode', function () {
    const csv = 'a,b\r\n1,"x\r\ny"\r\n2,z\n3,w\r\n';
    assert.throws(() => udsvRows(csv));
    assert.deepEqual(decodeRecords('csv', csv).records, [{ a: '1', b: 'x\r\ny' }, { a: '2', b: 'z' }, { a: '3', b: 'w' }]);
  });

  it('rows of the wrong width: udsv silently mis-splits them, we reject each with its line', function () {
    const csv = 'a,b\n1,2,3\n4\n5,6\n';
    assert.deepEqual(udsvRows(csv), [['1', '2,3'], ['4\n5', '6']]);
    const ours = decodeRecords('csv', csv);
    assert.deepEqual(ours.records, [{ a: '5', b: '6' }]);
    assert.deepEqual(ours.lines, [4]);
    assert.deepEqual(ours.errors.map((e) => [e.line, e.reason]), [[2, 'expected 2 fields, found 3'], [3, 'expected 2 fields, found 1']]);
  });

  it('an unterminated quote: udsv drops the rest silently, we report it', function () {
    const csv = 'a,b\n1,2\n3,"open\n4,5\n';
    assert.deepEqual(udsvRows(csv), [['1', '2'], ['3', '']]);
    const ours = decodeRecords('csv', csv);
    assert.deepEqual(ours.records, [{ a: '1', b: '2' }]);
    assert.deepEqual(ours.errors.map((e) => [e.line, e.reason]), [[3, 'unterminated quoted field']]);
  });

  it('agrees with udsv and csv-parse on well-formed RFC 4180 input (quoted newlines, escaped quotes, BOM)', function () {
    const csv = '\uFEFFa,b\n1,"x\ny"\n2,"he said ""hi"""\n3,"a,b"\n';
    const ours = decodeRecords('csv', csv).records.map((r) => Object.values(r));
    assert.deepEqual(ours, udsvRows(csv));
    assert.deepEqual(ours, (parse(csv, { bom: true, from_line: 2 }) as string[][]));
  });
});
