// `createClient(address, { apiKey, timeoutMs })`: typed methods over the gateway's public services.
// Every unary call has a deadline; reads are retried on UNAVAILABLE (they are safe to repeat); writes
// are sent once. Jobs stream through `runJob` / `watchJob` as async iterables.
import { Metadata } from '@grpc/grpc-js';
import type {
  CancelJobResponse,
  ClusterServiceCreateApiKeyResponse,
  Flow,
  Job,
  JobAccepted,
  ListJobsRequest,
  ListJobsResponse,
  ListResourcesRequest,
  ListResourcesResponse,
  Node,
  NodeKind,
  Resource,
  ResourceKind,
  Role,
  WatchJobResponse,
  WhoAmIResponse,
} from '@flowmesh/contracts';
import { callOptions } from '@flowmesh/runtime';
import { createServiceClients } from './service-clients.js';
import { toJobSpec, type JobSpecInput } from './job-spec.js';
import { runJob, type RunJobEvent, type RunJobOptions } from './run-job.js';
import { unary, type CallOpts, type UnaryFn } from './unary.js';
import { resolveSpoolDir } from './local-parts.js';
import { createChunkAreas } from './reused-chunk-memory.js';

export interface FlowmeshClientOptions {
  /** API key, sent as `authorization: Bearer <key>`. */
  apiKey?: string;
  /** Deadline of each unary call. @default 10000 */
  timeoutMs?: number;
  /**
   * The result spool this client looks in to prove it shares the gateway's (issue 7, local hand-off): when
   * the ids match, RunJob results are read from the spooled parts instead of crossing gRPC (same records,
   * same order). "off" always takes the bytes through gRPC.
   * @default FLOWMESH_SPOOL_DIR, else the services' default ($TMPDIR/flowmesh-spool)
   */
  spoolDir?: string;
}

export interface FlowmeshClient {
  readonly address: string;
  runJob(spec: JobSpecInput, opts?: RunJobOptions): AsyncGenerator<RunJobEvent>;
  submitJob(spec: JobSpecInput, opts?: CallOpts): Promise<JobAccepted>;
  watchJob(
    jobId: string,
    opts?: { signal?: AbortSignal; resumeResults?: boolean; afterBatch?: number },
  ): AsyncGenerator<NonNullable<WatchJobResponse['msg']>>;
  getJob(jobId: string, opts?: CallOpts): Promise<Job>;
  listJobs(req?: Partial<ListJobsRequest>, opts?: CallOpts): Promise<ListJobsResponse>;
  cancelJob(jobId: string, reason?: string, opts?: CallOpts): Promise<Job | undefined>;
  putFlow(
    name: string,
    source: string,
    opts?: CallOpts & { description?: string; expectedRevision?: number },
  ): Promise<Flow>;
  getFlow(name: string, opts?: CallOpts & { flowRevision?: number }): Promise<Flow>;
  listFlows(
    opts?: CallOpts & { prefix?: string; pageSize?: number; pageToken?: string },
  ): Promise<{ flows: Flow[]; nextPageToken: string }>;
  listFlowVersions(name: string, opts?: CallOpts): Promise<Flow[]>;
  deleteFlow(name: string, opts?: CallOpts & { expectedRevision?: number }): Promise<boolean>;
  listNodes(kind?: NodeKind, opts?: CallOpts): Promise<Node[]>;
  getResource(kind: ResourceKind, name: string, opts?: CallOpts): Promise<Resource>;
  listResources(
    req: Partial<ListResourcesRequest> & { kind: ResourceKind },
    opts?: CallOpts,
  ): Promise<ListResourcesResponse>;
  putResource(resource: Resource, opts?: CallOpts & { expectedRevision?: number }): Promise<Resource>;
  deleteResource(kind: ResourceKind, name: string, opts?: CallOpts & { expectedRevision?: number }): Promise<boolean>;
  createApiKey(
    user: string,
    role: Role,
    description?: string,
    opts?: CallOpts,
  ): Promise<ClusterServiceCreateApiKeyResponse>;
  whoAmI(opts?: CallOpts): Promise<WhoAmIResponse>;
  close(): void;
}

export function createClient(address: string, options: FlowmeshClientOptions = {}): FlowmeshClient {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const { jobs, flows, cluster, close } = createServiceClients(address, options.apiKey);
  const spoolDir = resolveSpoolDir(options.spoolDir);
  // The memory of calls that borrow buffers, kept for the next one (reused-chunk-memory.ts).
  const areas = createChunkAreas();
  const read = <Req, Res>(fn: UnaryFn<Req, Res>, req: Req, o?: CallOpts) =>
    unary(fn, req, { timeoutMs: o?.timeoutMs ?? timeoutMs, signal: o?.signal, idempotent: true });
  const change = <Req, Res>(fn: UnaryFn<Req, Res>, req: Req, o?: CallOpts) =>
    unary(fn, req, { timeoutMs: o?.timeoutMs ?? timeoutMs, signal: o?.signal, idempotent: false });

  return {
    address,
    runJob: (spec, opts) => runJob(jobs, spec, opts, spoolDir, areas),
    async submitJob(spec, o) {
      const res = await change(jobs.submitJob.bind(jobs), { spec: toJobSpec(spec) }, o);
      if (!res.accepted) throw new Error('the gateway answered SubmitJob without an accepted job');
      return res.accepted;
    },
    async *watchJob(jobId, o = {}) {
      const call = jobs.watchJob(
        // No coalesced messages: WatchJob's events are passed on as they come.
        { jobId, resumeResults: o.resumeResults ?? false, afterBatch: o.afterBatch ?? -1, coalesceBatches: false },
        new Metadata(),
        { signal: o.signal } as object,
      );
      for await (const res of call as AsyncIterable<WatchJobResponse>) if (res.msg) yield res.msg;
    },
    async getJob(jobId, o) {
      const res = await read(jobs.getJob.bind(jobs), { jobId }, o);
      if (!res.job) throw new Error(`the gateway answered GetJob ${jobId} without a job`);
      return res.job;
    },
    listJobs: (req = {}, o) =>
      read(
        jobs.listJobs.bind(jobs),
        { pageSize: req.pageSize ?? 0, pageToken: req.pageToken ?? '', state: req.state ?? 0, flow: req.flow ?? '' },
        o,
      ),
    async cancelJob(jobId, reason = '', o) {
      const res: CancelJobResponse = await change(jobs.cancelJob.bind(jobs), { jobId, reason }, o);
      return res.job;
    },
    async putFlow(name, source, o = {}) {
      const res = await change(
        flows.putFlow.bind(flows),
        { name, source, description: o.description ?? '', expectedRevision: o.expectedRevision },
        o,
      );
      return res.flow!;
    },
    async getFlow(name, o = {}) {
      const res = await read(flows.getFlow.bind(flows), { name, flowRevision: o.flowRevision ?? 0 }, o);
      return res.flow!;
    },
    listFlows: (o = {}) =>
      read(
        flows.listFlows.bind(flows),
        { prefix: o.prefix ?? '', pageSize: o.pageSize ?? 0, pageToken: o.pageToken ?? '' },
        o,
      ),
    async listFlowVersions(name, o) {
      return (await read(flows.listFlowVersions.bind(flows), { name }, o)).versions;
    },
    async deleteFlow(name, o = {}) {
      return (await change(flows.deleteFlow.bind(flows), { name, expectedRevision: o.expectedRevision }, o)).deleted;
    },
    async listNodes(kind = 0, o) {
      return (await read(cluster.listNodes.bind(cluster), { kind }, o)).nodes;
    },
    async getResource(kind, name, o) {
      return (await read(cluster.getResource.bind(cluster), { kind, name }, o)).resource!;
    },
    listResources: (req, o) =>
      read(
        cluster.listResources.bind(cluster),
        { kind: req.kind, prefix: req.prefix ?? '', pageSize: req.pageSize ?? 0, pageToken: req.pageToken ?? '' },
        o,
      ),
    async putResource(resource, o = {}) {
      return (await change(cluster.putResource.bind(cluster), { resource, expectedRevision: o.expectedRevision }, o))
        .resource!;
    },
    async deleteResource(kind, name, o = {}) {
      return (
        await change(cluster.deleteResource.bind(cluster), { kind, name, expectedRevision: o.expectedRevision }, o)
      ).deleted;
    },
    createApiKey: (user, role, description = '', o) =>
      change(cluster.createApiKey.bind(cluster), { user, role, description }, o),
    whoAmI: (o) => read(cluster.whoAmI.bind(cluster), {}, o),
    close() {
      areas.clear();
      close();
    },
  };
}

// Re-exported for callers that build their own call options.
export { callOptions };
