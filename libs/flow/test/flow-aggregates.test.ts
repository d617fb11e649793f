// Aggregates merged across batches equal one batch; init and status steps; globals applied by batch.
import assert from 'node:assert/strict';
import {
  applyBatchGlobals, finalizeAggregates, mergeAggregates, runInit, runStatus, FlowStepFailedError, type AggregatePartial,
} from '../src/index.js';
import { compile, jsonl, run } from './flow-helpers.js';

const FLOW = `name: agg
vars: { limit: "10" }
source: { type: stream, format: jsonl }
init:
  - type: set
    fields:
      vars.limit: '"20"'
      globals.started: '"yes"'
  - type: count
    counter: inits
  - type: validate
    expr: vars.limit != ""
    message: limit required
  - type: log
    message: '"limit is " + vars.limit'
steps:
  - type: filter
    expr: record.v != -1.0
aggregate:
  groupBy: [g, { name: big, expr: record.v > 50.0 }]
  metrics:
    n: { count: true }
    withNote: { count: record.note }
    total: { sum: record.v }
    low: { min: record.v }
    high: { max: record.v }
    mean: { avg: record.v }
status:
  - type: set
    fields:
      globals.summaryLine: 'string(summary.recordsOut) + " of " + string(summary.counts["in"])'
  - type: log
    message: '"groups: " + string(size(aggregates))'
`;

function records(n: number): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    out.push({ g: ['a', 'b', 'c'][i % 3], v: i % 17 === 0 ? -1 : (i * 7.31) % 100, ...(i % 5 === 0 ? { note: 'n' } : {}) });
  }
  return out;
}

describe('flow aggregates and once-steps', () => {
  it('merging per-batch partials in any grouping equals one batch', async () => {
    const c = await compile(FLOW);
    const spec = c.spec.aggregate!;
    const all = records(600);
    const whole = (await run(c, { bytes: jsonl(all) })).result.aggregates;
    const oneBatch = finalizeAggregates(spec, whole);
    const parts: AggregatePartial[] = [];
    for (let i = 0; i < all.length; i += 70) parts.push((await run(c, { bytes: jsonl(all.slice(i, i + 70)) })).result.aggregates!);
    const leftFold = parts.reduce<AggregatePartial | undefined>((acc, p) => mergeAggregates(spec, acc, p), undefined);
    const rightFold = [...parts].reverse().reduce<AggregatePartial | undefined>((acc, p) => mergeAggregates(spec, p, acc), undefined);
    assert.deepEqual(finalizeAggregates(spec, leftFold), oneBatch);
    assert.deepEqual(finalizeAggregates(spec, rightFold), oneBatch);
    // A JSON round trip (the trailer carries partials as a protobuf Struct) changes nothing.
    assert.deepEqual(finalizeAggregates(spec, JSON.parse(JSON.stringify(leftFold)) as AggregatePartial), oneBatch);
    assert.equal(oneBatch.length, 6);
    const a = oneBatch.find((r) => r.g === 'a' && r.big === false)!;
    const expected = all.filter((r, i) => r.g === 'a' && r.v !== -1 && (r.v as number) <= 50 && i >= 0);
    assert.equal(a.n, expected.length);
    assert.equal(a.withNote, expected.filter((r) => r.note).length);
    assert.equal(a.low, Math.min(...expected.map((r) => r.v as number)));
    assert.equal(a.high, Math.max(...expected.map((r) => r.v as number)));
    assert.ok(Math.abs((a.total as number) - expected.reduce((s, r) => s + (r.v as number), 0)) < 1e-9);
    assert.ok(Math.abs((a.mean as number) - (a.total as number) / (a.n as number)) < 1e-9);
  });

  it('groups by value: NaN with null, lists by content, 1 apart from "1"', async () => {
    const c = await compile(`name: k\nsource: { type: stream, format: jsonl }\naggregate:\n  groupBy: [{ name: k, expr: 'has(record.k) ? record.k : record.n / 0.0 * 0.0' }]\n  metrics:\n    n: { count: true }\n`);
    const input = jsonl([{ k: [1, 2] }, { k: [1, 2] }, { k: 1 }, { k: '1' }, { k: null }, { n: 1 }, { k: 'x' }]);
    const rows = finalizeAggregates(c.spec.aggregate!, (await run(c, { bytes: input })).result.aggregates);
    assert.deepEqual(rows, [{ k: '1', n: 1 }, { k: 'x', n: 1 }, { k: 1, n: 1 }, { k: [1, 2], n: 2 }, { k: null, n: 2 }]);
  });

  it('init sets vars and globals and counts; status sees the summary and aggregates', async () => {
    const c = await compile(FLOW);
    const init = await runInit(c, { vars: { limit: '10' } });
    assert.deepEqual(init.vars, { limit: '20' });
    assert.deepEqual(init.globals, { started: 'yes', inits: 1 });
    assert.deepEqual(init.logs, ['limit is 20']);
    const status = await runStatus(c, {
      vars: init.vars, globals: init.globals, counts: { in: 10, out: 7, rejected: 2, filtered: 1 }, aggregates: [{ g: 'a' }, { g: 'b' }],
    });
    assert.equal(status.globals.summaryLine, '7 of 10');
    assert.deepEqual(status.logs, ['groups: 2']);
  });

  it('a failing init validate fails the run with the step and message', async () => {
    const c = await compile(FLOW.replace(`vars.limit: '"20"'`, `vars.limit: '""'`));
    await assert.rejects(runInit(c, { vars: { limit: '10' } }), (err: unknown) =>
      err instanceof FlowStepFailedError && err.step === 'validate#2' && err.reason === 'limit required');
  });

  it('applyBatchGlobals adds counter deltas and applies cache sets', () => {
    const g = applyBatchGlobals({ seen: 2, k: 'old' }, { seen: 3, 'by.a': 1 }, { k: 'new' });
    assert.deepEqual(g, { seen: 5, k: 'new', 'by.a': 1 });
  });
});
