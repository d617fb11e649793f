// The orders example: the declarative flow and the plugin flow give identical output, rejects, counters
// and aggregates on a generated sample; the reference runner gives the same when split into batches; and a
// quick measurement prints records/s of both (printed only: timing is not asserted on a shared machine).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  compileFlow, generateOrders, parseFlow, runBatch, runFlowLocal, type LocalRunOptions, type ReferenceTableData,
} from '../src/index.js';
import { tempDir } from './flow-helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/orders/', import.meta.url));
const DECLARATIVE = readFileSync(join(EXAMPLE, 'orders.flow.yaml'), 'utf8');
const PLUGIN = readFileSync(join(EXAMPLE, 'orders-plugin.flow.yaml'), 'utf8');
const TAX = JSON.parse(readFileSync(join(EXAMPLE, 'tax-rates.json'), 'utf8')) as ReferenceTableData;

describe('orders example: declarative flow vs plugin', () => {
  const dir = tempDir('flowmesh-orders-');
  let csv: Buffer;
  let opts: LocalRunOptions;
  before(() => {
    csv = Buffer.concat([...generateOrders({ records: 6000, seed: 7, invalidRate: 0.03, newlineRate: 0.01 })]);
    writeFileSync(join(dir.dir, 'orders.csv'), csv);
    opts = { fileRoots: { data: dir.dir }, pluginDir: join(EXAMPLE, 'plugins'), referenceTables: { 'tax-rates': TAX } };
  });
  after(() => dir.remove());

  it('produce identical output, reject lines, counters and aggregates', async () => {
    const declarative = await runFlowLocal(DECLARATIVE, opts);
    const plugin = await runFlowLocal(PLUGIN, opts);
    assert.equal(declarative.counts.in, 6000);
    assert.ok(declarative.counts.rejected > 60 && declarative.counts.rejected < 400, `rejected ${declarative.counts.rejected}`);
    assert.deepEqual(declarative.counts, plugin.counts);
    assert.ok(declarative.output.equals(plugin.output), 'byte-identical JSONL output');
    assert.deepEqual(declarative.rejects.map((r) => r.line), plugin.rejects.map((r) => r.line));
    assert.deepEqual(declarative.aggregates, plugin.aggregates);
    const counters = (g: Record<string, unknown>) => Object.fromEntries(Object.entries(g).filter(([k]) => k.startsWith('orders_by_country.')));
    assert.deepEqual(counters(declarative.globals), counters(plugin.globals));
    assert.equal(declarative.globals.flow, 'orders-enrichment');
    assert.match(declarative.logs.at(-1)!, /^orders: \d+ out, \d+ rejected$/);

    // Spot-check the transformation itself on the first record.
    const first = JSON.parse(declarative.output.toString('utf8').split('\n')[0]!) as Record<string, unknown>;
    assert.equal(first.order_id, 'O-000000001');
    assert.doesNotMatch(String(first.customer), /,/);
    assert.equal(first.email, String(first.email).trim().toLowerCase());
    assert.equal(first.total, Math.round(((first.subtotal as number) + (first.tax as number)) * 100) / 100);
    // Every reject's line holds that order in the source (the generator numbers orders by position).
    const lines = csv.toString('utf8').split('\n');
    for (const r of declarative.rejects.slice(0, 20)) assert.match(lines[r.line - 1]!, /^O-\d{9},/);
  });

  it('the reference runner split into batches equals one batch (counts, output, rejects, aggregates)', async () => {
    const one = await runFlowLocal(DECLARATIVE, opts);
    const many = await runFlowLocal(DECLARATIVE, { ...opts, batchRecords: 700 });
    assert.ok(many.output.equals(one.output));
    assert.deepEqual(many.counts, one.counts);
    assert.deepEqual(many.rejects.map((r) => [r.line, r.reason]), one.rejects.map((r) => [r.line, r.reason]));
    assert.ok(new Set(many.rejects.map((r) => r.batchIndex)).size > 1);
    assert.deepEqual(many.aggregates, one.aggregates);
    assert.deepEqual(many.globals, one.globals);
  });

  it('measures records/s of the declarative flow and of the plugin (printed)', async function () {
    this.timeout(120_000);
    const records = 20_000;
    const data = Buffer.concat([...generateOrders({ records, seed: 3 })]);
    const nl = data.indexOf(0x0a);
    const header = data.subarray(0, nl);
    const bytes = data.subarray(nl + 1);
    const load = async () => TAX;
    const flows = {
      declarative: await compileFlow(parseFlow(DECLARATIVE), { loadReferenceTable: load }),
      plugin: await compileFlow(parseFlow(PLUGIN), { pluginDir: join(EXAMPLE, 'plugins') }),
    };
    const best = { declarative: 0, plugin: 0 };
    // Interleaved rounds, best of each: the machine is shared, so the least disturbed round counts.
    for (let round = 0; round < 3; round++) {
      for (const name of ['declarative', 'plugin'] as const) {
        // CPU time of this process, not wall time: teammates' test runs share the two cores.
        const started = process.cpuUsage();
        const result = await runBatch(flows[name], {
          bytes, format: 'csv', header, firstLine: 2, firstRecord: 0, batchIndex: 0, vars: { input: 'x' }, globals: {},
        }, { onChunk: () => undefined });
        assert.equal(result.counts.in, records);
        const used = process.cpuUsage(started);
        best[name] = Math.max(best[name], records / ((used.user + used.system) / 1e6));
      }
    }
    console.log(`      orders flow: declarative ${Math.round(best.declarative)} records/s, plugin ${Math.round(best.plugin)} records/s of CPU time, ratio ${(best.declarative / best.plugin).toFixed(2)}`);
  });
});
