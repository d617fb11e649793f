// CSV edge cases at batch boundaries (issue 4, "Done when"): for batch sizes from 1 byte to the whole file,
// by bytes and by records, with planner reads from 1 byte up, the union of independently decoded batches
// equals decoding the whole file — records, 1-based source lines and errors alike.
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { decodeRecords, generateOrders, readHeader } from '../src/io/index.js';
import { createTempDir, decodeInBatches, stripFields } from './io-fixtures.js';

const LONG = 'x'.repeat(5000);

// name → [file content, expected data records (values by column), their source lines]
const CASES: Record<string, { csv: string; rows: string[][]; lines: number[]; errors?: number[] }> = {
  'quoted newlines': {
    csv: 'id,text,n\n1,"two\nlines",a\n2,"three\n\nlines",b\n3,plain,c\n',
    rows: [['1', 'two\nlines', 'a'], ['2', 'three\n\nlines', 'b'], ['3', 'plain', 'c']],
    lines: [2, 4, 7],
  },
  'escaped quotes and quoted delimiters': {
    csv: 'id,text\n1,"he said ""hi"""\n2,""""\n3,"a,b,""c"""\n4,""\n',
    rows: [['1', 'he said "hi"'], ['2', '"'], ['3', 'a,b,"c"'], ['4', '']],
    lines: [2, 3, 4, 5],
  },
  'CRLF line ends, CRLF inside quotes': {
    csv: 'id,text\r\n1,"x\r\ny"\r\n2,z\r\n\r\n3,"w"\r\n',
    rows: [['1', 'x\r\ny'], ['2', 'z'], ['3', 'w']],
    lines: [2, 4, 6],
  },
  'missing final newline': {
    csv: 'id,text\n1,a\n2,"last"',
    rows: [['1', 'a'], ['2', 'last']],
    lines: [2, 3],
  },
  'missing final newline after an unquoted field': {
    csv: 'id,text\n1,a\n2,b',
    rows: [['1', 'a'], ['2', 'b']],
    lines: [2, 3],
  },
  'UTF-8 BOM and non-ASCII text': {
    csv: '\uFEFFid,name\n1,"Müller, Zoë"\n2,Łukasz Søren\n3,田中\n',
    rows: [['1', 'Müller, Zoë'], ['2', 'Łukasz Søren'], ['3', '田中']],
    lines: [2, 3, 4],
  },
  'empty file': { csv: '', rows: [], lines: [] },
  'header only': { csv: 'id,text\n', rows: [], lines: [] },
  'header only without newline': { csv: 'id,text', rows: [], lines: [] },
  'empty lines before the header, between and after records': {
    csv: '\n\r\nid,text\n\n1,a\n\n\n2,b\n\n',
    rows: [['1', 'a'], ['2', 'b']],
    lines: [5, 8],
  },
  'a record longer than the batch': {
    csv: `id,text\n1,short\n2,"${LONG}\n${LONG}"\n3,${LONG}\n4,end\n`,
    rows: [['1', 'short'], ['2', `${LONG}\n${LONG}`], ['3', LONG], ['4', 'end']],
    lines: [2, 3, 5, 6],
  },
  'malformed rows become errors and the batch goes on': {
    csv: 'id,text\n1,a\n2,b,extra\n3\n4,"bad"x\n5,ok\n6,"unterminated\n7,z\n',
    rows: [['1', 'a'], ['5', 'ok']],
    lines: [2, 6],
    errors: [3, 4, 5, 7],
  },
  // RFC 4180 has no stray quotes; record ends are found by quote parity (as the planner must), so a stray
  // quote pairs with the next one and the rows between become one malformed record — never a split one.
  'a stray quote swallows rows up to the next quote': {
    csv: 'id,text\n1,O"Brien\n2,ok\n3,x"\n4,y\n',
    rows: [['4', 'y']],
    lines: [5],
    errors: [2],
  },
};

const BATCH_BYTES = [1, 2, 3, 5, 8, 13, 21, 64, 200, 1000, 4096, 1 << 20];
const BATCH_RECORDS = [1, 2, 3, 5, 100];
const CHUNK_BYTES = [1, 13, 1 << 20];

describe('io: CSV batches at record boundaries', function () {
  const tmp = createTempDir();
  after(() => tmp.remove());

  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: whole-file decode gives the expected records and lines`, async function () {
      const path = tmp.file(`${name.replace(/\W+/g, '-')}.csv`, c.csv);
      const { whole } = await decodeInBatches(path, 'csv', {});
      assert.deepEqual(whole.records.map((r) => Object.values(r)), c.rows);
      assert.deepEqual(whole.lines, c.lines);
      assert.deepEqual(whole.errors.map((e) => e.line), c.errors ?? []);
      // Decoding the file in one go, header included, agrees with the header + data split.
      const once = decodeRecords('csv', Buffer.from(c.csv));
      assert.deepEqual(stripFields(once), stripFields(whole));
    });

    it(`${name}: every batch size and read size gives the same union`, async function () {
      const path = tmp.file(`${name.replace(/\W+/g, '-')}-b.csv`, c.csv);
      let whole: unknown;
      // 1-byte reads are the harshest straddling case but slow on the long-record file: 13 covers it there.
      for (const chunkBytes of CHUNK_BYTES.filter((n) => n > 1 || c.csv.length < 2000)) {
        for (const batchBytes of BATCH_BYTES) {
          const run = await decodeInBatches(path, 'csv', { batchBytes, chunkBytes });
          whole ??= stripFields(run.whole);
          assert.deepEqual(stripFields(run.result), whole, `batchBytes ${batchBytes}, chunkBytes ${chunkBytes}`);
        }
        for (const batchRecords of BATCH_RECORDS) {
          const run = await decodeInBatches(path, 'csv', { batchRecords, chunkBytes });
          assert.deepEqual(stripFields(run.result), whole, `batchRecords ${batchRecords}, chunkBytes ${chunkBytes}`);
          for (const batch of run.batches.slice(0, -1)) assert.equal(batch.records, batchRecords);
        }
      }
    });
  }

  it('a record longer than batchBytes is its own batch', async function () {
    const path = tmp.file('long.csv', CASES['a record longer than the batch']!.csv);
    const { batches } = await decodeInBatches(path, 'csv', { batchBytes: 100 });
    assert.deepEqual(batches.map((b) => b.records), [2, 1, 1]);
    assert.ok(batches[0]!.length > 100 && batches[1]!.length > 5000);
  });

  it('cuts by bytes at the first record boundary at or after offset + batchBytes', async function () {
    const path = tmp.file('cuts.csv', 'h\n' + 'abcd\n'.repeat(10));
    const { batches } = await decodeInBatches(path, 'csv', { batchBytes: 7 });
    assert.deepEqual(batches.map((b) => [b.offset, b.length, b.firstLine, b.records]), [
      [2, 10, 2, 2], [12, 10, 4, 2], [22, 10, 6, 2], [32, 10, 8, 2], [42, 10, 10, 2],
    ]);
  });

  it('readHeader: BOM stripped, raw header, data offset and first line', async function () {
    const path = tmp.file('hdr.csv', '\uFEFF\n"id","a,b"\r\n1,2\r\n');
    const fh = await open(path, 'r');
    try {
      const info = await readHeader(fh, 'csv');
      assert.deepEqual(info.fields, ['id', 'a,b']);
      assert.equal(info.header.toString(), '"id","a,b"');
      assert.equal(info.dataOffset, 3 + 1 + 12);
      assert.equal(info.firstLine, 3);
    } finally {
      await fh.close();
    }
  });

  it('generated orders (CRLF, many quoted newlines and invalid rows) agree with csv-parse and across batches', async function () {

  it('readHeader: a header longer than its first reads, its CRLF split across two reads', async function () {
    // readHeader reads 4 KiB after the BOM first, then doubles: a read ends between the header's CR and LF
    // (after the first read, and after the second); the header also holds a quoted newline.
    for (const cut of [4096, 4096 + 8192]) {
      const pad = 'p'.repeat(cut - '"q\nr",'.length - 1);
      const headerText = `"q\nr",${pad}`;
      const path = tmp.file(`long-hdr-${cut}.csv`, `\uFEFF${headerText}\r\n1,2\r\n`);
      const fh = await open(path, 'r');
      try {
        const info = await readHeader(fh, 'csv');
        assert.deepEqual(info.fields, ['q\nr', pad]);
        assert.equal(info.header.toString(), headerText);
        assert.equal(info.dataOffset, 3 + Buffer.byteLength(headerText) + 2);
        assert.equal(info.firstLine, 3);
      } finally {
        await fh.close();
      }
    }
  });
    const csv = Buffer.concat([...generateOrders({ records: 3000, seed: 7, newlineRate: 0.1, invalidRate: 0.1, newline: '\r\n' })]);
    const path = tmp.file('orders.csv', csv);
    const { whole } = await decodeInBatches(path, 'csv', {});
    const expected = (parse(csv, { columns: true, bom: true, relax_column_count: true }) as Record<string, string>[])
      .filter((r) => Object.keys(r).length === 9);
    assert.deepEqual(whole.records, expected);
    assert.equal(whole.records.length + whole.errors.length, 3000);
    for (const batchBytes of [1, 333, 4096, 65536]) {
      const run = await decodeInBatches(path, 'csv', { batchBytes, chunkBytes: 1000 });
      assert.deepEqual(stripFields(run.result), stripFields(whole), `batchBytes ${batchBytes}`);
    }
    const run = await decodeInBatches(path, 'csv', { batchRecords: 128, chunkBytes: 4096 });
    assert.deepEqual(stripFields(run.result), stripFields(whole));
  });
});

describe('io: CSV header names are data, never code', function () {
  it('odd header names (quotes, backslashes, __proto__, line separators) become plain keys', function () {
    const names = ['a"b', 'c\\d', '__proto__', 'e\u2028f', '}); throw 1; ({', 'constructor'];
    const csv = names.map((n) => `"${n.replaceAll('"', '""')}"`).join(',') + '\n1,2,3,4,5,6\n';
    const { records, fields } = decodeRecords('csv', Buffer.from(csv));
    assert.deepEqual(fields, names);
    assert.deepEqual(Object.keys(records[0]!), names);
    assert.equal(Object.getPrototypeOf(records[0]), Object.prototype);
    assert.equal(records[0]!['__proto__' as string], '3');
    assert.equal(records[0]!['}); throw 1; ({'], '5');
    // Without __proto__ the generated-literal path runs: same keys, same values.
    const rest = names.filter((n) => n !== '__proto__');
    const again = decodeRecords('csv', Buffer.from('1,2,3,4,5\n'), { fields: rest });
    assert.deepEqual(Object.entries(again.records[0]!), rest.map((n, i) => [n, String(i + 1)]));
  });
});
