// WatchJob through the gateway for a job that was just submitted: its record may not be in config-store
// yet (config-store answers NOT_FOUND as a gRPC error), and a short job may end — and leave its
// coordinator — between that lookup and the question to the coordinators. Both must still end with the
// job's summary, never NOT_FOUND (a CI run of test/gateway-mesh.test.ts once lost this race).
import assert from 'node:assert/strict';
import { Server, ServerCredentials, status, type ServerWritableStream } from '@grpc/grpc-js';
import {
  CoordinatorServiceService,
  JobState,
  ResourceKind,
  type CoordinatorServiceWatchJobRequest,
  type CoordinatorServiceWatchJobResponse,
  Job,
  type GetResponse,
} from '@flowmesh/contracts';
import type { ServiceHost } from '@flowmesh/runtime';
import type { FlowmeshClient } from '@flowmesh/client';
import { createJobService } from '../src/jobs/job-service.js';
import { createCoordinatorPicker } from '../src/routing/coordinator-picker.js';
import { createCoordinatorDirectory } from '../src/downstream/coordinator-directory.js';
import { createJobLimiter } from '../src/limits/job-limiter.js';
import { allowAll, startJobServiceHost } from './job-service-host.js';
import type { Store } from '../src/downstream/store.js';

const ended = (id: string): Job =>
  Job.fromPartial({ id, flow: 'f', state: JobState.JOB_STATE_SUCCEEDED, coordinatorId: 'c1' });

/** config-store's NOT_FOUND as the gateway's store client sees it: a gRPC error, not a NotFoundError. */
const storeNotFound = (id: string) =>
  Object.assign(new Error(`5 NOT_FOUND: job ${id} does not exist`), {
    code: status.NOT_FOUND,
    details: `job ${id} does not exist`,
  });

describe('gateway WatchJob of a just-submitted job', function () {
  this.timeout(20_000);
  let host: ServiceHost;
  let client: FlowmeshClient;
  let coordinator: Server;
  /** What the fake coordinator does with a watch: stream the job to its end, or say it does not run it. */
  let coordinatorHas: 'running' | 'gone' = 'running';
  /** The job record: absent for the first `recordAfter` lookups. */
  let lookups = 0;
  let recordAfter = 1;

  before(async () => {
    coordinator = new Server();
    coordinator.addService(CoordinatorServiceService, {
      watchJob(call: ServerWritableStream<CoordinatorServiceWatchJobRequest, CoordinatorServiceWatchJobResponse>) {
        const jobId = call.request.request?.jobId ?? '';
        if (coordinatorHas === 'gone') {
          call.emit('error', { code: status.NOT_FOUND, details: `job ${jobId} not found` });
          return;
        }
        call.write({ response: { msg: { $case: 'summary', summary: { job: ended(jobId) } } } });
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      coordinator.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const list = [{ id: 'c1', address: `127.0.0.1:${port}`, load: 0 }];
    const store = {
      async get(req: { name: string }): Promise<GetResponse> {
        lookups++;
        if (lookups <= recordAfter) throw storeNotFound(req.name);
        return {
          resource: {
            kind: ResourceKind.RESOURCE_KIND_JOB,
            name: req.name,
            spec: { $case: 'job', job: ended(req.name) },
          },
        } as GetResponse;
      },
    } as unknown as Store;
    const implementation = createJobService({
      store,
      guard: allowAll,
      directory: createCoordinatorDirectory({ source: { list: () => list } }),
      picker: createCoordinatorPicker(),
      limiter: createJobLimiter({ perKey: 2, total: 10 }),
    });
    ({ host, client } = await startJobServiceHost(implementation));
  });

  after(async () => {
    client.close();
    await host.stop();
    coordinator.forceShutdown();
  });

  beforeEach(() => {
    lookups = 0;
  });

  async function summaryOf(jobId: string): Promise<JobState | undefined> {
    let state: JobState | undefined;
    for await (const ev of client.watchJob(jobId)) if (ev.$case === 'summary') state = ev.summary.job?.state;
    return state;
  }

  it('asks the coordinators when config-store has no record yet', async () => {
    coordinatorHas = 'running';
    recordAfter = Infinity;
    assert.equal(await summaryOf('j-running'), JobState.JOB_STATE_SUCCEEDED);
  });

  it('answers from the record when the job ended between the lookup and the coordinators', async () => {
    coordinatorHas = 'gone';
    recordAfter = 1; // absent at the first lookup, written by the time the coordinators said "not mine"
    assert.equal(await summaryOf('j-ended'), JobState.JOB_STATE_SUCCEEDED);
    assert.equal(lookups, 2);
  });

  it('is NOT_FOUND for a job nobody knows', async () => {
    coordinatorHas = 'gone';
    recordAfter = Infinity;
    await assert.rejects(summaryOf('j-unknown'), (err: { code?: number }) => err.code === status.NOT_FOUND);
  });
});
