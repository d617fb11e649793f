// The compose file's topology as local processes (issue 8, item 4): a 3-member etcd, config-store,
// two coordinators, three executors and the gateway, each started with the command and environment
// deploy/docker-compose.yml gives it. A job through the gateway must return exactly what the
// single-process reference run returns.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient, type FlowmeshClient } from '@flowmesh/client';
import { NodeKind, RecordEncoding, ResourceKind } from '@flowmesh/contracts';
import { generateOrders, runFlowLocal, type ReferenceTableData } from '@flowmesh/flow';
import { REPO_ROOT, readCompose, startComposeTopology, tempDir, waitFor, type ComposeTopology } from '@flowmesh/testing';

const EXAMPLES = join(REPO_ROOT, 'examples/orders');

describe('deploy/docker-compose.yml as local processes', function () {
  this.timeout(180_000);
  let topology: ComposeTopology;
  let client: FlowmeshClient;
  let dataDir: string;
  const adminKey = `fm-admin-${randomBytes(18).toString('base64url')}`;

  before(async () => {
    dataDir = await tempDir('compose-data');
    topology = await startComposeTopology({ dataDir, vars: { FLOWMESH_ADMIN_KEY: adminKey, FLOWMESH_CLUSTER_TOKEN: randomBytes(12).toString('hex') } });
    client = createClient(topology.gateway, { apiKey: adminKey, timeoutMs: 15_000 });
    // The gateway ensures the admin key once config-store answers through discovery, after it listens.
    await waitFor(() => client.whoAmI({ timeoutMs: 2000 }).then(() => true, () => false), { what: 'the admin key to be accepted', timeoutMs: 30_000, intervalMs: 200 });
  });

  after(async () => {
    client?.close();
    await topology?.stop();
  });

  it('starts every flowmesh service of the compose file with its own command and environment', () => {
    const compose = readCompose(join(REPO_ROOT, 'deploy/docker-compose.yml'));
    const expected = Object.entries(compose).filter(([, s]) => Array.isArray(s.command) && ['gateway', 'coordinator', 'executor', 'config-store'].includes(String(s.command[0])));
    assert.equal(topology.services.size, expected.length);
    assert.equal(topology.etcd.members.length, 3);
    for (const [name] of expected) {
      assert.ok(topology.services.has(name), `${name} is running`);
      assert.ok(topology.env[name]?.FLOWMESH_NODE_ID, `${name} got its FLOWMESH_NODE_ID from the compose file`);
    }
  });

  it('discovers two coordinators and three executors through etcd', async () => {
    await waitFor(async () => (await client.listNodes(NodeKind.NODE_KIND_EXECUTOR)).length === 3, { what: 'three executors in discovery', timeoutMs: 20_000 });
    const coordinators = await client.listNodes(NodeKind.NODE_KIND_COORDINATOR);
    assert.deepEqual(coordinators.map((n) => n.id).sort(), ['coordinator-1', 'coordinator-2']);
  });

  it('runs the orders flow through the gateway with the same output as the reference run', async () => {
    await writeFile(join(dataDir, 'orders.csv'), Buffer.concat([...generateOrders({ records: 20_000, seed: 5 })]));
    const flow = (await readFile(join(EXAMPLES, 'orders.flow.yaml'), 'utf8')).replace('batch: { bytes: 4194304 }', 'batch: { records: 1000 }');
    const table = JSON.parse(await readFile(join(EXAMPLES, 'tax-rates.json'), 'utf8')) as { keyColumn: string; columns: string[]; rows: Array<Record<string, unknown>>; description?: string };
    const meta = { revision: 0, createRevision: 0, version: 0, updatedAt: undefined, updatedBy: '' };
    await client.putResource({ kind: ResourceKind.RESOURCE_KIND_FILE_ROOT, name: 'data', ...meta, spec: { $case: 'fileRoot', fileRoot: { path: dataDir, writable: false, description: 'compose /data volume' } } });
    await client.putResource({ kind: ResourceKind.RESOURCE_KIND_REFERENCE_TABLE, name: 'tax-rates', ...meta, spec: { $case: 'referenceTable', referenceTable: { keyColumn: table.keyColumn, columns: table.columns, rows: table.rows, description: table.description ?? '' } } });
    await client.putFlow('orders', flow);

    const chunks: Buffer[] = [];
    let summary: { progress?: { counts?: { recordsIn: number; recordsOut: number; recordsRejected: number } }; executors: Array<{ executorId: string; batches: number }> } | undefined;
    for await (const ev of client.runJob({ flow: 'orders', vars: { input: 'orders.csv' }, encoding: RecordEncoding.RECORD_ENCODING_JSONL })) {
      if (ev.$case === 'records') chunks.push(Buffer.from(ev.records.data));
      if (ev.$case === 'summary') summary = ev.summary.job as typeof summary;
    }
    const reference = await runFlowLocal(flow, { fileRoots: { data: dataDir }, vars: { input: 'orders.csv' }, referenceTables: { 'tax-rates': table as unknown as ReferenceTableData }, pluginDir: join(EXAMPLES, 'plugins') });
    assert.ok(summary, 'the job ended with a summary');
    assert.equal(summary.progress?.counts?.recordsIn, 20_000);
    assert.equal(summary.progress?.counts?.recordsRejected, reference.counts.rejected);
    assert.equal(Buffer.concat(chunks).toString('utf8'), reference.output.toString('utf8'));
    const used = summary.executors.filter((e) => e.batches > 0).length;
    assert.ok(used >= 2, `batches spread over executors (${JSON.stringify(summary.executors)})`);
  });
});
