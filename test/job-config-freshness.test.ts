// Coordinators serve flows and file roots from a watch-driven copy (issue 7): a job started right after a
// flow change through the gateway must still run the changed flow. The gateway sends the store revision of
// its last change with every job and the coordinator's copy catches up to it (or the store answers).
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordEncoding, ResourceKind } from '@flowmesh/contracts';
import { createClient, type FlowmeshClient } from '@flowmesh/client';
import { startService, tempDir, waitFor, type RunningService } from '@flowmesh/testing';

const TOKEN = 'job-config-freshness-token';
const ADMIN_KEY = 'job-config-freshness-admin-key-0123456789abcdef';

/** Version `tag` of the flow: the tag is a variable and the only column kept, so both show which ran. */
const flowText = (tag: string): string => `
name: fresh
vars: { tag: "${tag}" }
source: { type: file, root: data, path: rows.csv, format: csv }
distribute: { mode: distributed }
steps:
  - type: set
    fields: { tag: vars.tag }
  - type: select
    fields: [tag]
sink: { type: stream }
`;

describe('a job right after a flow change runs the changed flow (coordinator config copy)', function () {
  this.timeout(180_000);
  const services: RunningService[] = [];
  let client: FlowmeshClient;

  before(async () => {
    const dir = await tempDir('job-config-freshness');
    const data = join(dir, 'data');
    await mkdir(data);
    await writeFile(join(data, 'rows.csv'), 'id\n1\n2\n3\n');
    const mesh = ['--discovery', 'file', '--registry-dir', join(dir, 'registry')];
    const env = { FLOWMESH_CLUSTER_TOKEN: TOKEN };
    const store = await startService('config-store', {
      args: [...mesh, '--data-dir', join(dir, 'store')],
      env,
      timeoutMs: 60_000,
    });
    services.push(store);
    const withStore = [...mesh, '--config-store', store.address];
    const started = await Promise.allSettled([
      startService('coordinator', { args: [...withStore, '--node-id', 'coord-fresh'], env, timeoutMs: 60_000 }),
      startService('executor', {
        args: [...withStore, '--node-id', 'exec-fresh', '--slots', '1', '--file-root', `data=${data}`],
        env,
        timeoutMs: 60_000,
      }),
    ]);
    for (const s of started) if (s.status === 'fulfilled') services.push(s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    services.push(
      await startService('gateway', {
        args: withStore,
        env: { ...env, FLOWMESH_ADMIN_KEY: ADMIN_KEY },
        timeoutMs: 60_000,
      }),
    );
    client = createClient(services.at(-1)!.address, { apiKey: ADMIN_KEY });
    await waitFor(() => client.whoAmI().then((w) => w.user === 'admin'), { timeoutMs: 30_000, what: 'the admin key' });
    await client.putResource({
      kind: ResourceKind.RESOURCE_KIND_FILE_ROOT,
      name: 'data',
      revision: 0,
      createRevision: 0,
      version: 0,
      updatedAt: undefined,
      updatedBy: '',
      spec: { $case: 'fileRoot', fileRoot: { path: data, writable: false, description: '' } },
    });
    await waitFor(() => client.listNodes().then((n) => n.some((x) => x.kind === 2) && n.some((x) => x.kind === 3)), {
      timeoutMs: 30_000,
      what: 'the coordinator and the executor in discovery',
    });
  });

  after(async () => {
    client?.close();
    for (const s of services.reverse()) await s.stop('SIGTERM', { timeoutMs: 5000 });
  });

  async function run(): Promise<{ flowRevision: number; tags: Set<string>; vars: Record<string, string> }> {
    let flowRevision = -1;
    const tags = new Set<string>();
    let vars: Record<string, string> = {};
    for await (const ev of client.runJob({ flow: 'fresh', encoding: RecordEncoding.RECORD_ENCODING_JSON_TEXT })) {
      if (ev.$case === 'accepted') flowRevision = ev.accepted.flowRevision;
      if (ev.$case === 'records') for (const r of ev.records.records) tags.add((JSON.parse(r) as { tag: string }).tag);
      if (ev.$case === 'summary') vars = ev.summary.job?.vars ?? {};
    }
    return { flowRevision, tags, vars };
  }

  it('sees every change on the very next job, ten changes in a row', async () => {
    for (let i = 1; i <= 10; i++) {
      const put = await client.putFlow('fresh', flowText(`v${i}`));
      const got = await run();
      assert.equal(got.flowRevision, put.definition?.flowRevision, `job after change ${i}: flow revision`);
      assert.deepEqual([...got.tags], [`v${i}`], `job after change ${i}: records`);
      assert.equal(got.vars.tag, `v${i}`, `job after change ${i}: vars`);
    }
  });

  it('a deleted flow is not run from the copy', async () => {
    assert.equal(await client.deleteFlow('fresh'), true);
    await assert.rejects(run(), (err: { code?: number }) => err.code === 5 /* NOT_FOUND */);
  });
});
