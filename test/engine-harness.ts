// Helpers of the engine tests: seeding config-store, running a job through the coordinator and
// collecting everything it streams, executor status.
import {
  ConfigStoreClient,
  type CoordinatorServiceClient,
  ExecutorServiceClient,
  JobSpec,
  ResourceKind,
} from '@flowmesh/contracts';
import type {
  DistributeOverrides,
  GetExecutorStatusResponse,
  InputChunk,
  Job,
  JobAccepted,
  JobProgress,
  Reject,
  Resource,
} from '@flowmesh/contracts';
import type { ReferenceTableData } from '@flowmesh/flow';
import { callOptions, createClient } from '@flowmesh/runtime';
import { Metadata, type ServiceError } from '@grpc/grpc-js';

type Unary<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: object,
  cb: (err: ServiceError | null, res: Res) => void,
) => unknown;

function call<Req, Res>(fn: Unary<Req, Res>, self: object, req: Req, timeoutMs = 10_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn.call(self, req, new Metadata(), callOptions({ timeoutMs }), (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export async function withConfigStore<T>(
  address: string,
  token: string,
  fn: (c: ConfigStoreClient) => Promise<T>,
): Promise<T> {
  const c = createClient(ConfigStoreClient, address, { clusterToken: token });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

function put(
  c: ConfigStoreClient,
  resource: Omit<Resource, 'revision' | 'createRevision' | 'version' | 'updatedAt' | 'updatedBy'>,
) {
  const full: Resource = {
    revision: 0,
    createRevision: 0,
    version: 0,
    updatedAt: undefined,
    updatedBy: 'test',
    ...resource,
  };
  return call(c.put as unknown as Unary<unknown, unknown>, c, {
    resource: full,
    expectedRevision: undefined,
    actor: 'test',
  });
}

export const putFileRoot = (c: ConfigStoreClient, name: string, path: string, writable: boolean) =>
  put(c, {
    kind: ResourceKind.RESOURCE_KIND_FILE_ROOT,
    name,
    spec: { $case: 'fileRoot', fileRoot: { path, writable, description: '' } },
  });

export const putTable = (c: ConfigStoreClient, name: string, t: ReferenceTableData) =>
  put(c, {
    kind: ResourceKind.RESOURCE_KIND_REFERENCE_TABLE,
    name,
    spec: {
      $case: 'referenceTable',
      referenceTable: { keyColumn: t.keyColumn, columns: t.columns ?? [], rows: t.rows, description: '' },
    },
  });

export const putFlow = (c: ConfigStoreClient, name: string, source: string) =>
  put(c, {
    kind: ResourceKind.RESOURCE_KIND_FLOW,
    name,
    spec: { $case: 'flow', flow: { source, description: '', flowRevision: 0 } },
  });

export function coordinatorCall<Res>(
  client: CoordinatorServiceClient,
  method: 'getLoad' | 'cancelJob' | 'submitJob',
  req: object,
): Promise<Res> {
  return call(client[method] as unknown as Unary<object, Res>, client, req);
}

const statusClients = new Map<string, ExecutorServiceClient>();
export function getExecutorStatus(address: string, token: string): Promise<GetExecutorStatusResponse> {
  let c = statusClients.get(address);
  if (!c) {
    c = createClient(ExecutorServiceClient, address, { clusterToken: token });
    statusClients.set(address, c);
  }
  return call(c.getExecutorStatus as unknown as Unary<object, GetExecutorStatusResponse>, c, {});
}

export function closeStatusClients(): void {
  for (const c of statusClients.values()) c.close();
  statusClients.clear();
}

export interface JobSpecInput {
  flow: string;
  jobId?: string;
  flowRevision?: number;
  vars?: Record<string, string>;
  includeRejects?: boolean;
  encoding?: number;
  progressIntervalMs?: number;
  distribute?: Partial<DistributeOverrides>;
  planSlots?: number;
}

export interface JobRun {
  accepted?: JobAccepted;
  /** Concatenated JSONL record chunks in the order received. */
  output: Buffer;
  rejects: Reject[];
  progress: JobProgress[];
  summary?: Job;
  error?: ServiceError;
}

/** Runs a job over RunJob (optionally streaming `input` chunks) and collects what comes back. */
export async function runJob(
  client: CoordinatorServiceClient,
  spec: JobSpecInput,
  opts: { input?: InputChunk[]; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<JobRun> {
  const input = opts.input;
  const stream = client.runJob(
    callOptions({ timeoutMs: opts.timeoutMs ?? 90_000, ...(opts.signal ? { signal: opts.signal } : {}) }),
  );
  const result: JobRun = { output: Buffer.alloc(0), rejects: [], progress: [] };
  const parts: Buffer[] = [];
  stream.write({ request: { msg: { $case: 'start', start: JobSpec.fromPartial(spec as never) } } });
  if (input) {
    for (const chunk of input) stream.write({ request: { msg: { $case: 'input', input: chunk } } });
    stream.write({ request: { msg: { $case: 'endInput', endInput: {} } } });
  }
  stream.end();
  try {
    for await (const res of stream as AsyncIterable<{ response?: { msg?: { $case: string; [k: string]: unknown } } }>) {
      const m = res.response?.msg;
      if (!m) continue;
      if (m.$case === 'accepted') result.accepted = m.accepted as JobAccepted;
      else if (m.$case === 'records') parts.push((m.records as { data: Buffer }).data);
      else if (m.$case === 'rejects') result.rejects.push(...(m.rejects as { rejects: Reject[] }).rejects);
      else if (m.$case === 'progress') result.progress.push(m.progress as JobProgress);
      else if (m.$case === 'summary') result.summary = (m.summary as { job: Job }).job;
    }
  } catch (err) {
    result.error = err as ServiceError;
  }
  result.output = Buffer.concat(parts);
  return result;
}

/** SubmitJob: the job runs detached on the coordinator. */
export function submitJob(client: CoordinatorServiceClient, spec: JobSpecInput): Promise<{ accepted: JobAccepted }> {
  return coordinatorCall(client, 'submitJob', { spec: JobSpec.fromPartial(spec as never) });
}

/** WatchJob until the stream ends; returns what it carried. */
export async function watchJob(
  client: CoordinatorServiceClient,
  jobId: string,
): Promise<{ progress: JobProgress[]; summary?: Job }> {
  const stream = client.watchJob(
    { request: { jobId, resumeResults: false, afterBatch: 0, coalesceBatches: false } },
    callOptions({ timeoutMs: 60_000 }),
  );
  const out: { progress: JobProgress[]; summary?: Job } = { progress: [] };
  for await (const res of stream as AsyncIterable<{ response?: { msg?: { $case: string; [k: string]: unknown } } }>) {
    const m = res.response?.msg;
    if (m?.$case === 'progress') out.progress.push(m.progress as JobProgress);
    else if (m?.$case === 'summary') out.summary = (m.summary as { job: Job }).job;
  }
  return out;
}
