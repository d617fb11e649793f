// Every step type through runBatch: outputs, rejects with source lines, counts, globals, chunks.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32hex } from '../src/index.js';
import { compile, jsonl, jsonlFlow, run, tempDir } from './flow-helpers.js';

describe('flow steps', () => {
  it('filter drops records (counted as filtered), set computes fields in order', async () => {
    const c = await compile(jsonlFlow(`  - type: filter
    expr: record.n > 1.0
  - type: set
    fields:
      double: record.n * 2.0
      quad: record.double * 2.0
      label: '"n=" + string(int(record.n))'
`));
    const { records, result } = await run(c, { bytes: jsonl([{ n: 1 }, { n: 2 }, { n: 3 }]) });
    assert.deepEqual(records, [{ n: 2, double: 4, quad: 8, label: 'n=2' }, { n: 3, double: 6, quad: 12, label: 'n=3' }]);
    assert.deepEqual(result.counts, { in: 3, out: 2, rejected: 0, filtered: 1 });
  });

  it('select, rename and drop reshape records', async () => {
    const c = await compile(jsonlFlow(`  - type: select
    fields: [c, a, b, missing]
  - type: rename
    fields: { a: alpha }
  - type: drop
    fields: [b]
`));
    const { records } = await run(c, { bytes: jsonl([{ a: 1, b: 2, c: 3, d: 4 }]) });
    assert.deepEqual(records, [{ c: 3, alpha: 1 }]);
    assert.deepEqual(Object.keys(records[0]!), ['c', 'alpha']);
  });

  it('validate rejects with the reason, step name and the source line of a CSV record spanning lines', async () => {
    const c = await compile(`name: v
source: { type: file, root: data, path: x.csv, format: csv }
steps:
  - type: validate
    name: qty
    expr: record.qty.matches("^[0-9]+$")
    message: qty must be digits
`);
    // Line 2 holds a quoted newline, so the record after it starts on line 4.
    const bytes = 'a,"multi\nline",1\nb,plain,x\nc,plain,3\n';
    const { records, result } = await run(c, { bytes, header: Buffer.from('id,note,qty'), firstLine: 2, batchIndex: 7 });
    assert.deepEqual(records.map((r) => r.id), ['a', 'c']);
    assert.equal(result.rejects.length, 1);
    const reject = result.rejects[0]!;
    assert.deepEqual([reject.line, reject.reason, reject.step, reject.batchIndex], [4, 'qty must be digits', 'qty', 7]);
    assert.match(reject.raw, /"id":"b"/);
    assert.deepEqual(result.counts, { in: 3, out: 2, rejected: 1, filtered: 0 });
  });

  it('a record an expression cannot evaluate is rejected and the batch goes on; decode errors are rejects too', async () => {
    const c = await compile(jsonlFlow(`  - type: set
    fields:
      y: record.x * 2.0
`));
    const { records, result } = await run(c, { bytes: '{"x":1}\n{"z":1}\nnot json\n{"x":"s"}\n{"x":4}\n', firstLine: 10 });
    assert.deepEqual(records, [{ x: 1, y: 2 }, { x: 4, y: 8 }]);
    assert.deepEqual(result.rejects.map((r) => [r.line, r.step]).sort(), [[11, 'set#0'], [12, 'decode'], [13, 'set#0']]);
    assert.match(result.rejects.find((r) => r.line === 11)!.reason, /No such key: x/);
    assert.equal(result.counts.rejected, 3);
  });

  it('lookup copies table fields; onMiss reject, null and keep', async () => {
    const table = { keyColumn: 'code', rows: [{ code: 'DE', rate: 0.19, name: 'Germany' }, { code: 1, rate: 0.5, name: 'one' }] };
    const flow = (onMiss: string) => jsonlFlow(`  - type: lookup
    table: t
    key: record.c
    fields: { rate: tax, name: country }
    onMiss: ${onMiss}
`);
    const input = jsonl([{ c: 'DE' }, { c: 'ZZ' }, { c: 1 }]);
    const load = async () => table;
    const rejected = await run(await compile(flow('reject'), { loadReferenceTable: load }), { bytes: input });
    assert.deepEqual(rejected.records, [{ c: 'DE', tax: 0.19, country: 'Germany' }, { c: 1, tax: 0.5, country: 'one' }]);
    assert.match(rejected.result.rejects[0]!.reason, /no row in "t" for key "ZZ"/);
    const nulled = await run(await compile(flow('null'), { loadReferenceTable: load }), { bytes: input });
    assert.deepEqual(nulled.records[1], { c: 'ZZ', tax: null, country: null });
    const kept = await run(await compile(flow('keep'), { loadReferenceTable: load }), { bytes: input });
    assert.deepEqual(kept.records[1], { c: 'ZZ' });
  });

  it('count adds to global counters (with and without a key); set writes vars locally and globals as cache sets', async () => {
    const c = await compile(jsonlFlow(`  - type: count
    counter: seen
  - type: count
    counter: by
    key: record.k
  - type: set
    fields:
      vars.last: record.k
      globals.lastKey: record.k
      fromVars: vars.last
      fromGlobals: globals.lastKey
      base: globals.base
`));
    const { records, result } = await run(c, { bytes: jsonl([{ k: 'a' }, { k: 'b' }, { k: 'a' }]), vars: {}, globals: { base: 10 } });
    assert.deepEqual(result.counterDeltas, { seen: 3, 'by.a': 2, 'by.b': 1 });
    assert.deepEqual(result.cacheSets, { lastKey: 'a' });
    assert.deepEqual(records[1], { k: 'b', fromVars: 'b', fromGlobals: 'b', base: 10 });
  });

  describe('plugin', () => {
    const plugins = tempDir('flowmesh-plugin-');
    before(() => {
      plugins.file('shapes.mjs', `
export function fanout(r) { return r.n === 0 ? [] : Array.from({ length: r.n }, (_, i) => ({ n: r.n, i })); }
export function one(r) { return { ...r, seen: true }; }
export function drop(r) { return r.keep ? r : null; }
export function boom(r) { if (r.bad) throw new Error('bad record ' + r.id); return r; }
export default function usesVars(r, ctx) { return { ...r, region: ctx.vars.region }; }
`);
    });
    after(() => plugins.remove());

    const flow = (exp: string) => jsonlFlow(`  - type: plugin
    module: shapes.mjs
    export: ${exp}
  - type: set
    fields:
      after: '"yes"'
`);

    it('returns many, zero or one records; later steps run on each', async () => {
      const fan = await run(await compile(flow('fanout'), { pluginDir: plugins.dir }), { bytes: jsonl([{ n: 2 }, { n: 0 }, { n: 1 }]) });
      assert.deepEqual(fan.records, [{ n: 2, i: 0, after: 'yes' }, { n: 2, i: 1, after: 'yes' }, { n: 1, i: 0, after: 'yes' }]);
      assert.deepEqual(fan.result.counts, { in: 3, out: 3, rejected: 0, filtered: 1 });
      const one = await run(await compile(flow('one'), { pluginDir: plugins.dir }), { bytes: jsonl([{ n: 5 }]) });
      assert.deepEqual(one.records, [{ n: 5, seen: true, after: 'yes' }]);
    });

    it('null drops the record; a throw rejects it with the message and the line', async () => {
      const dropped = await run(await compile(flow('drop'), { pluginDir: plugins.dir }), { bytes: jsonl([{ keep: true }, { keep: false }]) });
      assert.equal(dropped.records.length, 1);
      assert.equal(dropped.result.counts.filtered, 1);
      const thrown = await run(await compile(flow('boom'), { pluginDir: plugins.dir }), { bytes: jsonl([{ id: 1 }, { id: 2, bad: true }, { id: 3 }]), firstLine: 5 });
      assert.deepEqual(thrown.records.map((r) => r.id), [1, 3]);
      assert.deepEqual(thrown.result.rejects.map((r) => [r.line, r.reason, r.step]), [[6, 'bad record 2', 'plugin#0']]);
    });

    it('the default export sees flow variables; a missing export or module fails compileFlow', async () => {
      const yaml = `name: t\nvars: { region: eu }\nsource: { type: stream, format: jsonl }\nsteps:\n  - type: plugin\n    module: shapes.mjs\n`;
      const out = await run(await compile(yaml, { pluginDir: plugins.dir }), { bytes: jsonl([{ a: 1 }]) });
      assert.deepEqual(out.records, [{ a: 1, region: 'eu' }]);
      await assert.rejects(compile(flow('nothere'), { pluginDir: plugins.dir }), /no function export "nothere"/);
      await assert.rejects(compile(flow('one').replace('shapes.mjs', 'gone.mjs'), { pluginDir: plugins.dir }), /could not be loaded/);
    });
  });

  describe('call', () => {
    let server: Server;
    let base = '';
    let requests = 0;
    let inFlight = 0;
    let peak = 0;
    before(async () => {
      server = createServer((req, res) => {
        requests++;
        inFlight++;
        peak = Math.max(peak, inFlight);
        const id = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
        setTimeout(() => {
          inFlight--;
          if (id === 'missing') { res.statusCode = 404; res.end('{}'); return; }
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ id, score: id.length, ignored: true }));
        }, 5);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => { await new Promise((resolve) => server.close(resolve)); });

    it('merges response fields, bounds concurrency, caches repeated keys, rejects HTTP errors', async () => {
      const c = await compile(jsonlFlow(`  - type: call
    url: ${base}/users/{{ record.user }}
    concurrency: 3
    cacheSize: 100
    fields: { score: score }
  - type: set
    fields:
      doubled: record.score * 2.0
`));
      const users = ['ann', 'bob', 'cy', 'dora', 'ann', 'bob', 'missing', 'e f'];
      requests = 0; peak = 0;
      const { records, result } = await run(c, { bytes: jsonl(users.map((user) => ({ user }))) });
      assert.deepEqual(records.map((r) => [r.user, r.score, r.doubled]), [
        ['ann', 3, 6], ['bob', 3, 6], ['cy', 2, 4], ['dora', 4, 8], ['ann', 3, 6], ['bob', 3, 6], ['e f', 3, 6],
      ]);
      assert.equal(result.rejects.length, 1);
      assert.match(result.rejects[0]!.reason, /HTTP 404/);
      assert.ok(peak <= 3, `peak ${peak}`);
      assert.equal(requests, 6, 'ann and bob were served from the cache or coalesced');
      // A second batch on the same compiled flow hits the per-node cache only.
      await run(c, { bytes: jsonl([{ user: 'cy' }]) });
      assert.equal(requests, 6);
    });
  });

  it('splits output into chunks whose CRC-32 in order is the checksum; abort stops the batch', async () => {
    const c = await compile(jsonlFlow('  - type: set\n    fields:\n      y: record.x + 1.0\n'));
    const input = jsonl(Array.from({ length: 500 }, (_, i) => ({ x: i })));
    const { chunks, result, records } = await run(c, { bytes: input }, 1024);
    assert.ok(chunks.length > 3, `chunks: ${chunks.length}`);
    assert.equal(result.chunks, chunks.length);
    assert.equal(result.checksum, crc32hex(chunks));
    assert.equal(records.length, 500);
    assert.equal(records[499]!.y, 500);
    const ac = new AbortController();
    ac.abort(new Error('cancelled by test'));
    const { runBatch } = await import('../src/index.js');
    await assert.rejects(runBatch(c, { bytes: Buffer.from(input), format: 'jsonl', firstLine: 1, firstRecord: 0, batchIndex: 0, vars: {}, globals: {} }, { signal: ac.signal }), /cancelled by test/);
  });
});
