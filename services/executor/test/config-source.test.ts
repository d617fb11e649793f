// File roots and reference tables from a real config-store process: a batch reads a root that only
// config-store knows, a lookup step joins a table fetched by the executor's main thread, and a new table
// revision is seen by the next batch (compiled flows are keyed by it).
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ResourceKind } from '@flowmesh/contracts';
import type { Resource } from '@flowmesh/contracts';
import { createConfigClient } from '@flowmesh/config';
import type { ConfigClient } from '@flowmesh/config';
import { startService, tempDir, waitFor } from '@flowmesh/testing';
import type { RunningService } from '@flowmesh/testing';
import { createConfigSource } from '../src/config-source.js';
import type { ConfigSource } from '../src/config-source.js';
import { assignment, execute, ordersFixture, startInProcess, trailerOf } from './executor-harness.js';
import type { InProcessExecutor, OrdersFixture } from './executor-harness.js';

const LOOKUP_FLOW = `
name: lookup-test
source: { type: file, root: orders-root, path: orders.csv, format: csv }
steps:
  - type: lookup
    table: regions
    key: record.country
    onMiss: keep
    fields: { region: region }
  - type: select
    fields: [order_id, country, region]
sink: { type: stream }
`;

function resource(name: string, spec: Resource['spec']): Resource {
  const kind = spec?.$case === 'fileRoot' ? ResourceKind.RESOURCE_KIND_FILE_ROOT : ResourceKind.RESOURCE_KIND_REFERENCE_TABLE;
  return { kind, name, revision: 0, createRevision: 0, version: 0, updatedAt: undefined, updatedBy: '', spec };
}

const regions = (de: string): Resource =>
  resource('regions', {
    $case: 'referenceTable',
    referenceTable: { keyColumn: 'code', columns: ['code', 'region'], rows: [{ code: 'DE', region: de }, { code: 'US', region: 'americas' }], description: '' },
  });

describe('executor config-store source', function () {
  let fixture: OrdersFixture;
  let dataDir: string;
  let store: RunningService | undefined;
  let client: ConfigClient;
  let source: ConfigSource;
  let ex: InProcessExecutor;

  before(async () => {
    fixture = await ordersFixture(600, 1024 * 1024);
    dataDir = await tempDir('executor-config-store');
    store = await startService('config-store', { args: ['--data-dir', path.join(dataDir, 'db'), '--discovery', 'file', '--registry-dir', path.join(dataDir, 'registry')] });
    client = createConfigClient({ address: store.address });
    await client.put(resource('orders-root', { $case: 'fileRoot', fileRoot: { path: fixture.root, writable: false, description: '' } }));
    await client.put(resource('nowhere', { $case: 'fileRoot', fileRoot: { path: path.join(dataDir, 'missing'), writable: false, description: '' } }));
    await client.put(regions('europe'));
    source = createConfigSource({ staticRoots: {}, address: () => store?.address });
    ex = await startInProcess(fixture, {
      fileRoots: (n) => source.fileRoot(n),
      loadReferenceTable: (n) => source.referenceTable(n),
      tablesRevision: () => source.tablesRevision(),
    });
  });
  after(async () => {
    await ex?.stop();
    source?.close();
    client?.close();
    await store?.stop('SIGTERM');
    await fixture?.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('reads a root known only to config-store, joins a reference table, and sees a new table revision', async () => {
    const b = fixture.batches[0]!;
    const run = async (job: string) => {
      const r = await execute(ex.client, assignment(fixture, b, { jobId: job, file: { root: 'orders-root', path: 'orders.csv' }, flow: 'lookup-test', flowSource: LOOKUP_FLOW }));
      assert.equal(r.error, undefined, r.error?.message);
      assert.ok(trailerOf(r));
      return r.output.toString().trim().split('\n').map((l) => JSON.parse(l) as { country: string; region?: string });
    };
    const first = await run('job-lookup-1');
    assert.ok(first.some((r) => r.country === 'DE' && r.region === 'europe'));
    assert.ok(first.some((r) => r.country === 'US' && r.region === 'americas'));
    assert.ok(first.some((r) => r.country === 'FR' && r.region === undefined), 'onMiss keep leaves others as they were');
    // Roots this executor can read: the one whose directory exists here, not the other.
    assert.deepEqual(source.rootNames(), ['orders-root']);

    const put = await client.put(regions('emea'));
    await waitFor(() => source.tablesRevision() >= put.revision, { what: 'new table revision in the cache' });
    const second = await run('job-lookup-2');
    assert.ok(second.some((r) => r.country === 'DE' && r.region === 'emea'), 'the new table revision is used');
  });
});
