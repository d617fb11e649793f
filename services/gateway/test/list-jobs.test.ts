// ListJobs filters apply before paging: over a real (embedded) resource store with more jobs than one store
// read, every page is full unless it is the last, and following next_page_token returns each matching job
// once, in order — also when the first hundreds of jobs match nothing.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, JobServiceService, JobState, Role, type ListJobsRequest, type ListRequest } from '@flowmesh/contracts';
import { createResourceStore, jobResource, type ResourceStore } from '@flowmesh/config';
import { createEmbeddedBackend, type KvBackend } from '@flowmesh/store';
import { createLogger, createServiceHost, type ServiceHost } from '@flowmesh/runtime';
import { createClient, type FlowmeshClient } from '@flowmesh/client';
import { createJobService } from '../src/jobs/job-service.js';
import { createCoordinatorDirectory } from '../src/downstream/coordinator-directory.js';
import { createCoordinatorPicker } from '../src/routing/coordinator-picker.js';
import { createJobLimiter } from '../src/limits/job-limiter.js';
import type { Guard } from '../src/access/guard.js';
import type { Store } from '../src/downstream/store.js';

const JOBS = 230;
const id = (i: number) => `job-${String(i).padStart(3, '0')}`;
// Succeeded: only every 4th job from 150 on, so the first two store reads (100 each) hold few or none.
const stateOf = (i: number) => (i >= 150 && i % 4 === 0 ? JobState.JOB_STATE_SUCCEEDED : JobState.JOB_STATE_RUNNING);
const flowOf = (i: number) => (i % 2 === 0 ? 'even' : 'odd');

const allowAll: Guard = {
  check: async () => ({ keyId: 'k1', user: 'tester', role: Role.ROLE_ADMIN }),
  recordChange: () => {},
};

describe('gateway ListJobs paging with filters', function () {
  this.timeout(60_000);
  let dir: string;
  let backend: KvBackend;
  let resources: ResourceStore;
  let host: ServiceHost;
  let client: FlowmeshClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-list-jobs-'));
    backend = await createEmbeddedBackend({ dir });
    resources = createResourceStore({ backend });
    for (let i = 0; i < JOBS; i++) {
      await resources.put(jobResource(Job.fromPartial({ id: id(i), flow: flowOf(i), state: stateOf(i) })));
    }
    const store = { list: (req: ListRequest) => resources.list(req.kind, req) } as unknown as Store;
    host = createServiceHost({
      name: 'gateway-test',
      bind: '127.0.0.1:0',
      services: [
        {
          definition: JobServiceService,
          implementation: createJobService({
            store,
            guard: allowAll,
            directory: createCoordinatorDirectory({ source: { list: () => [] } }),
            picker: createCoordinatorPicker(),
            limiter: createJobLimiter({ perKey: 2, total: 10 }),
          }),
        },
      ],
      graceMs: 100,
      logger: createLogger('gateway-test', { level: 'silent' }),
    });
    const { address } = await host.start();
    client = createClient(address, { apiKey: 'unused-by-the-stub-guard' });
  });

  after(async () => {
    client?.close();
    await host?.stop();
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Follows the tokens to the end; returns the page sizes and the ids in order. */
  async function allPages(req: Partial<ListJobsRequest>): Promise<{ sizes: number[]; ids: string[] }> {
    const sizes: number[] = [];
    const ids: string[] = [];
    let pageToken = '';
    do {
      const page = await client.listJobs({ ...req, pageToken });
      sizes.push(page.jobs.length);
      ids.push(...page.jobs.map((j) => j.id));
      pageToken = page.nextPageToken;
      assert.ok(sizes.length <= JOBS, 'paging does not end');
    } while (pageToken);
    return { sizes, ids };
  }

  const expected = (keep: (i: number) => boolean) =>
    Array.from({ length: JOBS }, (_, i) => i)
      .filter(keep)
      .map(id);

  it('fills every page of a sparse state filter, even when the first store reads match nothing', async () => {
    const got = await allPages({ state: JobState.JOB_STATE_SUCCEEDED, pageSize: 7 });
    const want = expected((i) => stateOf(i) === JobState.JOB_STATE_SUCCEEDED);
    assert.equal(want.length, 20);
    assert.deepEqual(got.ids, want);
    assert.deepEqual(got.sizes, [7, 7, 6]);
  });

  it('resumes after the last job returned when a page fills inside a store read (flow filter)', async () => {
    const got = await allPages({ flow: 'odd', pageSize: 50 });
    assert.deepEqual(
      got.ids,
      expected((i) => flowOf(i) === 'odd'),
    );
    assert.deepEqual(got.sizes, [50, 50, 15]);
  });

  it('combines both filters, and pages without filters exactly as the store holds the jobs', async () => {
    const both = await allPages({ state: JobState.JOB_STATE_RUNNING, flow: 'even', pageSize: 30 });
    const want = expected((i) => stateOf(i) === JobState.JOB_STATE_RUNNING && flowOf(i) === 'even');
    assert.deepEqual(both.ids, want);
    assert.ok(both.sizes.length > 2);
    assert.ok(
      both.sizes.slice(0, -1).every((n) => n === 30),
      `short page before the end: ${both.sizes.join(',')}`,
    );
    const all = await allPages({ pageSize: 100 });
    assert.deepEqual(
      all.ids,
      expected(() => true),
    );
    assert.deepEqual(all.sizes, [100, 100, 30]);
  });
});
