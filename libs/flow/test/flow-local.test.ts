// The reference runner: stream input, a file source with %vars%, and a file sink written atomically.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlowPathError, runFlowLocal } from '../src/index.js';
import { jsonl, tempDir } from './flow-helpers.js';

describe('reference runner (runFlowLocal)', () => {
  const dir = tempDir('flowmesh-local-');
  after(() => dir.remove());

  it('runs a stream source from input bytes, with init vars seen by every record', async () => {
    const flow = `name: s\nvars: { tag: a }\nsource: { type: stream, format: jsonl }\ninit:\n  - type: set\n    fields: { vars.tag: '"from-init"' }\nsteps:\n  - type: set\n    fields: { tag: vars.tag }\n`;
    const result = await runFlowLocal(flow, { input: Buffer.from(jsonl([{ a: 1 }, { a: 2 }])) });
    assert.equal(result.output.toString(), '{"a":1,"tag":"from-init"}\n{"a":2,"tag":"from-init"}\n');
    assert.deepEqual(result.counts, { in: 2, out: 2, rejected: 0, filtered: 0 });
  });

  it('reads a CSV file under its root (header once, source lines) and writes a CSV file sink atomically', async () => {
    dir.file('in-2024.csv', '\ufeffid,name\n1,"Doe, J"\n2,x\n');
    const flow = `name: f
vars: { year: "2023" }
source: { type: file, root: in, path: "in-%year%.csv", format: csv }
steps:
  - type: validate
    expr: record.name != "x"
    message: no x
sink: { type: file, root: out, path: "res/%year%.csv", format: csv, columns: [name, id] }
`;
    const result = await runFlowLocal(flow, { fileRoots: { in: dir.dir, out: dir.dir }, vars: { year: '2024' } });
    assert.deepEqual(result.rejects.map((r) => [r.line, r.reason]), [[3, 'no x']]);
    assert.equal(readFileSync(join(dir.dir, 'res', '2024.csv'), 'utf8'), 'name,id\n"Doe, J",1\n');
    assert.deepEqual(readdirSync(join(dir.dir, 'res')), ['2024.csv'], 'no temporary file left behind');
  });

  it('writes a parts layout sink as a directory of one part per batch', async () => {
    dir.file('p.jsonl', jsonl([{ a: 1 }, { a: 2 }, { a: 3 }]));
    const flow = `name: p
source: { type: file, root: in, path: p.jsonl, format: jsonl }
sink: { type: file, root: out, path: parts/p, layout: parts }
`;
    const result = await runFlowLocal(flow, { fileRoots: { in: dir.dir, out: dir.dir }, batchRecords: 2 });
    assert.equal(result.output.toString(), jsonl([{ a: 1 }, { a: 2 }, { a: 3 }]));
    assert.deepEqual(readdirSync(join(dir.dir, 'parts', 'p')), ['part-000000.jsonl', 'part-000001.jsonl']);
    assert.equal(readFileSync(join(dir.dir, 'parts', 'p', 'part-000001.jsonl'), 'utf8'), jsonl([{ a: 3 }]));
    assert.deepEqual(readdirSync(join(dir.dir, 'parts')), ['p'], 'no temporary directory left behind');
  });

  it('refuses a variable value that would leave the root, and an unknown root', async () => {
    const flow = `name: f\nvars: { p: a.csv }\nsource: { type: file, root: in, path: "%p%", format: csv }\n`;
    await assert.rejects(runFlowLocal(flow, { fileRoots: { in: dir.dir }, vars: { p: '../../etc/passwd' } }), FlowPathError);
    await assert.rejects(runFlowLocal(flow, { fileRoots: {} }), /unknown file root "in"/);
    assert.equal(existsSync(join(dir.dir, '..', 'etc')), false);
  });
});
