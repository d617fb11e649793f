// Flow spec validation: every kind of mistake is refused with its line, column and field path.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkFlowSource, FlowPathError, FlowValidationError, parseFlow, resolvePath, resolveVars, type FlowIssue,
} from '../src/index.js';

/** A valid base flow; tests splice one mistake into it. */
const BASE = `name: t
vars:
  day: "2024-01-01"
source:
  type: file
  root: data
  path: in/%day%.csv
  format: csv
steps:
  - type: filter
    expr: record.country != "ZZ"
`;

function issuesOf(text: string): FlowIssue[] {
  try {
    parseFlow(text);
  } catch (err) {
    assert.ok(err instanceof FlowValidationError, String(err));
    return err.issues;
  }
  assert.fail('expected a FlowValidationError');
}

function only(issues: FlowIssue[]): FlowIssue {
  assert.equal(issues.length, 1, JSON.stringify(issues));
  return issues[0]!;
}

describe('flow spec: parseFlow', () => {
  it('fills defaults for a minimal flow (YAML)', () => {
    const spec = parseFlow(BASE);
    assert.equal(spec.name, 't');
    assert.deepEqual(spec.vars, { day: '2024-01-01' });
    assert.deepEqual(spec.source, { type: 'file', root: 'data', path: 'in/%day%.csv', format: 'csv', csv: { delimiter: ',', quote: '"', header: true } });
    assert.deepEqual(spec.distribute, { mode: 'distributed', batch: { bytes: 4 * 1024 * 1024 }, maxInstances: 8, order: 'input', retries: 3, remoteBias: 0 });
    assert.deepEqual(spec.sink, { type: 'stream' });
    assert.deepEqual(spec.steps, [{ type: 'filter', name: 'filter#0', expr: 'record.country != "ZZ"' }]);
  });

  it('accepts the same flow as JSON, with a stream source batched by records', () => {
    const spec = parseFlow(JSON.stringify({
      name: 'j', source: { type: 'stream', format: 'jsonl' }, distribute: { mode: 'local', batch: { records: 500 } },
      steps: [{ type: 'set', fields: { b: 'record.a + 1' } }], sink: { type: 'stream' },
    }));
    assert.deepEqual(spec.distribute.batch, { records: 500 });
    assert.equal(spec.distribute.mode, 'local');
    assert.deepEqual(spec.steps[0], { type: 'set', name: 'set#0', fields: [{ target: 'b', expr: 'record.a + 1' }] });
  });

  it('names line, column and path of an unknown field', () => {
    const issue = only(issuesOf(`${BASE}  - type: validate\n    expr: record.total > 0.0\n    totl: 3\n`));
    assert.deepEqual(issue, { line: 14, column: 5, path: 'steps[1].totl', message: 'unknown field "totl"' });
  });

  it('refuses a CEL syntax error at its position inside the expression', () => {
    const issue = only(issuesOf(`${BASE}  - type: filter\n    expr: record.a >* 2\n`));
    assert.equal(issue.path, 'steps[1].expr');
    assert.equal(issue.line, 13);
    assert.equal(issue.column, 21); // the "*"
    assert.match(issue.message, /invalid expression/);
  });

  it('points into multi-line block expressions', () => {
    const folded = only(issuesOf(`${BASE}  - type: set\n    fields:\n      x: >-\n        record.a.trim() +\n          recrd.b\n`));
    assert.deepEqual([folded.line, folded.column, folded.path], [16, 11, 'steps[1].fields.x']);
    const literal = only(issuesOf(`${BASE}  - type: filter\n    expr: |\n      record.a == "x" &&\n      record.b >* 1\n`));
    assert.deepEqual([literal.line, literal.column], [15, 17]);
  });

  it('type-checks expressions: unknown variable roots and wrong result types are refused', () => {
    const unknownRoot = only(issuesOf(`${BASE}  - type: set\n    fields:\n      x: recrd.email.trim()\n`));
    assert.equal(unknownRoot.path, 'steps[1].fields.x');
    assert.equal(unknownRoot.line, 14);
    assert.match(unknownRoot.message, /Unknown variable: recrd/);
    const notBool = only(issuesOf(`${BASE}  - type: filter\n    expr: record.a.trim()\n`));
    assert.match(notBool.message, /must be a bool expression/);
    const typeError = only(issuesOf(`${BASE}  - type: set\n    fields:\n      x: vars.day + 1\n`));
    assert.match(typeError.message, /no such overload/);
    // record is not in scope for init steps.
    const initScope = only(issuesOf(`${BASE}init:\n  - type: log\n    message: record.a\n`));
    assert.equal(initScope.path, 'init[0].message');
  });

  it('refuses an unknown step type and a step type not allowed in init', () => {
    const unknown = only(issuesOf(`${BASE}  - type: transmogrify\n`));
    assert.equal(unknown.path, 'steps[1].type');
    assert.equal(unknown.line, 12);
    assert.match(unknown.message, /unknown step type "transmogrify"/);
    const misplaced = only(issuesOf(`${BASE}init:\n  - type: filter\n    expr: "true"\n`));
    assert.equal(misplaced.path, 'init[0].type');
    assert.match(misplaced.message, /not allowed/);
  });

  it('refuses paths that leave their root: "..", absolute, and unknown %vars%', () => {
    const dots = only(issuesOf(BASE.replace('in/%day%.csv', '../etc/%day%')));
    assert.deepEqual([dots.path, dots.line], ['source.path', 7]);
    assert.match(dots.message, /must not leave its file root/);
    const abs = only(issuesOf(BASE.replace('in/%day%.csv', '/etc/passwd')));
    assert.match(abs.message, /not absolute/);
    const unknownVar = only(issuesOf(BASE.replace('%day%', '%month%')));
    assert.match(unknownVar.message, /unknown variable %month%/);
    const sink = only(issuesOf(`${BASE}sink:\n  type: file\n  root: out\n  path: a/../../x.jsonl\n`));
    assert.deepEqual([sink.path, sink.line], ['sink.path', 15]);
  });

  it('reads a file sink\'s layout: one file by default, a directory of parts for JSONL only', () => {
    const file = parseFlow(`${BASE}sink:\n  type: file\n  root: out\n  path: o.jsonl\n`);
    assert.deepEqual(file.sink, { type: 'file', root: 'out', path: 'o.jsonl', format: 'jsonl' });
    const parts = parseFlow(`${BASE}sink:\n  type: file\n  root: out\n  path: o\n  layout: parts\n`);
    assert.deepEqual(parts.sink, { type: 'file', root: 'out', path: 'o', format: 'jsonl', layout: 'parts' });
    const csv = only(issuesOf(`${BASE}sink:\n  type: file\n  root: out\n  path: o\n  format: csv\n  columns: [a]\n  layout: parts\n`));
    assert.deepEqual([csv.path, csv.line], ['sink.layout', 18]);
    assert.match(csv.message, /format must be jsonl/);
    const unknown = only(issuesOf(`${BASE}sink:\n  type: file\n  root: out\n  path: o\n  layout: shards\n`));
    assert.equal(unknown.path, 'sink.layout');
  });

  it('reports several issues at once, sorted by line, and wrong value types', () => {
    const issues = issuesOf(`name: t\nsource:\n  type: file\n  root: data\n  path: x.csv\n  format: xml\ndistribute:\n  maxInstances: lots\nsteps:\n  - type: select\n    fields: [a, 3]\n`);
    assert.deepEqual(issues.map((i) => [i.line, i.path]), [[6, 'source.format'], [8, 'distribute.maxInstances'], [11, 'steps[0].fields[1]']]);
  });

  it('names lines in JSON text too', () => {
    const json = JSON.stringify({ name: 'j', source: { type: 'stream' }, steps: [{ type: 'filter', expr: 'record.a >' }, { type: 'drop', fields: ['x'], extra: 1 }] }, null, 2);
    const issues = issuesOf(json);
    assert.deepEqual(issues.map((i) => [i.line, i.path]), [[9, 'steps[0].expr'], [16, 'steps[1].extra']]);
  });

  it('reports YAML syntax errors with their line', () => {
    const issue = issuesOf('name: t\nsource: [unclosed\n')[0]!;
    assert.ok(issue.line >= 2);
    assert.match(issue.message, /syntax error/);
  });

  it('refuses a plugin module that is a path', () => {
    const issue = only(issuesOf(`${BASE}  - type: plugin\n    module: ../evil.mjs\n`));
    assert.equal(issue.path, 'steps[1].module');
  });
});

describe('flow spec: checkFlowSource', () => {
  let pluginDir = '';
  before(() => {
    pluginDir = mkdtempSync(join(tmpdir(), 'flowmesh-plugins-'));
    writeFileSync(join(pluginDir, 'present.mjs'), 'export default (r) => r;\n');
  });
  after(() => rmSync(pluginDir, { recursive: true, force: true }));

  const flow = `${BASE}  - type: plugin
    module: missing.mjs
  - type: plugin
    module: present.mjs
  - type: lookup
    table: tax-rates
    key: record.country
    fields: [rate]
sink:
  type: file
  root: results
  path: out/%day%.jsonl
`;

  it('returns [] for a valid flow in a context that has what it names', async () => {
    const ok = flow.replace('missing.mjs', 'present.mjs');
    assert.deepEqual(await checkFlowSource(ok, { fileRoots: { data: '/d', results: '/r' }, pluginDir, referenceTables: ['tax-rates'] }), []);
  });

  it('names the line of a missing plugin, an unknown table and an unknown root', async () => {
    const issues = await checkFlowSource(flow, { fileRoots: { data: '/d' }, pluginDir, referenceTables: ['other'] });
    assert.deepEqual(issues.map((i) => [i.line, i.path]), [[13, 'steps[1].module'], [17, 'steps[3].table'], [22, 'sink.root']]);
    assert.match(issues[0]!.message, /plugin "missing.mjs" does not exist/);
    assert.match(issues[1]!.message, /unknown reference table "tax-rates"/);
    assert.match(issues[2]!.message, /unknown file root "results"/);
  });

  it('includes the parse issues too', async () => {
    const issues = await checkFlowSource(`${BASE}  - type: nope\n`, {});
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.path, 'steps[1].type');
  });
});

describe('flow spec: variables and paths', () => {
  it('resolves overrides and refuses undeclared ones', () => {
    const spec = parseFlow(BASE);
    assert.deepEqual(resolveVars(spec, { day: '2024-02-02' }), { day: '2024-02-02' });
    assert.throws(() => resolveVars(spec, { nope: 'x' }), FlowPathError);
  });

  it('substitutes %name% and refuses a value that escapes the root', () => {
    assert.equal(resolvePath('in/%day%.csv', { day: '2024' }), 'in/2024.csv');
    assert.throws(() => resolvePath('in/%day%.csv', { day: '../../etc' }), /must not leave/);
    assert.throws(() => resolvePath('%day%', { day: '/etc/passwd' }), /absolute/);
  });
});
